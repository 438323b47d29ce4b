"""Linear layer, GELU (tanh approximation), then LayerNorm with affine.

out = layer_norm(gelu(x @ W^T + b)) * gamma + beta, normalized over the
output features (eps=1e-5). A KernelBench level-2 style GEMM + epilogue chain.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F


class Model(nn.Module):
    def __init__(self, k: int, n: int):
        super().__init__()
        self.linear = nn.Linear(k, n)
        self.norm = nn.LayerNorm(n, eps=1e-5)
        # non-trivial affine so that it cannot be skipped
        with torch.no_grad():
            self.norm.weight.copy_(1.0 + 0.5 * torch.randn(n))
            self.norm.bias.copy_(0.5 * torch.randn(n))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(F.gelu(self.linear(x), approximate="tanh"))


def get_inputs(m, k, n):
    return [torch.randn(m, k)]


def get_init_inputs(m, k, n):
    return [k, n]


SHAPES = [
    dict(m=8192, k=1024, n=1024),
    dict(m=1000, k=333, n=257),
    dict(m=3, k=5, n=6),
]

META = dict(
    category="fused",
    source="KernelBench level 2 style (Gemm + GELU + LayerNorm), BERT/ViT MLP",
    flops=lambda m, k, n: 2 * m * k * n + 20 * m * n,
    bytes=lambda m, k, n: 4 * (m * k + k * n + 3 * n + m * n),
)
