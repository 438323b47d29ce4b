"""Causal attention with ALiBi linear position biases (float32).

Head h adds slope[h] * (j - i) to the score of query i and key j (j <= i),
with the geometric slopes of the ALiBi paper; keys after the query are
masked. out = softmax(q k^T / sqrt(d) + bias) v.
"""

import math

import torch
import torch.nn as nn


def alibi_slopes(heads: int) -> torch.Tensor:
    # 2^(-8 i / heads) for i = 1..heads (heads a power of two, as in the paper)
    return torch.tensor([2.0 ** (-8.0 * (i + 1) / heads) for i in range(heads)])


class Model(nn.Module):
    def __init__(self, heads: int):
        super().__init__()
        self.register_buffer("slopes", alibi_slopes(heads))

    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        s = q.shape[2]
        pos = torch.arange(s, device=q.device)
        distance = (pos[None, :] - pos[:, None]).to(q.dtype)  # j - i
        bias = self.slopes.to(q.dtype)[:, None, None] * distance
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(q.shape[-1]) + bias
        future = torch.triu(torch.ones(s, s, dtype=torch.bool, device=q.device), diagonal=1)
        scores = scores.masked_fill(future, float("-inf"))
        return torch.softmax(scores, dim=-1) @ v


def get_inputs(b, h, s, d):
    return [torch.randn(b, h, s, d), torch.randn(b, h, s, d), torch.randn(b, h, s, d)]


def get_init_inputs(b, h, s, d):
    return [h]


SHAPES = [
    dict(b=2, h=16, s=1024, d=64),
    dict(b=3, h=8, s=377, d=64),
    dict(b=1, h=2, s=7, d=4),
]

META = dict(
    category="attention",
    source="ALiBi: Train Short, Test Long (Press et al. 2022); BLOOM",
    flops=lambda b, h, s, d: 2 * b * h * s * (s + 1) * d,
    bytes=lambda b, h, s, d: 16 * b * h * s * d,
)
