"""Row sum: reduce the last dimension of a 2-D tensor."""

import torch
import torch.nn as nn


class Model(nn.Module):
    """y[r] = sum_c x[r, c]."""

    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.sum(dim=-1)


def get_inputs(rows: int, cols: int) -> list:
    return [torch.randn(rows, cols)]


def get_init_inputs(rows: int, cols: int) -> list:
    return []


SHAPES = [
    dict(rows=8192, cols=8192),  # 256 MiB read
    dict(rows=1999, cols=5003),  # odd: rows not 16-byte aligned, tails in every row
    dict(rows=5, cols=77),  # small, for instant CPU checks
]

META = dict(
    category="reduction",
    source="row reductions in pooling / loss normalisation (KernelBench level 1 'sum reduction')",
    # fp32 sums of ~8k unit-variance terms: any summation order is ~1e-5 off float64.
    atol=1e-3,
    rtol=1e-4,
    flops=lambda rows, cols: rows * cols,
    bytes=lambda rows, cols: 4 * rows * cols + 4 * rows,
)
