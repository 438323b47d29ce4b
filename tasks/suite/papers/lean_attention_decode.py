"""Decode-phase attention: one new query per head against a long KV cache.

q has shape (batch, heads, head_dim); the cache k, v has shape (batch,
heads, ctx, head_dim). out = softmax(q k^T / sqrt(d)) v, shape (batch, heads,
head_dim). With few (batch, head) pairs and a long context, a fast kernel
splits the context across thread blocks and merges partial softmax results
(stream-K / split-K, as Lean Attention and Flash-Decoding do).
"""

import math

import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        # scale q before the product: keeps half-precision scores far from overflow
        scores = torch.einsum("bhd,bhsd->bhs", q / math.sqrt(q.shape[-1]), k)
        probs = torch.softmax(scores.float(), dim=-1).to(q.dtype)
        return torch.einsum("bhs,bhsd->bhd", probs, v)


def get_inputs(b, h, ctx, d):
    q = (torch.randn(b, h, d) * 2.0).half()
    k = torch.randn(b, h, ctx, d).half()
    v = torch.randn(b, h, ctx, d).half()
    return [q, k, v]


def get_init_inputs(b, h, ctx, d):
    return []


SHAPES = [
    dict(b=8, h=32, ctx=8192, d=128),
    dict(b=3, h=8, ctx=10007, d=64),
    dict(b=1, h=2, ctx=9, d=8),
]

META = dict(
    category="papers",
    source="Lean Attention: Hardware-Aware Scalable Attention Mechanism for the Decode-Phase of Transformers",
    atol=1e-3,
    rtol=1e-2,
    flops=lambda b, h, ctx, d: 4 * b * h * ctx * d,
    bytes=lambda b, h, ctx, d: 2 * (2 * b * h * ctx * d + 2 * b * h * d),
)
