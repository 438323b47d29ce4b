"""Causal block-sparse attention with a given block mask, in half precision.

The sequence is cut into blocks of `block` tokens. block_mask[b, h, i, j]
says whether query block i attends to key block j; the diagonal blocks are
always kept (the local window every sparse prefill pattern retains), and
the causal mask applies inside them. Masked scores are dropped before the
softmax. This is the attention that MInference and SALE run after choosing
the important blocks; a fast kernel skips the masked-out blocks entirely.
q, k, v: (batch, heads, seq, head_dim); block_mask: (batch, heads, nb, nb)
bool with nb = ceil(seq / block).
"""

import math

import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self, block: int):
        super().__init__()
        self.block = block

    def forward(self, q, k, v, block_mask):
        s = q.shape[2]
        nb = block_mask.shape[-1]
        keep = block_mask | torch.eye(nb, dtype=torch.bool, device=q.device)
        token_keep = keep.repeat_interleave(self.block, dim=-2).repeat_interleave(self.block, dim=-1)[..., :s, :s]
        causal = torch.tril(torch.ones(s, s, dtype=torch.bool, device=q.device))
        allowed = token_keep & causal
        # scale q before the product: keeps half-precision scores far from overflow
        scores = (q / math.sqrt(q.shape[-1])) @ k.transpose(-1, -2)
        scores = scores.masked_fill(~allowed, float("-inf"))
        return torch.softmax(scores.float(), dim=-1).to(q.dtype) @ v


def get_inputs(b, h, s, d, block, density):
    q, k, v = (torch.randn(b, h, s, d).half() for _ in range(3))
    nb = (s + block - 1) // block
    block_mask = torch.rand(b, h, nb, nb) < density
    return [q, k, v, block_mask]


def get_init_inputs(b, h, s, d, block, density):
    return [block]


def _kept_pairs(s, block, density):
    # expected (query, key) pairs computed: kept blocks under the diagonal
    return density * s * s / 2 + s * block / 2


SHAPES = [
    dict(b=1, h=32, s=4096, d=128, block=64, density=0.2),
    dict(b=2, h=3, s=1000, d=64, block=64, density=0.3),
    dict(b=1, h=2, s=10, d=8, block=4, density=0.5),
]

META = dict(
    category="papers",
    source="MInference 1.0 (Jiang et al. 2024) block-sparse prefill; SALE (2025)",
    atol=2e-3,
    rtol=1e-2,
    flops=lambda b, h, s, d, block, density: 4 * b * h * d * _kept_pairs(s, block, density),
    bytes=lambda b, h, s, d, block, density: 8 * b * h * s * d + b * h * ((s + block - 1) // block) ** 2,
)
