"""RMSNorm over the last dimension with a learned scale."""

import torch
import torch.nn as nn


class Model(nn.Module):
    """y = x / sqrt(mean(x^2) + eps) * weight, per row."""

    def __init__(self, d: int, eps: float = 1e-6):
        super().__init__()
        self.eps = eps
        # Random rather than ones so that a kernel ignoring the weight fails.
        self.weight = nn.Parameter(1.0 + 0.1 * torch.randn(d))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(dim=-1, keepdim=True) + self.eps) * self.weight


def get_inputs(rows: int, d: int) -> list:
    return [torch.randn(rows, d)]


def get_init_inputs(rows: int, d: int) -> list:
    return [d]


SHAPES = [
    dict(rows=8192, d=4096),  # 128 MiB in + 128 MiB out: LLaMA-7B hidden size, 8k tokens
    dict(rows=999, d=2047),  # odd d: unaligned rows, tails
    dict(rows=3, d=33),  # small, for instant CPU checks
]

META = dict(
    category="normalization",
    source="RMSNorm (Zhang & Sennrich 2019), LLaMA / Mistral / T5",
    flops=lambda rows, d: 4 * rows * d,
    bytes=lambda rows, d: 8 * rows * d + 4 * d,
)
