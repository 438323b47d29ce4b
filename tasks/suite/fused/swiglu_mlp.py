"""SwiGLU feed-forward block of LLaMA: down(silu(gate(x)) * up(x)).

Three bias-free linear layers; the gate and up projections share the input
and the elementwise product feeds the down projection.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F


class Model(nn.Module):
    def __init__(self, d: int, f: int):
        super().__init__()
        self.gate = nn.Linear(d, f, bias=False)
        self.up = nn.Linear(d, f, bias=False)
        self.down = nn.Linear(f, d, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down(F.silu(self.gate(x)) * self.up(x))


def get_inputs(m, d, f):
    return [torch.randn(m, d)]


def get_init_inputs(m, d, f):
    return [d, f]


SHAPES = [
    dict(m=1024, d=1024, f=2816),
    dict(m=77, d=320, f=864),
    dict(m=3, d=4, f=6),
]

META = dict(
    category="fused",
    source="LLaMA (Touvron et al. 2023) SwiGLU MLP",
    flops=lambda m, d, f: 6 * m * d * f + 5 * m * f,
    bytes=lambda m, d, f: 4 * (2 * m * d + 3 * d * f),
)
