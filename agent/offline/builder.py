"""Builds a :class:`~cudarwin.agent.offline.ir.Program` while tracking how
every value lines up with the iteration shape.

Each tensor value carries its torch shape and, per dimension, the dimension
of the iteration shape ``F`` it spans, counted from the right (``-1`` is F's
last dim) or ``None`` for a size-1 dimension. Torch broadcasting aligns
shapes from the right, so leaves start right-aligned; a reduction without
``keepdim`` drops dimensions but the survivors keep their F coordinates, which
is what lets ``x - x.mean(-1).unsqueeze(-1)`` be recognized as a row
operation. Anything whose alignment is ambiguous raises :class:`Unsupported`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from cudarwin.agent.offline.ir import (
    PRIMITIVES,
    Apply,
    Const,
    Index,
    Load,
    Operand,
    Output,
    Program,
    Reduce,
    ReduceCount,
    ReduceKind,
    Scalar,
    Value,
)


class Unsupported(Exception):
    """The reference uses something the offline proposer cannot generate."""


@dataclass(frozen=True)
class TVal:
    """A tensor value inside the program being built."""

    idx: int  # index into the program's values
    shape: tuple[int, ...]
    fdims: tuple[int | None, ...]  # F dim (negative) spanned by each dim; None for size 1
    stage: int = 0  # which kernel (program) of the plan computes it


class ReduceDimsMismatch(Unsupported):
    """A reduction over other dims than the program's: needs a new kernel."""


def _free(shape: tuple[int, ...], fdims: tuple[int | None, ...]) -> tuple[int | None, ...]:
    return tuple(None if s == 1 else f for s, f in zip(shape, fdims))


