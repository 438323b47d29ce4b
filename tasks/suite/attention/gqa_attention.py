"""Causal grouped-query attention in half precision.

q has `hq` heads, k and v have `hkv` heads (hq a multiple of hkv); query head
i uses key/value head i // (hq // hkv). out = softmax(q k^T / sqrt(d) + causal
mask) v, shape (batch, hq, seq, d).
"""

import math

import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        group = q.shape[1] // k.shape[1]
        k = k.repeat_interleave(group, dim=1)
        v = v.repeat_interleave(group, dim=1)
        s = q.shape[2]
        # scale q before the product: keeps half-precision scores far from overflow
        scores = (q / math.sqrt(q.shape[-1])) @ k.transpose(-1, -2)
        future = torch.triu(torch.ones(s, s, dtype=torch.bool, device=q.device), diagonal=1)
        scores = scores.masked_fill(future, float("-inf"))
        return torch.softmax(scores.float(), dim=-1).to(q.dtype) @ v


def get_inputs(b, hq, hkv, s, d):
    q = torch.randn(b, hq, s, d).half()
    k = torch.randn(b, hkv, s, d).half()
    v = torch.randn(b, hkv, s, d).half()
    return [q, k, v]


def get_init_inputs(b, hq, hkv, s, d):
    return []


SHAPES = [
    dict(b=4, hq=32, hkv=8, s=2048, d=128),
    dict(b=3, hq=12, hkv=4, s=333, d=64),
    dict(b=1, hq=4, hkv=2, s=6, d=8),
]

META = dict(
    category="attention",
    source="GQA (Ainslie et al. 2023), LLaMA-2/3 attention",
    atol=2e-3,
    rtol=1e-2,
    flops=lambda b, hq, hkv, s, d: 2 * b * hq * s * (s + 1) * d,
    bytes=lambda b, hq, hkv, s, d: 2 * (2 * b * hq * s * d + 2 * b * hkv * s * d),
)
