"""Scaled, causally masked softmax over attention scores.

scores has shape (batch, heads, seq, seq). Each row i is scaled, positions
j > i are masked out, and the softmax is taken over the last dimension.
"""

import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, scores: torch.Tensor, scale: float) -> torch.Tensor:
        s = scores.shape[-1]
        future = torch.triu(torch.ones(s, s, dtype=torch.bool, device=scores.device), diagonal=1)
        masked = (scores * scale).masked_fill(future, float("-inf"))
        return torch.softmax(masked, dim=-1)


def get_inputs(b, h, s):
    return [torch.randn(b, h, s, s) * 4.0, 0.125]


def get_init_inputs(b, h, s):
    return []


SHAPES = [
    dict(b=2, h=16, s=1024),
    dict(b=3, h=5, s=333),
    dict(b=1, h=2, s=7),
]

META = dict(
    category="softmax",
    source="Megatron-LM scaled upper-triangular masked softmax",
    # probabilities of long rows are ~1/seq: a 1e-4 absolute slack would hide wrong rows
    atol=1e-6,
    rtol=1e-4,
    flops=lambda b, h, s: 5 * b * h * s * s,
    bytes=lambda b, h, s: 8 * b * h * s * s,
)