class ProgramBuilder:
    """Accumulates operands, scalars and SSA values; deduplicates equal values."""

    def __init__(self, stage: int = 0) -> None:
        self.stage = stage
        self.operand_exprs: list[str] = []
        self.operand_dtypes: dict[int, str] = {}
        self.operand_ranks: dict[int, int] = {}
        self.operand_shapes: dict[int, tuple[int, ...]] = {}
        self.scalars: list[str] = []
        self.values: list[Value] = []
        self._index: dict[Value, int] = {}
        self.reduce_fdims: tuple[int, ...] | None = None
        self.labels: list[str] = []

    # ------------------------------------------------------------------ leaves
    def _tv(self, idx: int, shape: tuple[int, ...], fdims: tuple[int | None, ...]) -> TVal:
        return TVal(idx, shape, fdims, self.stage)

    def _mine(self, *values: TVal) -> None:
        if any(v.stage != self.stage for v in values):
            raise Unsupported("internal: a value of an earlier kernel used without being materialized")

    def _add(self, value: Value) -> int:
        if value not in self._index:
            self._index[value] = len(self.values)
            self.values.append(value)
        return self._index[value]

    def leaf(self, expr: str, shape: tuple[int, ...], dtype: str = "float32") -> TVal:
        """A tensor read from Python expression ``expr`` (right-aligned to F),
        converted to float on load when ``dtype`` is not float32."""
        if expr not in self.operand_exprs:
            self.operand_exprs.append(expr)
            self.operand_dtypes[self.operand_exprs.index(expr)] = dtype
        rank = len(shape)
        self.operand_ranks[self.operand_exprs.index(expr)] = rank
        self.operand_shapes[self.operand_exprs.index(expr)] = tuple(shape)
        idx = self._add(Load(self.operand_exprs.index(expr)))
        return self._tv(idx, shape, _free(shape, tuple(range(-rank, 0))))

    def scalar(self, expr: str) -> TVal:
        if expr not in self.scalars:
            self.scalars.append(expr)
        return self._tv(self._add(Scalar(self.scalars.index(expr))), (), ())

    def const(self, value: float) -> TVal:
        return self._tv(self._add(Const(float(value))), (), ())

    def index(self, x: TVal, dim: int) -> TVal:
        """The coordinate along ``x``'s dim ``dim``, shaped to broadcast with ``x``."""
        self._mine(x)
        rank = len(x.shape)
        dim %= rank
        fd = x.fdims[dim]
        if fd is None:
            raise Unsupported("a coordinate along a broadcast dimension")
        shape = tuple(n if k == dim else 1 for k, n in enumerate(x.shape))
        fdims = tuple(fd if k == dim else None for k in range(rank))
        return self._tv(self._add(Index(fd)), shape, fdims)

    def constant(self, value: float, shape: tuple[int, ...]) -> TVal:
        """A constant tensor of ``shape`` (right-aligned like any leaf)."""
        rank = len(shape)
        return self._tv(self.const(value).idx, shape, _free(shape, tuple(range(-rank, 0))))

    def count(self) -> TVal:
        """The number of elements each reduction combines."""
        return self._tv(self._add(ReduceCount()), (), ())

    # ------------------------------------------------------------------ elementwise
    def apply(self, op: str, *args: TVal) -> TVal:
        self._mine(*args)
        if PRIMITIVES.get(op) != len(args):
            raise Unsupported(f"internal: primitive {op!r} with {len(args)} args")
        shape, fdims = broadcast(args)
        return self._tv(self._add(Apply(op, tuple(a.idx for a in args))), shape, fdims)

    # ------------------------------------------------------------------ reductions
    def reduce(self, kind: ReduceKind, x: TVal, dims: tuple[int, ...], keepdim: bool) -> TVal:
        """Reduce ``x`` over its dims ``dims`` (any sign); all reductions of a
        program must cover the same contiguous range of F."""
        rank = len(x.shape)
        if not dims:
            dims = tuple(range(rank))
        norm = sorted({d % rank for d in dims}) if rank else []
        if not norm:
            raise Unsupported("reduction of a 0-d tensor")
        # size-1 dims reduce to themselves: they need no place in the span
        fds = [x.fdims[d] for d in norm if x.shape[d] != 1]
        if not fds or any(f is None for f in fds):
            raise Unsupported("reduction over broadcast (size-1) dimensions only")
        span = tuple(int(f) for f in fds)  # type: ignore[arg-type]
        if list(span) != list(range(span[0], span[0] + len(span))):
            raise Unsupported(f"reduction over non-adjacent dims {tuple(norm)}")
        if self.reduce_fdims is None:
            self.reduce_fdims = span
        elif self.reduce_fdims != span:
            raise ReduceDimsMismatch("reductions over different dims in one kernel")
        idx = self._add(Reduce(kind, x.idx))
        if keepdim:
            shape = tuple(1 if d in norm else s for d, s in enumerate(x.shape))
            fdims = tuple(None if d in norm else f for d, f in enumerate(x.fdims))
        else:
            shape = tuple(s for d, s in enumerate(x.shape) if d not in norm)
            fdims = tuple(f for d, f in enumerate(x.fdims) if d not in norm)
        return self._tv(idx, shape, fdims)

    # ------------------------------------------------------------------ slicing
    def slice(self, x: TVal, dim: int, start: str, stop: str, new_size: int) -> TVal:
        """``x`` sliced to ``start:stop`` along its dim ``dim``, by slicing every
        leaf it is computed from (elementwise ops commute with slicing).

        ``start``/``stop`` are Python expressions; ``{size}`` in them stands for
        the length of the sliced dim."""
        self._mine(x)
        fd = x.fdims[dim]
        if fd is None:
            raise Unsupported("slicing a broadcast dimension")
        if self.reduce_fdims and fd in self.reduce_fdims:
            raise Unsupported("slicing along a reduced dimension")
        root = self._rewrite_leaves(x.idx, lambda k, v: self._slice_leaf(k, v.operand, fd, start, stop, new_size))
        shape = x.shape[:dim] + (new_size,) + x.shape[dim + 1 :]
        return self._tv(root, shape, x.fdims)

    def _rewrite_leaves(self, root: int, leaf, reduce_ok: bool = True) -> int:
        """Rebuild the values ``root`` is computed from with each ``Load`` replaced by
        ``leaf(index, load)``; shared sub-values are rebuilt once."""
        memo: dict[int, int] = {}

        def rebuild(k: int) -> int:
            if k in memo:
                return memo[k]
            v = self.values[k]
            if isinstance(v, Load):
                out = leaf(k, v)
            elif isinstance(v, Apply):
                out = self._add(Apply(v.op, tuple(rebuild(a) for a in v.args)))
            elif isinstance(v, Reduce):
                if not reduce_ok:
                    raise Unsupported("reshaping a reduced value")
                out = self._add(Reduce(v.kind, rebuild(v.arg)))
            else:
                out = k
            memo[k] = out
            return out

        return rebuild(root)

    def _slice_leaf(self, k: int, operand: int, fd: int, start: str, stop: str, new_size: int) -> int:
        expr, shape = self.operand_exprs[operand], self.operand_shapes[operand]
        dim = len(shape) + fd
        if dim < 0 or shape[dim] == 1:
            return k  # broadcast along the sliced dim: unchanged
        size = f"{expr}.shape[{dim}]"
        index = ", ".join([":"] * dim + [f"{start.format(size=size)}:{stop.format(size=size)}"])
        new_shape = shape[:dim] + (new_size,) + shape[dim + 1 :]
        return self.leaf(f"{expr}[{index}]", new_shape, self.operand_dtypes[operand]).idx

    # ------------------------------------------------------------------ reshaping
    def reshape(self, x: TVal, new_shape: tuple[int, ...], template: str) -> TVal:
        """``x`` viewed as ``new_shape`` by viewing every leaf it is computed
        from; ``template`` is the view's Python text with ``{e}`` for the leaf.
        Only leaves of ``x``'s full shape (or single elements) can be viewed."""
        self._mine(x)

        def view_leaf(k: int, v: Load) -> int:
            expr, shape = self.operand_exprs[v.operand], self.operand_shapes[v.operand]
            if math.prod(shape) == 1:
                return k
            if shape == x.shape:
                return self.leaf(template.format(e=expr), new_shape, self.operand_dtypes[v.operand]).idx
            raise Unsupported("reshaping a value computed from broadcast operands")

        rank = len(new_shape)
        root = self._rewrite_leaves(x.idx, view_leaf, reduce_ok=False)
        return self._tv(root, new_shape, _free(new_shape, tuple(range(-rank, 0))))

    # ------------------------------------------------------------------ finishing
    def build(self, outs: list[tuple[TVal, str, tuple[int, int, int, int] | None]], container: str = "") -> Program:
        """Freeze the program; ``outs`` are (value, view, concat) triples."""
        live = _live(self.values, [out.idx for out, _, _ in outs])
        live_ops = {v.operand for k, v in enumerate(self.values) if k in live and isinstance(v, Load)}
        rank_hint = max([self.operand_ranks[k] for k in live_ops], default=0)
        full = _bshape([self.operand_shapes[k] for k in live_ops])
        fdims_all = [f for out, _, _ in outs for f in out.fdims if f is not None]
        rank = max([rank_hint] + [-f for f in fdims_all] + [-f for f in (self.reduce_fdims or ())])
        reduce_dims = tuple(f + rank for f in self.reduce_fdims) if self.reduce_fdims else ()
        full = (1,) * (rank - len(full)) + full
        outputs = tuple(self._output(out, view, cat, full, reduce_dims) for out, view, cat in outs)
        program = Program(
            operands=tuple(Operand(e, dtype=self.operand_dtypes[k]) for k, e in enumerate(self.operand_exprs)),
            scalars=tuple(self.scalars),
            values=tuple(self.values),
            outputs=outputs,
            rank=rank,
            reduce_dims=reduce_dims,
            container=container,
            labels=tuple(dict.fromkeys(self.labels)),
        )
        return prune(program)

    @staticmethod
    def _output(out: TVal, view: str, cat: tuple[int, int, int, int] | None, full: tuple[int, ...],
                reduce_dims: tuple[int, ...]) -> Output:
        used = [f for f in out.fdims if f is not None]
        if used != sorted(used):
            raise Unsupported("an output permutes dimensions")
        rank = len(full)
        dims = tuple(-1 if f is None else f + rank for f in out.fdims)
        spanned = {d for d in dims if d >= 0}
        every = {d for d in range(rank) if full[d] != 1}
        if spanned != every and spanned != every - set(reduce_dims):
            raise Unsupported("an output does not cover the iteration space (a broadcast it cannot index)")
        return Output(out.idx, dims, view, cat)


