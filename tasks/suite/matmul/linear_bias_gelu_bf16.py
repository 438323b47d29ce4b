"""bfloat16 linear layer with a bias + GELU epilogue: gelu(x @ W^T + b).

The first projection of a transformer MLP in bf16 mixed precision. A fast
kernel runs the GEMM on tensor cores with float32 accumulation and applies
the bias and the exact (erf) GELU to the accumulator before the single
bf16 store.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F


class Model(nn.Module):
    def __init__(self, k: int, n: int):
        super().__init__()
        self.linear = nn.Linear(k, n).to(torch.bfloat16)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.gelu(self.linear(x))


def get_inputs(m, k, n):
    return [torch.randn(m, k).to(torch.bfloat16)]


def get_init_inputs(m, k, n):
    return [k, n]


SHAPES = [
    dict(m=8192, k=4096, n=4096),
    dict(m=77, k=1000, n=333),
    dict(m=3, k=8, n=5),
]

META = dict(
    category="matmul",
    source="GPT / BERT MLP up-projection in bf16 (cuBLASLt GELU_BIAS epilogue)",
    atol=1e-2,
    rtol=2e-2,
    flops=lambda m, k, n: 2 * m * k * n + 10 * m * n,
    bytes=lambda m, k, n: 2 * (m * k + k * n + n + m * n),
)
