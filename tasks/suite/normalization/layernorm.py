"""LayerNorm over the last dimension with learned scale and shift."""

import torch
import torch.nn as nn
import torch.nn.functional as F


class Model(nn.Module):
    """y = (x - mean) / sqrt(var + eps) * weight + bias, statistics per row (biased variance)."""

    def __init__(self, d: int, eps: float = 1e-5):
        super().__init__()
        self.d = d
        self.eps = eps
        # Random rather than ones/zeros so that a kernel ignoring weight or bias fails.
        self.weight = nn.Parameter(1.0 + 0.1 * torch.randn(d))
        self.bias = nn.Parameter(0.1 * torch.randn(d))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.layer_norm(x, (self.d,), self.weight, self.bias, self.eps)


def get_inputs(rows: int, d: int) -> list:
    return [torch.randn(rows, d)]


def get_init_inputs(rows: int, d: int) -> list:
    return [d]


SHAPES = [
    dict(rows=16384, d=4096),  # 256 MiB in + 256 MiB out: a transformer block's pre-norm
    dict(rows=1000, d=1023),  # odd d: unaligned rows, tails
    dict(rows=3, d=33),  # small, for instant CPU checks
]

META = dict(
    category="normalization",
    source="LayerNorm (Ba et al. 2016), BERT / GPT-2 / ViT",
    flops=lambda rows, d: 8 * rows * d,
    bytes=lambda rows, d: 8 * rows * d + 8 * d,
)
