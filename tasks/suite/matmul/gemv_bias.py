"""Matrix-vector product with bias: y = W @ x + b (batch-1 linear layer).

Memory-bound: every weight is read once and used once.
"""

import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self, n: int, k: int):
        super().__init__()
        self.linear = nn.Linear(k, n)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x)


def get_inputs(n, k):
    return [torch.randn(k)]


def get_init_inputs(n, k):
    return [n, k]


SHAPES = [
    dict(n=8192, k=8192),
    dict(n=4097, k=3001),
    dict(n=5, k=7),
]

META = dict(
    category="matmul",
    source="batch-1 decoding of a linear layer (GEMV)",
    flops=lambda n, k: 2 * n * k,
    bytes=lambda n, k: 4 * (n * k + k + 2 * n),
)
