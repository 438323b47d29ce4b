"""Rotary position embedding (RoPE) applied to queries or keys.

x has shape (batch, seq, heads, head_dim). Each vector is split into two
halves (x1, x2) which are rotated by the position's angle:
out = cat(x1 * cos - x2 * sin, x2 * cos + x1 * sin).
"""

import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        # cos, sin: (seq, head_dim // 2), broadcast over batch and heads
        half = x.shape[-1] // 2
        x1, x2 = x[..., :half], x[..., half:]
        c = cos[None, :, None, :]
        s = sin[None, :, None, :]
        return torch.cat([x1 * c - x2 * s, x2 * c + x1 * s], dim=-1)


def get_inputs(b, s, h, d):
    x = torch.randn(b, s, h, d)
    inv_freq = 1.0 / (10000.0 ** (torch.arange(0, d, 2).float() / d))
    # positions start at a random offset, as for a chunk of a longer sequence
    start = torch.randint(0, 4096, (1,))
    angles = (start + torch.arange(s)).float()[:, None] * inv_freq[None, :]
    return [x, torch.cos(angles), torch.sin(angles)]


def get_init_inputs(b, s, h, d):
    return []


SHAPES = [
    dict(b=4, s=2048, h=32, d=128),
    dict(b=3, s=999, h=12, d=64),
    dict(b=1, s=5, h=2, d=8),
]

META = dict(
    category="elementwise",
    source="RoFormer / LLaMA rotary embeddings",
    flops=lambda b, s, h, d: 3 * b * s * h * d,
    bytes=lambda b, s, h, d: 4 * (2 * b * s * h * d + s * d),
)
