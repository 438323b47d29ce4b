"""Matrix multiplication with the left operand transposed: C = A^T @ B.

A is stored (K, M) and B is stored (K, N), as in weight-gradient GEMMs where
both operands are activations laid out token-major.
"""

import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return a.t() @ b


def get_inputs(m, k, n):
    return [torch.randn(k, m), torch.randn(k, n)]


def get_init_inputs(m, k, n):
    return []


SHAPES = [
    dict(m=2048, k=1024, n=2048),
    dict(m=333, k=1000, n=97),
    dict(m=3, k=5, n=4),
]

META = dict(
    category="matmul",
    source="weight-gradient GEMM (dW = X^T dY) of a linear layer",
    flops=lambda m, k, n: 2 * m * k * n,
    bytes=lambda m, k, n: 4 * (m * k + k * n + m * n),
)
