"""Writes a plan's kernel into a candidate file (Python source defining
``ModelNew``).

The file keeps the task's ``__init__`` verbatim (so parameters and buffers
have the reference's names and shapes and the harness can copy its
state_dict), declares the kernel's tunables, compiles the CUDA through
``cudarwin.runtime.load_cuda`` and launches it from ``forward``.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import re
import textwrap
from dataclasses import dataclass

from cudarwin.agent.offline import layout
from cudarwin.agent.offline.builder import Unsupported
from cudarwin.agent.offline.codegen import Kernel
from cudarwin.agent.offline.ir import Layout, Plan, Program
from cudarwin.agent.offline.tunables import declaration

_SKIP_NAMES = {"Model", "get_inputs", "get_init_inputs", "SHAPES", "META"}
_SUPER = re.compile(r"super\(\s*Model\s*,\s*self\s*\)")

_SM_HELPER = '''
def _pack(ints):
    """Integer kernel arguments as the bytes of ``struct cd_params`` (one argument)."""
    data = np.array(ints, dtype=np.int64)
    return data.view(np.dtype((np.void, data.nbytes)))[0]


def _sm_count(device):
    """Multiprocessors of ``device`` (grid sizes scale with it)."""
    idx = device.index if device.index is not None else torch.cuda.current_device()
    return torch.cuda.get_device_properties(idx).multi_processor_count
'''


def layout_helpers() -> str:
    """The source of cudarwin.agent.offline.layout's functions, pasted into candidates."""
    text = inspect.getsource(layout)
    return text.split("# --- candidate helpers begin ---", 1)[1].strip() + "\n"


