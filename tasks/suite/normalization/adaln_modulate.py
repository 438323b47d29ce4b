"""Adaptive layer norm with modulation, as in DiT blocks.

Each token of x (batch, tokens, dim) is layer-normalized without affine
(eps=1e-6), then modulated by per-sample shift and scale vectors computed
from the conditioning: out = norm(x) * (1 + scale) + shift.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
        normed = F.layer_norm(x, (x.shape[-1],), eps=1e-6)
        return normed * (1 + scale[:, None, :]) + shift[:, None, :]


def get_inputs(b, t, d):
    return [torch.randn(b, t, d), torch.randn(b, d), torch.randn(b, d) * 0.5]


def get_init_inputs(b, t, d):
    return []


SHAPES = [
    dict(b=8, t=2048, d=1152),
    dict(b=3, t=257, d=1000),
    dict(b=2, t=3, d=8),
]

META = dict(
    category="normalization",
    source="DiT: Scalable Diffusion Models with Transformers (adaLN-Zero)",
    flops=lambda b, t, d: 9 * b * t * d,
    bytes=lambda b, t, d: 4 * (2 * b * t * d + 2 * b * d),
)
