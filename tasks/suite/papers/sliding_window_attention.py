"""Causal sliding-window attention in half precision.

Query i attends to keys j with i - window < j <= i (Mistral-style local
attention; a 1-D special case of Generalized Neighborhood Attention).
out = softmax(q k^T / sqrt(d) + window mask) v. The reference computes all
seq x seq scores; a fast kernel visits only the key blocks inside the band.
"""

import math

import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self, window: int):
        super().__init__()
        self.window = window

    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        s = q.shape[2]
        pos = torch.arange(s, device=q.device)
        lag = pos[:, None] - pos[None, :]  # i - j
        outside = (lag < 0) | (lag >= self.window)
        # scale q before the product: keeps half-precision scores far from overflow
        scores = (q / math.sqrt(q.shape[-1])) @ k.transpose(-1, -2)
        scores = scores.masked_fill(outside, float("-inf"))
        return torch.softmax(scores.float(), dim=-1).to(q.dtype) @ v


def get_inputs(b, h, s, d, window):
    return [torch.randn(b, h, s, d).half() for _ in range(3)]


def get_init_inputs(b, h, s, d, window):
    return [window]


SHAPES = [
    dict(b=2, h=16, s=4096, d=64, window=512),
    dict(b=3, h=4, s=1000, d=64, window=129),
    dict(b=1, h=2, s=9, d=8, window=3),
]

META = dict(
    category="papers",
    source="Generalized Neighborhood Attention (Hassani et al. 2025); Mistral 7B sliding window",
    atol=2e-3,
    rtol=1e-2,
    flops=lambda b, h, s, d, window: 4 * b * h * s * min(window, s) * d,
    bytes=lambda b, h, s, d, window: 8 * b * h * s * d,
)
