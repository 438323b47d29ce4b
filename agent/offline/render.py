"""Writes a plan's kernel into a candidate file (Python source defining
``ModelNew``).

The file keeps the task's ``__init__`` verbatim (so parameters and buffers
have the reference's names and shapes and the harness can copy its
state_dict), declares the kernel's tunables, compiles the CUDA through
``cudarwin.runtime.load_cuda`` and launches it from ``forward``.
"""

from __future__ import annotations

import ast
import inspect
import re
import textwrap

from cudarwin.agent.offline import layout
from cudarwin.agent.offline.builder import Unsupported
from cudarwin.agent.offline.codegen import Kernel
from cudarwin.agent.offline.ir import Layout, Plan
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


def _configure_source(plan: Plan, kernel: Kernel) -> str:
    """``_configure``: the launch configuration for one set of operand shapes
    and strides (sizes, collapsed strides, grid), memoized in ``_CONFIG``."""
    prog = plan.program
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
        "_cfg = _CONFIG[(_dev, *_ss)] = (_F, _oshapes, _grid, _block, _ints)",
        "return _cfg",
    ]
    body = textwrap.indent("\n".join(lines), "    ")
    return f'''_CONFIG = {{}}


def _configure(_dev, *_ss):
    """Launch configuration for operands of these shapes and strides (kept per layout)."""
{body}
'''


def render(plan: Plan, kernel: Kernel, task_source: str, title: str) -> str:
    """The candidate file for ``plan`` using ``kernel``; raises Unsupported when
    the task's own module-level names clash with the candidate's."""
    clash = _clashes(task_source, {t.name for t in kernel.tunables} | {"ModelNew", "load_cuda"})
    if clash:
        raise Unsupported(f"the task defines {', '.join(sorted(clash))}, a name the generated candidate needs")
    prog = plan.program
    tun = "".join(declaration(t.name, t.default, t.choices) for t in kernel.tunables)
    options = ", ".join(f'f"-D{macro}={{{expr}}}"' for macro, expr in kernel.defines)
    configure = _configure_source(plan, kernel)
    body: list[str] = []
    body += [f"{c.result} = {c.expr}" for c in plan.library]
    body += [f"_t{k} = {op.expr}" for k, op in enumerate(prog.operands)]
    # launch configuration depends only on shapes and strides: computed once per layout
    key = ", ".join(["_t0.device"] + [f"_t{k}.shape, _t{k}.stride()" for k in range(len(prog.operands))])
    body += [f"_key = ({key})", "_cfg = _CONFIG.get(_key)", "if _cfg is None:", "    _cfg = _configure(*_key)",
             "_F, _oshapes, _grid, _block, _ints = _cfg"]
    body += [f"_s{k} = {expr}" for k, expr in enumerate(prog.scalars)]
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
    body += list(kernel.per_call)
    args = ([f"_t{k}" for k in range(len(prog.operands))] + [f"_out{m}" for m in range(len(prog.outputs))]
            + list(kernel.per_call_args) + ["_ints"] + [f"_s{k}" for k in range(len(prog.scalars))])
    body += ["if _grid:", f"    _mod.{kernel.name}(grid=(_grid,), block=(_block,), args=({', '.join(args)},))"]
    if plan.post:
        body += [f"{c.result} = {c.expr}" for c in plan.post]
        body.append(f"return {plan.post[-1].result}")
    elif not prog.container:
        body.append(f"return {results[0]}")
    else:
        items = ", ".join(results)
        body.append(f"return ({items},)" if prog.container == "tuple" else f"return [{items}]")
    forward = textwrap.indent("\n".join(body), " " * 8)
    return f'''"""{title}

Generated by cudarwin's offline proposer ({kernel.kind} kernel). Tunables are
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
{tun}{"".join(line + chr(10) for line in kernel.setup)}
_SOURCE = r"""
{kernel.source}"""

_mod = load_cuda(_SOURCE, options=({options},))

{layout_helpers()}
{_SM_HELPER}

{configure}

class ModelNew(nn.Module):
{init_source(task_source)}
    def forward({forward_signature(task_source)}):
{forward}
'''
