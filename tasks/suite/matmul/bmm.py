"""Batched matrix multiplication: C[i] = A[i] @ B[i]."""

import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return torch.bmm(a, b)


def get_inputs(batch, m, k, n):
    return [torch.randn(batch, m, k), torch.randn(batch, k, n)]


def get_init_inputs(batch, m, k, n):
    return []


SHAPES = [
    dict(batch=32, m=512, k=512, n=512),
    dict(batch=7, m=129, k=77, n=255),
    dict(batch=2, m=3, k=5, n=4),
]

META = dict(
    category="matmul",
    source="KernelBench level 1 (batched matmul)",
    flops=lambda batch, m, k, n: 2 * batch * m * k * n,
    bytes=lambda batch, m, k, n: 4 * batch * (m * k + k * n + m * n),
)