# modules a candidate may import (the verifier's static checks allow these)
_IMPORTABLE = {"torch", "math", "numpy", "typing", "functools", "itertools", "collections", "dataclasses",
               "enum", "operator", "string", "__future__"}


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _defines(node: ast.stmt) -> set[str]:
    if isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)):
        return {node.name}
    if isinstance(node, (ast.Assign, ast.AnnAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    return set()


def task_prelude(task_source: str) -> str:
    """Module-level code of the task that ``ModelNew`` needs: allowed imports,
    and the constants and helpers its ``__init__`` and ``forward`` signature
    use (transitively); never the reference, its inputs or META."""
    tree = ast.parse(task_source)
    lines = task_source.splitlines()
    model = next((n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Model"), None)
    needed: set[str] = set()
    if model is not None:
        for item in model.body:
            if isinstance(item, ast.FunctionDef) and item.name == "__init__":
                needed |= _names(item)
            elif isinstance(item, ast.FunctionDef) and item.name == "forward":
                needed |= _names(item.args)
    defs = [n for n in tree.body if _defines(n) and not _defines(n) & _SKIP_NAMES]
    chosen: set[int] = set()
    changed = True
    while changed:  # pull in definitions the chosen ones use
        changed = False
        for k, node in enumerate(defs):
            if k not in chosen and _defines(node) & needed:
                chosen.add(k)
                needed |= _names(node)
                changed = True
    keep: list[str] = []
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            module = node.module if isinstance(node, ast.ImportFrom) else node.names[0].name
            if isinstance(node, ast.ImportFrom) and node.level or (module or "").split(".")[0] not in _IMPORTABLE:
                continue
        elif not any(node is defs[k] for k in chosen):
            continue
        start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        keep.append("\n".join(lines[start - 1 : node.end_lineno]))
    return "\n".join(keep) + ("\n" if keep else "")


def init_source(task_source: str) -> str:
    """``Model.__init__`` of the task, re-indented for ``ModelNew``."""
    tree = ast.parse(task_source)
    lines = task_source.splitlines()
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == "Model":
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name == "__init__":
                    start = min([item.lineno] + [d.lineno for d in item.decorator_list])
                    text = textwrap.dedent("\n".join(lines[start - 1 : item.end_lineno]))
                    return textwrap.indent(_SUPER.sub("super(ModelNew, self)", text), "    ") + "\n"
    return "    def __init__(self, *args, **kwargs):\n        super().__init__()\n"


def forward_signature(task_source: str) -> str:
    """The parameter list of ``Model.forward`` as written in the task."""
    tree = ast.parse(task_source)
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == "Model":
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name == "forward":
                    return ast.unparse(item.args)
    return "self, *args"


def _clashes(task_source: str, names: set[str]) -> set[str]:
    tree = ast.parse(task_source)
    assigned = {t.id for node in tree.body if isinstance(node, (ast.Assign, ast.AnnAssign))
                for t in (node.targets if isinstance(node, ast.Assign) else [node.target]) if isinstance(t, ast.Name)}
    defined = {node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
    return (assigned | defined) & names


def _tuple(items: list[str]) -> str:
    return "(" + "".join(f"{x}, " for x in items) + ")"


def _configure_source(prog: Program, kernel: Kernel, suffix: str) -> str:
    """``_configure``: the launch configuration for one set of operand shapes
    and strides (sizes, collapsed strides, grid), memoized in ``_CONFIG``."""
    oshapes = [_tuple(["1" if d < 0 else f"_F[{d}]" for d in out.dims]) for out in prog.outputs]
    checks = []
    for k, op in enumerate(prog.operands):
        if op.layout is Layout.FULL:
            checks += [f"if not _is_dense(_shapes[{k}], _strides[{k}], _F):",
                       f"    raise RuntimeError('operand {k} must be contiguous with the broadcast shape')"]
        elif op.layout is Layout.SCALAR:
            checks += [f"if math.prod(_shapes[{k}]) != 1:",
                       f"    raise RuntimeError('operand {k} must hold a single element')"]
    lines = [
        "_shapes, _strides = _ss[0::2], _ss[1::2]",
        "_F = _bshape(*_shapes)",
        *checks,
        f"_oshapes = {_tuple(oshapes)}",
        *kernel.configure,
        f"_cfg = _CONFIG{suffix}[(_dev, *_ss)] = (_F, _oshapes, _grid, _block, _ints)",
        "return _cfg",
    ]
    body = textwrap.indent("\n".join(lines), "    ")
    return f'''_CONFIG{suffix} = {{}}


def _configure{suffix}(_dev, *_ss):
    """Launch configuration for operands of these shapes and strides (kept per layout)."""
{body}
'''


@dataclass(frozen=True)
class _Stage:
    """One kernel of the candidate: its program and its names in the file."""

    prog: Program
    kernel: Kernel
    suffix: str  # "" for the last kernel, "_s<k>" for earlier ones
    rename: dict[str, str]  # tunable and derived names of earlier kernels get a prefix

    def fix(self, text: str) -> str:
        for old, new in self.rename.items():
            text = re.sub(rf"\b{re.escape(old)}\b", new, text)
        return text


def _stage(prog: Program, kernel: Kernel, index: int, last: bool) -> _Stage:
    if last:
        return _Stage(prog, kernel, "", {})
    names = [t.name for t in kernel.tunables] + ["_RPB"]
    return _Stage(prog, kernel, f"_s{index}", {n: (f"S{index}{n}" if n.startswith("_") else f"S{index}_{n}")
                                               for n in names})


def _module_code(st: _Stage) -> str:
    """Module-level part of one kernel: tunables, CUDA source, compile, configure."""
    k = st.kernel
    tun = "".join(declaration(st.fix(t.name), t.default, t.choices) for t in k.tunables)
    setup = "".join(st.fix(line) + "\n" for line in k.setup)
    options = ", ".join(f'f"-D{macro}={{{st.fix(expr)}}}"' for macro, expr in k.defines)
    configure = st.fix(_configure_source(st.prog, dataclasses.replace(k, configure=tuple(k.configure)), st.suffix))
    return f'''{tun}{setup}
_SOURCE{st.suffix} = r"""
{k.source}"""

_mod{st.suffix} = load_cuda(_SOURCE{st.suffix}, options=({options},))


{configure}'''


def _launch_lines(st: _Stage) -> tuple[list[str], list[str]]:
    """forward lines that run one kernel, and the Python names of its results."""
    prog, k, sfx = st.prog, st.kernel, st.suffix
    body = [f"_t{j} = {op.expr}" for j, op in enumerate(prog.operands)]
    # launch configuration depends only on shapes and strides: computed once per layout
    key = ", ".join(["_t0.device"] + [f"_t{j}.shape, _t{j}.stride()" for j in range(len(prog.operands))])
    body += [f"_key = ({key})", f"_cfg = _CONFIG{sfx}.get(_key)", "if _cfg is None:",
             f"    _cfg = _configure{sfx}(*_key)", "_F, _oshapes, _grid, _block, _ints = _cfg"]
    body += [f"_s{j} = {expr}" for j, expr in enumerate(prog.scalars)]
    results: list[str] = []
    for m, out in enumerate(prog.outputs):
        if out.concat is None:
            body.append(f"_out{m} = torch.empty(_oshapes[{m}], device=_t0.device, dtype=torch.float32)")
            results.append(re.sub(r"\b_out\b", f"_out{m}", out.view) if out.view else f"_out{m}")
            continue
        group, part, parts, dim = out.concat
        if part == 0:  # the joined result, allocated once; each piece is a view into it
            joined = f"_oshapes[{m}][:{dim}] + (_oshapes[{m}][{dim}] * {parts},) + _oshapes[{m}][{dim + 1}:]"
            body.append(f"_res{group} = torch.empty({joined}, device=_t0.device, dtype=torch.float32)")
            results.append(f"_res{group}")
        body.append(f"_out{m} = _res{group}.narrow({dim}, {part} * _oshapes[{m}][{dim}], _oshapes[{m}][{dim}])")
    body += [st.fix(line) for line in k.per_call]
    args = ([f"_t{j}" for j in range(len(prog.operands))] + [f"_out{m}" for m in range(len(prog.outputs))]
            + list(k.per_call_args) + ["_ints"] + [f"_s{j}" for j in range(len(prog.scalars))])
    body += ["if _grid:", f"    _mod{sfx}.{k.name}(grid=(_grid,), block=(_block,), args=({', '.join(args)},))"]
    return body, results


def render(plan: Plan, kernels: list[Kernel], task_source: str, title: str) -> str:
    """The candidate file for ``plan``, one kernel per program (earlier stages
    first); raises Unsupported when the task's module-level names clash with
    the candidate's."""
    programs = [*plan.stages, plan.program]
    stages = [_stage(p, k, s, s == len(programs) - 1) for s, (p, k) in enumerate(zip(programs, kernels))]
    needed = {st.fix(t.name) for st in stages for t in st.kernel.tunables} | {"ModelNew", "load_cuda"}
    clash = _clashes(task_source, needed)
    if clash:
        raise Unsupported(f"the task defines {', '.join(sorted(clash))}, a name the generated candidate needs")
    body: list[str] = [f"{c.result} = {c.expr}" for c in plan.library]
    results: list[str] = []
    for s, st in enumerate(stages):
        lines, results = _launch_lines(st)
        body += lines
        if s < len(stages) - 1:
            body += [f"_mid{s}_{m} = {r}" for m, r in enumerate(results)]
    prog = plan.program
    if plan.post:
        body += [f"{c.result} = {c.expr}" for c in plan.post]
        body.append(f"return {plan.post[-1].result}")
    elif not prog.container:
        body.append(f"return {results[0]}")
    else:
        items = ", ".join(results)
        body.append(f"return ({items},)" if prog.container == "tuple" else f"return [{items}]")
    forward = textwrap.indent("\n".join(body), " " * 8)
    kinds = " + ".join(st.kernel.kind for st in stages)
    modules = "\n\n".join(_module_code(st) for st in stages)
    return f'''"""{title}

Generated by cudarwin's offline proposer ({kinds} kernel). Tunables are
declared as `# tunable: NAME = default in [choices]` followed by `NAME = value`.
Launch configurations (grid, collapsed sizes and strides) are computed once per
operand layout; outputs are always freshly allocated and computed.
"""

import math

import numpy as np
import torch
import torch.nn as nn

from cudarwin.runtime import load_cuda

{task_prelude(task_source)}
{layout_helpers()}
{_SM_HELPER}

{modules}

class ModelNew(nn.Module):
{init_source(task_source)}
    def forward({forward_signature(task_source)}):
{forward}
'''
