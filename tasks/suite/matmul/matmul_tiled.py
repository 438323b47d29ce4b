"""Dense fp32 matrix multiplication C = A @ B."""

import torch
import torch.nn as nn


class Model(nn.Module):
    """C = A @ B with A of shape (M, K) and B of shape (K, N), float32."""

    def __init__(self):
        super().__init__()

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return torch.matmul(a, b)


def get_inputs(m: int, n: int, k: int) -> list:
    return [torch.randn(m, k), torch.randn(k, n)]


def get_init_inputs(m: int, n: int, k: int) -> list:
    return []


SHAPES = [
    dict(m=4096, n=4096, k=4096),  # 137 GFLOP: compute-bound
    dict(m=1000, n=1001, k=999),  # odd: partial tiles on every side, no float4 rows
    dict(m=5, n=7, k=9),  # small, for instant CPU checks
]

META = dict(
    category="matmul",
    source="dense layers / projections of every transformer and MLP (KernelBench level 1 'square matmul')",
    # fp32 dot products over K = 4096 unit-variance terms: ~1e-4 rounding, any order.
    atol=1e-3,
    rtol=1e-3,
    flops=lambda m, n, k: 2 * m * n * k,
    bytes=lambda m, n, k: 4 * (m * k + k * n + m * n),
)
