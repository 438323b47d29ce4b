"""Softmax over the last dimension of a 2-D tensor."""

import torch
import torch.nn as nn


class Model(nn.Module):
    """y[r, c] = exp(x[r, c]) / sum_k exp(x[r, k])."""

    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(x, dim=-1)


def get_inputs(rows: int, cols: int) -> list:
    return [torch.randn(rows, cols)]


def get_init_inputs(rows: int, cols: int) -> list:
    return []


SHAPES = [
    dict(rows=8192, cols=8192),  # 256 MiB in + 256 MiB out: attention scores, 8k keys
    dict(rows=997, cols=3001),  # odd: unaligned rows, tails
    dict(rows=4, cols=45),  # small, for instant CPU checks
]

META = dict(
    category="softmax",
    source="attention softmax (Vaswani et al. 2017); online normaliser (Milakov & Gimelshein 2018)",
    flops=lambda rows, cols: 5 * rows * cols,
    bytes=lambda rows, cols: 8 * rows * cols,
)
