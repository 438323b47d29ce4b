"""Column-wise maximum of a matrix: out[j] = max_i x[i, j].

The reduction runs over the leading (strided) dimension, so a kernel must
read coalesced rows and reduce across them.
"""

import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.max(x, dim=0).values


def get_inputs(n, d):
    return [torch.randn(n, d)]


def get_init_inputs(n, d):
    return []


SHAPES = [
    dict(n=16384, d=4096),
    dict(n=100003, d=77),
    dict(n=9, d=5),
]

META = dict(
    category="reduction",
    source="KernelBench level 1 (max reduction over a dimension)",
    flops=lambda n, d: n * d,
    bytes=lambda n, d: 4 * (n * d + d),
)
