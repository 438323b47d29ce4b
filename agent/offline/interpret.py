"""A reference interpreter for plans: evaluates a :class:`Plan` with torch
ops on ordinary (CPU) tensors.

It follows the kernel's semantics -- every value lives in the iteration shape
F, reductions cover ``Program.reduce_dims`` -- rather than the reference's
code, so comparing it with the reference checks the graph analysis without a
GPU.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import torch

from cudarwin.agent.offline import layout as lay
from cudarwin.agent.offline.ir import Apply, Const, Index, Load, Plan, Program, Reduce, ReduceCount, ReduceKind, Scalar

Tensor = torch.Tensor

TORCH_OPS: dict[str, Callable[..., Tensor]] = {
    "neg": torch.neg,
    "exp": torch.exp,
    "log": torch.log,
    "log2": torch.log2,
    "sqrt": torch.sqrt,
    "rsqrt": torch.rsqrt,
    "abs": torch.abs,
    "relu": torch.relu,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "erf": torch.erf,
    "sin": torch.sin,
    "cos": torch.cos,
    "log1p": torch.log1p,
    "expm1": torch.expm1,
    "floor": torch.floor,
    "ceil": torch.ceil,
    "round": torch.round,
    "trunc": torch.trunc,
    "recip": torch.reciprocal,
    "inf_to_zero": lambda a: torch.where(torch.isinf(a), torch.zeros_like(a), a),
    "add": torch.add,
    "sub": torch.sub,
    "mul": torch.mul,
    "div": torch.div,
    "pow": torch.pow,
    "max": torch.maximum,
    "min": torch.minimum,
    "gt": lambda a, b: (a > b).to(a.dtype),
    "ge": lambda a, b: (a >= b).to(a.dtype),
    "lt": lambda a, b: (a < b).to(a.dtype),
    "le": lambda a, b: (a <= b).to(a.dtype),
    "eq": lambda a, b: (a == b).to(a.dtype),
    "ne": lambda a, b: (a != b).to(a.dtype),
    "fmod": torch.fmod,
    "where": lambda c, a, b: torch.where(c != 0, a, b),
}

_REDUCE: dict[ReduceKind, Callable[[Tensor, tuple[int, ...]], Tensor]] = {
    ReduceKind.SUM: lambda t, d: t.sum(dim=d, keepdim=True),
    ReduceKind.MAX: lambda t, d: t.amax(dim=d, keepdim=True),
    ReduceKind.MIN: lambda t, d: t.amin(dim=d, keepdim=True),
    ReduceKind.PROD: lambda t, d: _prod(t, d),
}


def _prod(t: Tensor, dims: tuple[int, ...]) -> Tensor:
    for d in dims:
        t = t.prod(dim=d, keepdim=True)
    return t


def run_plan(plan: Plan, model: torch.nn.Module, arg_names: Sequence[str], inputs: Sequence[Any]) -> Any:
    """Evaluate ``plan`` as the candidate would, for ``model``'s parameters and
    the forward arguments ``inputs`` (named ``arg_names``)."""
    ns: dict[str, Any] = {"self": model, "torch": torch, "math": math, **dict(zip(arg_names, inputs))}
    with torch.no_grad():
        for call in plan.library:
            ns[call.result] = eval(call.expr, ns)  # noqa: S307 - the plan's own expressions
        for s, stage in enumerate(plan.stages):
            ns.update({f"_mid{s}_{m}": r for m, r in enumerate(run_program(stage, ns))})
        prog = plan.program
        results = run_program(prog, ns)
        if plan.post:
            ns.update({f"_out{m}": r for m, r in enumerate(results)})
            for call in plan.post:
                ns[call.result] = eval(call.expr, ns)  # noqa: S307
            return ns[plan.post[-1].result]
        if not prog.container:
            return results[0]
        return tuple(results) if prog.container == "tuple" else list(results)


def run_program(prog: Program, ns: dict[str, Any]) -> list[Tensor]:
    """The returned tensors of one program (a ``torch.cat`` joined), its operand
    expressions evaluated in ``ns``."""
    tensors = [eval(op.expr, ns) for op in prog.operands]  # noqa: S307
    full = lay._bshape(*(tuple(t.shape) for t in tensors))
    ns["_F"] = full
    dtype = torch.float32
    scalars = [float(eval(s, ns)) for s in prog.scalars]  # noqa: S307
    count = float(math.prod(full[d] for d in prog.reduce_dims))
    vals: list[Tensor] = []
    for v in prog.values:
        vals.append(_value(v, vals, tensors, scalars, count, full, prog.reduce_dims, dtype))
    results: list[Any] = []
    groups: dict[int, list[Tensor]] = {}
    for o in prog.outputs:
        out = vals[o.value].expand(_iter_shape(full, prog.reduce_dims, prog.reduced(o)))
        out = out.reshape(tuple(full[d] if d >= 0 else 1 for d in o.dims))
        if o.view:
            out = eval(o.view, {**ns, "_out": out.contiguous()})  # noqa: S307
        if o.concat is None:
            results.append(out)
            continue
        group, _, _, dim = o.concat
        if group not in groups:
            groups[group] = []
            results.append((group, dim))
        groups[group].append(out)
    return [torch.cat(groups[r[0]], dim=r[1]) if isinstance(r, tuple) else r for r in results]


def _iter_shape(full: tuple[int, ...], reduce_dims: tuple[int, ...], reduced: bool) -> tuple[int, ...]:
    return tuple(1 if reduced and d in reduce_dims else n for d, n in enumerate(full))


def _value(v: Any, vals: list[Tensor], tensors: list[Tensor], scalars: list[float], count: float,
           full: tuple[int, ...], reduce_dims: tuple[int, ...], dtype: torch.dtype) -> Tensor:
    if isinstance(v, Load):
        t = tensors[v.operand].to(dtype)
        return t.reshape((1,) * (len(full) - t.dim()) + tuple(t.shape))
    if isinstance(v, Scalar):
        return torch.tensor(scalars[v.index], dtype=dtype)
    if isinstance(v, Const):
        return torch.tensor(v.value, dtype=dtype)
    if isinstance(v, ReduceCount):
        return torch.tensor(count, dtype=dtype)
    if isinstance(v, Index):
        d = len(full) + v.dim
        return torch.arange(full[d], dtype=dtype).reshape(tuple(full[d] if k == d else 1 for k in range(len(full))))
    if isinstance(v, Apply):
        return TORCH_OPS[v.op](*(vals[a] for a in v.args))
    if isinstance(v, Reduce):
        return _REDUCE[v.kind](vals[v.arg].expand(full), reduce_dims)
    raise TypeError(f"unknown IR value {v!r}")
