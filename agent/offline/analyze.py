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
from cudarwin.agent.offline.tracing import symbolic_trace
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
        gm = symbolic_trace(model)
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


def _layouts(plan: Plan, tensors: list[torch.Tensor]) -> tuple[tuple[Layout, ...], bool]:
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
    split = False
    if reduce_dims:
        got = lay._group_layout(full, reduce_dims[0], reduce_dims[-1], strides)
        ok = got is not None
        split = ok and got[2] > 1  # type: ignore[index]
    else:
        ok = lay._collapse(full, strides, 4) is not None
    if not ok:
        raise Unsupported("a broadcast/stride pattern too irregular to index (more than 4 distinct dims)")
    return tuple(out), split


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
        plan = Converter(traced.gm, traced.metas, policy, _forward_args(traced.gm), relative, traced.model).run()
        layouts, split = _layouts(plan, _leaf_tensors(plan, traced))
        plan = dataclasses.replace(plan, program=dataclasses.replace(plan.program, reduced_split=split))
        plans.append(_with_layouts(plan, layouts))
    merged = plans[0]
    for other in plans[1:]:
        merged = _unify(merged, other)
    return merged


def _unify(a: Plan, b: Plan) -> Plan:
    """One plan serving the shapes of ``a`` and ``b``: layouts that differ become
    STRIDED, an output dim that is size 1 at one shape only spans F's dim."""
    layouts = tuple(_merge(x.layout, y.layout) for x, y in zip(a.program.operands, b.program.operands))
    a, b = _with_layouts(a, layouts), _with_layouts(b, layouts) if len(a.program.operands) == len(b.program.operands) else b
    if len(a.program.outputs) != len(b.program.outputs):
        raise _ShapesDisagree("the traced computation differs between the task's shapes")
    outputs = []
    for x, y in zip(a.program.outputs, b.program.outputs):
        if len(x.dims) != len(y.dims):
            raise _ShapesDisagree("the traced computation differs between the task's shapes")
        dims = tuple(p if p == q or q == -1 else q if p == -1 else -2 for p, q in zip(x.dims, y.dims))
        if -2 in dims:
            raise _ShapesDisagree("the traced computation differs between the task's shapes")
        outputs.append(dataclasses.replace(x, dims=dims))
    split = a.program.reduced_split or b.program.reduced_split
    a = dataclasses.replace(a, program=dataclasses.replace(a.program, outputs=tuple(outputs), reduced_split=split))
    b = dataclasses.replace(b, program=dataclasses.replace(b.program, outputs=tuple(outputs), reduced_split=split))
    if a != b:
        raise _ShapesDisagree("the traced computation differs between the task's shapes")
    return a


def _strip(plan: Plan) -> Plan:
    return _with_layouts(plan, tuple(Layout.STRIDED for _ in plan.program.operands))
