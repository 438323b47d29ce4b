"""Non-causal multi-head attention in half precision (FlashAttention's problem).

out = softmax(q k^T / sqrt(d)) v for q, k, v of shape (batch, heads, seq,
head_dim), as in encoders and vision transformers. The reference
materializes the full score matrix; a fused kernel never writes it.
"""

import math

import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        # scale q before the product: keeps half-precision scores far from overflow
        scores = (q / math.sqrt(q.shape[-1])) @ k.transpose(-1, -2)
        return torch.softmax(scores.float(), dim=-1).to(q.dtype) @ v


def get_inputs(b, h, s, d):
    return [torch.randn(b, h, s, d).half() for _ in range(3)]


def get_init_inputs(b, h, s, d):
    return []


SHAPES = [
    dict(b=4, h=16, s=2048, d=128),
    dict(b=3, h=12, s=577, d=64),
    dict(b=1, h=2, s=9, d=16),
]

META = dict(
    category="papers",
    source="FlashAttention (Dao et al. 2022); FlashAttention-2 (Dao 2023)",
    atol=2e-3,
    rtol=1e-2,
    flops=lambda b, h, s, d: 4 * b * h * s * s * d,
    bytes=lambda b, h, s, d: 8 * b * h * s * d,
)
