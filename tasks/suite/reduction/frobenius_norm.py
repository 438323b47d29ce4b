"""Divide a tensor by its Frobenius norm: x / sqrt(sum(x ** 2)).

A global reduction over every element followed by an elementwise pass.
"""

import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        norm = torch.sqrt(torch.sum(x * x))
        return x / norm


def get_inputs(b, c, h, w):
    return [torch.randn(b, c, h, w)]


def get_init_inputs(b, c, h, w):
    return []


SHAPES = [
    dict(b=32, c=64, h=128, w=128),
    dict(b=3, c=17, h=33, w=65),
    dict(b=1, c=2, h=3, w=5),
]

META = dict(
    category="reduction",
    source="KernelBench level 1 (Frobenius norm normalization)",
    # outputs are about 1/sqrt(numel): judge them relatively, not against an absolute 1e-4
    atol=1e-9,
    rtol=1e-4,
    flops=lambda b, c, h, w: 3 * b * c * h * w,
    bytes=lambda b, c, h, w: 8 * b * c * h * w,
)
