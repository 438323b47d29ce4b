"""What an fx node converts to, besides IR values: tensors that exist in the
candidate's forward, Python-level values, and markers for results that may
only be returned. Shared by the converter and its op handlers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import fx

from cudarwin.agent.offline.builder import TVal

@dataclass(frozen=True)
class Src:
    """A tensor that exists in the candidate's forward: an input, a parameter,
    a view of one, or a library call's result."""

    expr: str
    meta: torch.Tensor
    as_float: bool = False  # an integer tensor the reference converts to float32


_INT_DTYPES = {torch.int64: "int64", torch.int32: "int32", torch.int16: "int16", torch.int8: "int8",
               torch.uint8: "uint8", torch.bool: "bool"}


@dataclass(frozen=True)
class PyVal:
    """A non-tensor value the candidate recomputes in Python (sizes, scalars)."""

    expr: str
    value: Any


@dataclass(frozen=True)
class Reshaped:
    """A computed value reshaped in a way only the final output may be."""

    val: TVal
    view: str  # Python expression applied to the contiguous result `out`


@dataclass(frozen=True)
class PostLib:
    """The result of a library call on fused values: computed after the kernel."""

    var: str


@dataclass(frozen=True)
class Concat:
    """``torch.cat`` of equally shaped computed values: only returned, as pieces
    written into one result."""

    parts: tuple[TVal, ...]
    dim: int


@dataclass(frozen=True)
class ValuesOf:
    """``torch.max(x, dim)``'s (values, indices) pair; only values are supported."""

    val: TVal


# elements one block may reduce before it is a slowdown rather than a kernel worth proposing
SINGLE_BLOCK_LIMIT = 1 << 20


def _norm_name(node: fx.Node, gm: fx.GraphModule) -> str:
    if node.op == "call_module":
        return type(gm.get_submodule(str(node.target))).__name__
    # in-place variants (relu_, add_) compute the same values as their functional forms
    name = str(node.target) if node.op == "call_method" else getattr(node.target, "__name__", str(node.target))
    return name.rstrip("_") if name.endswith("_") and not name.startswith("_") else name
