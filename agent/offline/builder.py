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

from dataclasses import dataclass

from cudarwin.agent.offline.ir import (
    PRIMITIVES,
    Apply,
    Const,
    Load,
    Operand,
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


def _free(shape: tuple[int, ...], fdims: tuple[int | None, ...]) -> tuple[int | None, ...]:
    return tuple(None if s == 1 else f for s, f in zip(shape, fdims))


class ProgramBuilder:
    """Accumulates operands, scalars and SSA values; deduplicates equal values."""

    def __init__(self) -> None:
        self.operand_exprs: list[str] = []
        self.scalars: list[str] = []
        self.values: list[Value] = []
        self._index: dict[Value, int] = {}
        self.reduce_fdims: tuple[int, ...] | None = None
        self.labels: list[str] = []

    # ------------------------------------------------------------------ leaves
    def _add(self, value: Value) -> int:
        if value not in self._index:
            self._index[value] = len(self.values)
            self.values.append(value)
        return self._index[value]

    def leaf(self, expr: str, shape: tuple[int, ...]) -> TVal:
        """A tensor read from Python expression ``expr`` (right-aligned to F)."""
        if expr not in self.operand_exprs:
            self.operand_exprs.append(expr)
        idx = self._add(Load(self.operand_exprs.index(expr)))
        rank = len(shape)
        return TVal(idx, shape, _free(shape, tuple(range(-rank, 0))))

    def scalar(self, expr: str) -> TVal:
        if expr not in self.scalars:
            self.scalars.append(expr)
        return TVal(self._add(Scalar(self.scalars.index(expr))), (), ())

    def const(self, value: float) -> TVal:
        return TVal(self._add(Const(float(value))), (), ())

    def count(self) -> TVal:
        """The number of elements each reduction combines."""
        return TVal(self._add(ReduceCount()), (), ())

    # ------------------------------------------------------------------ elementwise
    def apply(self, op: str, *args: TVal) -> TVal:
        if PRIMITIVES.get(op) != len(args):
            raise Unsupported(f"internal: primitive {op!r} with {len(args)} args")
        shape, fdims = broadcast(args)
        return TVal(self._add(Apply(op, tuple(a.idx for a in args))), shape, fdims)

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
        fds = [x.fdims[d] for d in norm]
        if any(f is None for f in fds):
            raise Unsupported("reduction over a broadcast (size-1) dimension")
        span = tuple(int(f) for f in fds)  # type: ignore[arg-type]
        if list(span) != list(range(span[0], span[0] + len(span))):
            raise Unsupported(f"reduction over non-adjacent dims {tuple(norm)}")
        if self.reduce_fdims is None:
            self.reduce_fdims = span
        elif self.reduce_fdims != span:
            raise Unsupported("reductions over different dims in one reference")
        idx = self._add(Reduce(kind, x.idx))
        if keepdim:
            shape = tuple(1 if d in norm else s for d, s in enumerate(x.shape))
            fdims = tuple(None if d in norm else f for d, f in enumerate(x.fdims))
        else:
            shape = tuple(s for d, s in enumerate(x.shape) if d not in norm)
            fdims = tuple(f for d, f in enumerate(x.fdims) if d not in norm)
        return TVal(idx, shape, fdims)

    # ------------------------------------------------------------------ finishing
    def build(self, out: TVal, rank_hint: int, out_view: str = "") -> Program:
        """Freeze the program; ``rank_hint`` is the rank of F (max leaf rank)."""
        used = [f for f in out.fdims if f is not None]
        if used != sorted(used):
            raise Unsupported("the output permutes dimensions")
        rank = max([rank_hint] + [-f for f in used] + [-f for f in (self.reduce_fdims or ())])
        reduce_dims = tuple(f + rank for f in self.reduce_fdims) if self.reduce_fdims else ()
        out_dims = tuple(-1 if f is None else f + rank for f in out.fdims)
        spanned = {d for d in out_dims if d >= 0}
        every = set(range(rank))
        if spanned != every and spanned != every - set(reduce_dims):
            raise Unsupported("the output does not cover the iteration space (a broadcast it cannot index)")
        return Program(
            operands=tuple(Operand(e) for e in self.operand_exprs),
            scalars=tuple(self.scalars),
            values=tuple(self.values),
            output=out.idx,
            rank=rank,
            reduce_dims=reduce_dims,
            out_dims=out_dims,
            out_view=out_view,
            labels=tuple(dict.fromkeys(self.labels)),
        )


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
