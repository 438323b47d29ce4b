"""The offline proposer's intermediate representation.

A traced reference becomes a :class:`Plan`: optional library calls (matmul,
convolution; only under the ``torch-ok`` policy) followed by one fused
:class:`Program` that a single generated kernel evaluates.

A program is a list of SSA values over an *iteration shape* ``F`` (the
broadcast shape of every tensor it loads). Elementwise values are evaluated
once per element of ``F``; :class:`Reduce` values collapse the dimensions
``Program.reduce_dims`` of ``F`` (a contiguous range), giving one value per
"row" that later elementwise values may use again (softmax, layer norm...).
Values refer to earlier values by index, so the tuple is already in
topological order.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class ReduceKind(str, Enum):
    SUM = "sum"
    MAX = "max"
    MIN = "min"
    PROD = "prod"


@dataclass(frozen=True)
class Load:
    """One element of tensor operand ``operand`` (broadcast to ``F``)."""

    operand: int


@dataclass(frozen=True)
class Scalar:
    """A float kernel argument computed in Python (a forward argument, a size)."""

    index: int  # into Program.scalars


@dataclass(frozen=True)
class Const:
    value: float


@dataclass(frozen=True)
class ReduceCount:
    """The number of elements one reduction combines, as a float (for means)."""


@dataclass(frozen=True)
class Index:
    """The coordinate (as a float) along dim ``dim`` of F, counted from the right
    (-1 is F's last dim): what torch.triu / tril masks are made of."""

    dim: int


@dataclass(frozen=True)
class Apply:
    """A primitive elementwise operation (see :data:`PRIMITIVES`)."""

    op: str
    args: tuple[int, ...]


@dataclass(frozen=True)
class Reduce:
    """Combine ``arg`` over the reduced dimensions of ``F``."""

    kind: ReduceKind
    arg: int


Value = Load | Scalar | Const | ReduceCount | Index | Apply | Reduce


# name -> arity. The CUDA spelling lives in cuda_ops.py, the torch one in interpret.py;
# a test checks that both tables cover exactly this set.
PRIMITIVES: dict[str, int] = {
    **{name: 1 for name in (
        "neg", "exp", "log", "log2", "sqrt", "rsqrt", "abs", "relu", "sigmoid", "tanh", "erf",
        "sin", "cos", "log1p", "expm1", "floor", "ceil", "round", "trunc", "recip", "inf_to_zero",
    )},
    **{name: 2 for name in (
        "add", "sub", "mul", "div", "pow", "max", "min", "gt", "ge", "lt", "le", "eq", "ne", "fmod",
    )},
    "where": 3,
}


class Layout(str, Enum):
    """How a tensor operand is laid out relative to the iteration shape F."""

    FULL = "full"  # contiguous, exactly F's shape: element index = linear index
    SCALAR = "scalar"  # one element, broadcast everywhere
    ROW = "row"  # constant along the reduced dims (a per-row scale); reductions only
    STRIDED = "strided"  # anything else: broadcast and/or strided, indexed through strides


@dataclass(frozen=True)
class Operand:
    """A tensor the kernel reads."""

    expr: str  # Python expression that gives the tensor inside forward ("x", "self.ln.weight")
    layout: Layout = Layout.STRIDED
    dtype: str = "float32"  # element type in memory; loads convert to float


@dataclass(frozen=True)
class Output:
    """One returned tensor."""

    value: int  # index of the value returned
    dims: tuple[int, ...]  # per dim of the returned tensor: the F dim it spans, or -1 for size 1
    view: str = ""  # Python expression reshaping the contiguous result (named `_out`), if any
    # (group, part, parts, dim): this output is piece `part` of `parts` equal pieces that
    # torch.cat joins along `dim` into returned tensor `group`; written through strides
    concat: tuple[int, int, int, int] | None = None


@dataclass(frozen=True)
class Program:
    """One fused kernel's worth of computation."""

    operands: tuple[Operand, ...]
    scalars: tuple[str, ...]  # Python expressions of float kernel arguments
    values: tuple[Value, ...]
    outputs: tuple[Output, ...]
    rank: int  # rank of the iteration shape F
    reduce_dims: tuple[int, ...] = ()  # contiguous, ascending dims of F; () = elementwise
    container: str = ""  # "" for one returned tensor, "tuple" or "list" for several
    # some operand needs the reduced dims as two (a group-norm weight): index j as (j / R1, j % R1)
    reduced_split: bool = False
    labels: tuple[str, ...] = ()  # torch ops recognized, for reports ("softmax", "gelu")

    @property
    def is_elementwise(self) -> bool:
        return not self.reduce_dims

    @property
    def rows_last(self) -> bool:
        """True when the reduced dims end at F's last dim (one contiguous row per reduction)."""
        return bool(self.reduce_dims) and self.reduce_dims[-1] == self.rank - 1

    def reduced(self, out: Output) -> bool:
        """True when ``out`` holds one value per row instead of one per element."""
        return bool(self.reduce_dims) and not any(d in self.reduce_dims for d in out.dims)


@dataclass(frozen=True)
class LibraryCall:
    """A torch library op run before the kernel (``torch-ok`` policy only)."""

    result: str  # Python variable the result is bound to
    expr: str  # Python expression computing it
    op: str  # "linear", "conv2d", ...


@dataclass(frozen=True)
class Plan:
    """Everything a candidate file's forward does, in order."""

    program: Program
    library: tuple[LibraryCall, ...] = ()
    # library calls after the kernel, on its outputs `_out<m>` (torch-ok only);
    # when present, forward returns the last one's result instead of the outputs
    post: tuple[LibraryCall, ...] = ()
    # earlier kernels: stage s writes its outputs, read by later ones as `_mid<s>_<m>`
    # (a reduction of row results over other dims, e.g. the mean of per-row losses)
    stages: tuple[Program, ...] = ()

    @property
    def kind(self) -> str:
        """'elementwise', 'rows' (reduce along the last dims) or 'columns'."""
        if self.program.is_elementwise:
            return "elementwise"
        return "rows" if self.program.rows_last else "columns"


def per_element(program: Program) -> tuple[bool, ...]:
    """For each value: does it vary along the reduced dims (or, without
    reductions, from element to element)?"""
    out: list[bool] = []
    for v in program.values:
        if isinstance(v, Load):
            out.append(program.operands[v.operand].layout in (Layout.FULL, Layout.STRIDED))
        elif isinstance(v, Index):
            out.append(not program.reduce_dims or program.rank + v.dim in program.reduce_dims)
        elif isinstance(v, Apply):
            out.append(any(out[a] for a in v.args))
        else:
            out.append(False)
    return tuple(out)
