"""Mish activation: x * tanh(softplus(x)), elementwise on a 2-D tensor."""

import torch
import torch.nn as nn
import torch.nn.functional as F


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.tanh(F.softplus(x))


def get_inputs(n, d):
    return [torch.randn(n, d) * 3.0]


def get_init_inputs(n, d):
    return []


SHAPES = [
    dict(n=8192, d=4096),
    dict(n=1001, d=3333),
    dict(n=3, d=7),
]

META = dict(
    category="elementwise",
    source="Mish (Misra 2019), YOLOv4",
    flops=lambda n, d: 8 * n * d,
    bytes=lambda n, d: 8 * n * d,
)
