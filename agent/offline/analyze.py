"""From a task to a :class:`~cudarwin.agent.offline.ir.Plan`: trace the
reference with torch.fx, propagate meta tensors (no memory, no GPU) for every
task shape, convert, and decide each operand's layout.

The plan must come out the same for every shape of the task, because the
candidate is one file that has to serve them all.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Mapping

import torch
from torch import fx

from cudarwin.agent.offline import layout as lay
from cudarwin.agent.offline.builder import Unsupported
from cudarwin.agent.offline.convert import Converter
from cudarwin.agent.offline.ir import Layout, Operand, Plan


@dataclass(frozen=True)
class Traced:
    """One shape's trace: the graph, each node's meta value and the model."""

    gm: fx.GraphModule
    metas: dict[fx.Node, Any]
    inputs: tuple[Any, ...]
    model: torch.nn.Module


def trace(module: ModuleType, shape: Mapping[str, Any]) -> Traced:
    """Trace ``module.Model`` at ``shape`` on the meta device."""
    try:
        init = list(module.get_init_inputs(**shape)) if hasattr(module, "get_init_inputs") else []
        with torch.device("meta"):
            model = module.Model(*init)
            inputs = tuple(module.get_inputs(**shape))
    except Exception as err:  # noqa: BLE001 - any failure means we cannot analyze it
        raise Unsupported(f"cannot build the reference on the meta device: {type(err).__name__}: {err}") from None
    try:
        gm = fx.symbolic_trace(model)
    except Exception as err:  # noqa: BLE001
        raise Unsupported(f"torch.fx cannot trace the reference: {type(err).__name__}: {err}") from None
    metas: dict[fx.Node, Any] = {}

    class _Recorder(fx.Interpreter):
        def run_node(self, n: fx.Node) -> Any:
            out = super().run_node(n)
            metas[n] = out
            return out

    try:
        _Recorder(gm).run(*inputs)
    except Exception as err:  # noqa: BLE001
        raise Unsupported(f"shape propagation failed: {type(err).__name__}: {err}") from None
    return Traced(gm, metas, inputs, model)


def _forward_args(gm: fx.GraphModule) -> list[str]:
    return [str(n.target) for n in gm.graph.nodes if n.op == "placeholder"]


def _leaf_tensors(plan: Plan, traced: Traced) -> list[torch.Tensor]:
    """Evaluate each operand expression on the meta model and inputs."""
    ns: dict[str, Any] = {"self": traced.model, "torch": torch, "math": math}
    ns.update(zip(_forward_args(traced.gm), traced.inputs))
    for call in plan.library:
        with torch.device("meta"):
            ns[call.result] = eval(call.expr, ns)  # noqa: S307 - our own generated expressions
    return [eval(op.expr, ns) for op in plan.program.operands]  # noqa: S307


def _layouts(plan: Plan, tensors: list[torch.Tensor]) -> tuple[Layout, ...]:
    full = lay._bshape(*(tuple(t.shape) for t in tensors))
    prog = plan.program
    reduce_dims = prog.reduce_dims
    out: list[Layout] = []
    for t in tensors:
        shape = tuple(t.shape)
        padded = (1,) * (len(full) - len(shape)) + shape
        if t.numel() == 1:
            out.append(Layout.SCALAR)
        elif shape == full and t.is_contiguous():
            out.append(Layout.FULL)
        elif reduce_dims and all(padded[d] == 1 for d in reduce_dims):
            out.append(Layout.ROW)
        else:
            out.append(Layout.STRIDED)
    strides = [lay._bstrides(tuple(t.shape), tuple(t.stride()), full) for t in tensors]
    if reduce_dims:
        ok = lay._group_layout(full, reduce_dims[0], reduce_dims[-1], strides) is not None
    else:
        ok = lay._collapse(full, strides, 4) is not None
    if not ok:
        raise Unsupported("a broadcast/stride pattern too irregular to index (more than 4 distinct dims)")
    return tuple(out)


def _with_layouts(plan: Plan, layouts: tuple[Layout, ...]) -> Plan:
    ops = tuple(Operand(op.expr, lt, op.dtype) for op, lt in zip(plan.program.operands, layouts))
    return dataclasses.replace(plan, program=dataclasses.replace(plan.program, operands=ops))


def _merge(a: Layout, b: Layout) -> Layout:
    return a if a is b else Layout.STRIDED


def analyze(module: ModuleType, shapes: tuple[Mapping[str, Any], ...], policy: str = "strict") -> Plan:
    """The plan for a task module across all its shapes; raises Unsupported.

    Literal slice bounds are first kept literal, then (if that makes the
    shapes disagree) written relative to the sliced size."""
    traces = [trace(module, shape) for shape in shapes or ({},)]
    try:
        return _analyze(traces, policy, relative=False)
    except _ShapesDisagree:
        try:
            return _analyze(traces, policy, relative=True)
        except _ShapesDisagree:
            raise _ShapesDisagree("the traced computation differs between the task's shapes") from None


class _ShapesDisagree(Unsupported):
    pass


def _analyze(traces: list[Traced], policy: str, relative: bool) -> Plan:
    plans: list[Plan] = []
    for traced in traces:
        plan = Converter(traced.gm, traced.metas, policy, _forward_args(traced.gm), relative).run()
        plans.append(_with_layouts(plan, _layouts(plan, _leaf_tensors(plan, traced))))
    first = plans[0]
    layouts = [op.layout for op in first.program.operands]
    for other in plans[1:]:
        if _with_layouts(other, tuple(layouts)) != first and _strip(other) != _strip(first):
            raise _ShapesDisagree("the traced computation differs between the task's shapes")
        layouts = [_merge(a, op.layout) for a, op in zip(layouts, other.program.operands)]
    return _with_layouts(first, tuple(layouts))


def _strip(plan: Plan) -> Plan:
    return _with_layouts(plan, tuple(Layout.STRIDED for _ in plan.program.operands))