def _live(values: tuple[Value, ...] | list[Value], roots: list[int]) -> set[int]:
    live: set[int] = set()
    todo = list(roots)
    while todo:
        k = todo.pop()
        if k in live:
            continue
        live.add(k)
        v = values[k]
        if isinstance(v, Apply):
            todo.extend(v.args)
        elif isinstance(v, Reduce):
            todo.append(v.arg)
    return live


def prune(program: Program) -> Program:
    """Drop values, operands and scalars no output depends on; renumber."""
    order = sorted(_live(program.values, [o.value for o in program.outputs]))
    new_index = {old: new for new, old in enumerate(order)}
    ops = sorted({program.values[k].operand for k in order if isinstance(program.values[k], Load)})
    scal = sorted({program.values[k].index for k in order if isinstance(program.values[k], Scalar)})
    op_index = {old: new for new, old in enumerate(ops)}
    sc_index = {old: new for new, old in enumerate(scal)}
    values: list[Value] = []
    for k in order:
        v = program.values[k]
        if isinstance(v, Load):
            v = Load(op_index[v.operand])
        elif isinstance(v, Scalar):
            v = Scalar(sc_index[v.index])
        elif isinstance(v, Apply):
            v = Apply(v.op, tuple(new_index[a] for a in v.args))
        elif isinstance(v, Reduce):
            v = Reduce(v.kind, new_index[v.arg])
        values.append(v)
    has_reduce = any(isinstance(v, Reduce) for v in values)
    return Program(
        operands=tuple(program.operands[k] for k in ops),
        scalars=tuple(program.scalars[k] for k in scal),
        values=tuple(values),
        outputs=tuple(Output(new_index[o.value], o.dims, o.view, o.concat) for o in program.outputs),
        rank=program.rank,
        reduce_dims=program.reduce_dims if has_reduce else (),
        container=program.container,
        labels=program.labels,
    )


