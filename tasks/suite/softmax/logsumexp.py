"""Log-sum-exp over the last dimension of a 2-D tensor."""

import torch
import torch.nn as nn


class Model(nn.Module):
    """y[r] = log(sum_c exp(x[r, c])), computed stably."""

    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.logsumexp(x, dim=-1)


def get_inputs(rows: int, cols: int) -> list:
    return [torch.randn(rows, cols)]


def get_init_inputs(rows: int, cols: int) -> list:
    return []


SHAPES = [
    dict(rows=8192, cols=8192),  # 256 MiB read
    dict(rows=1234, cols=4099),  # odd: unaligned rows, tails
    dict(rows=5, cols=40),  # small, for instant CPU checks
]

META = dict(
    category="softmax",
    source="log-partition of a softmax: LM log-likelihoods, mixture models, attention LSE",
    flops=lambda rows, cols: 4 * rows * cols,
    bytes=lambda rows, cols: 4 * rows * cols + 4 * rows,
)
