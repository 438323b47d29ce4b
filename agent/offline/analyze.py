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
from cudarwin.agent.offline.interpret import run_program
from cudarwin.agent.offline.ir import Layout, Operand, Plan, Program


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


def _namespace(plan: Plan, traced: Traced) -> dict[str, Any]:
    """Names a candidate's forward sees, on the meta model and inputs."""
    ns: dict[str, Any] = {"self": traced.model, "torch": torch, "math": math}
    ns.update(zip(_forward_args(traced.gm), traced.inputs))
    for call in plan.library:
        with torch.device("meta"):
            ns[call.result] = eval(call.expr, ns)  # noqa: S307 - our own generated expressions
    return ns


def iteration_shapes(plan: Plan, traced: Traced) -> list[tuple[int, ...]]:
    """F of every program of ``plan`` (earlier kernels first) at the traced shape."""
    ns = _namespace(plan, traced)
    fulls = []
    for s, prog in enumerate((*plan.stages, plan.program)):
        tensors = [eval(op.expr, ns) for op in prog.operands]  # noqa: S307
        fulls.append(lay._bshape(*(tuple(t.shape) for t in tensors)))
        if s < len(plan.stages):
            ns.update({f"_mid{s}_{m}": r for m, r in enumerate(run_program(prog, ns))})
    return fulls


def _resolve(plan: Plan, traced: Traced) -> Plan:
    """``plan`` with every program's operand layouts decided at the traced shape."""
    ns = _namespace(plan, traced)
    stages = []
    for s, stage in enumerate(plan.stages):
        stage = _program_layouts(stage, [eval(op.expr, ns) for op in stage.operands])  # noqa: S307
        stages.append(stage)
        ns.update({f"_mid{s}_{m}": r for m, r in enumerate(run_program(stage, ns))})
    program = _program_layouts(plan.program, [eval(op.expr, ns) for op in plan.program.operands])  # noqa: S307
    return dataclasses.replace(plan, program=program, stages=tuple(stages))


def _program_layouts(prog: Program, tensors: list[torch.Tensor]) -> Program:
    full = lay._bshape(*(tuple(t.shape) for t in tensors))
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
    return dataclasses.replace(_with_layouts(prog, tuple(out)), reduced_split=split)


def _with_layouts(prog: Program, layouts: tuple[Layout, ...]) -> Program:
    ops = tuple(Operand(op.expr, lt, op.dtype) for op, lt in zip(prog.operands, layouts))
    return dataclasses.replace(prog, operands=ops)


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
            raise Unsupported("the traced computation differs between the task's shapes") from None


class _ShapesDisagree(Unsupported):
    pass


def _analyze(traces: list[Traced], policy: str, relative: bool) -> Plan:
    plans: list[Plan] = []
    for traced in traces:
        plan = Converter(traced.gm, traced.metas, policy, _forward_args(traced.gm), relative, traced.model).run()
        plans.append(_resolve(plan, traced))
    merged = plans[0]
    for other in plans[1:]:
        merged = _unify(merged, other)
    return merged


def _unify(a: Plan, b: Plan) -> Plan:
    """One plan serving the shapes of ``a`` and ``b``."""
    if len(a.stages) != len(b.stages):
        raise _ShapesDisagree("the traced computation differs between the task's shapes")
    stages = tuple(_unify_program(x, y) for x, y in zip(a.stages, b.stages))
    program = _unify_program(a.program, b.program)
    a = dataclasses.replace(a, program=program, stages=stages)
    if a != dataclasses.replace(b, program=program, stages=stages):
        raise _ShapesDisagree("the traced computation differs between the task's shapes")
    return a


def _unify_program(a: Program, b: Program) -> Program:
    """Layouts that differ become STRIDED; an output dim that is size 1 at one
    shape only spans F's dim; the reduced dims split if either needs it."""
    if len(a.operands) != len(b.operands) or len(a.outputs) != len(b.outputs):
        raise _ShapesDisagree("the traced computation differs between the task's shapes")
    layouts = tuple(_merge(x.layout, y.layout) for x, y in zip(a.operands, b.operands))
    outputs = []
    for x, y in zip(a.outputs, b.outputs):
        if len(x.dims) != len(y.dims):
            raise _ShapesDisagree("the traced computation differs between the task's shapes")
        dims = tuple(p if p == q or q == -1 else q if p == -1 else -2 for p, q in zip(x.dims, y.dims))
        if -2 in dims:
            raise _ShapesDisagree("the traced computation differs between the task's shapes")
        outputs.append(dataclasses.replace(x, dims=dims))
    split = a.reduced_split or b.reduced_split
    a = dataclasses.replace(_with_layouts(a, layouts), outputs=tuple(outputs), reduced_split=split)
    b = dataclasses.replace(_with_layouts(b, layouts), outputs=tuple(outputs), reduced_split=split)
    if a != b:
        raise _ShapesDisagree("the traced computation differs between the task's shapes")
    return a