def _bshape(shapes: list[tuple[int, ...]]) -> tuple[int, ...]:
    rank = max((len(s) for s in shapes), default=0)
    out = [1] * rank
    for s in shapes:
        for k in range(1, len(s) + 1):
            out[-k] = max(out[-k], s[-k])
    return tuple(out)


def broadcast(args: tuple[TVal, ...] | list[TVal]) -> tuple[tuple[int, ...], tuple[int | None, ...]]:
    """Torch's broadcast of ``args``' shapes, with the F dims each result dim spans."""
    rank = max((len(a.shape) for a in args), default=0)
    shape: list[int] = []
    fdims: list[int | None] = []
    for k in range(-rank, 0):
        sizes = {a.shape[k] for a in args if len(a.shape) >= -k} - {1}
        if len(sizes) > 1:
            raise Unsupported(f"shapes {[a.shape for a in args]} do not broadcast")
        spans = {a.fdims[k] for a in args if len(a.shape) >= -k and a.shape[k] != 1}
        if len(spans) > 1:
            # e.g. a per-row value [N] added to [N, D]: torch aligns it with D, which
            # a row kernel would index differently; too ambiguous to fuse.
            raise Unsupported("a broadcast mixes different dimensions")
        shape.append(sizes.pop() if sizes else 1)
        fdims.append(spans.pop() if spans else None)
    return tuple(shape), tuple(fdims)
