"""Row argmax: index of the largest value along the last dimension."""

import torch
import torch.nn as nn


class Model(nn.Module):
    """y[r] = argmax_c x[r, c] (int64; first index on ties, NaN counts as the maximum)."""

    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.argmax(x, dim=-1)


def get_inputs(rows: int, cols: int) -> list:
    return [torch.randn(rows, cols)]


def get_init_inputs(rows: int, cols: int) -> list:
    return []


SHAPES = [
    dict(rows=8192, cols=8192),  # 256 MiB read
    dict(rows=1111, cols=5001),  # odd: unaligned rows, tails
    dict(rows=6, cols=50),  # small, for instant CPU checks
]

META = dict(
    category="reduction",
    source="greedy decoding (argmax over the vocabulary), classifier prediction",
    flops=lambda rows, cols: rows * cols,
    bytes=lambda rows, cols: 4 * rows * cols + 8 * rows,
)
