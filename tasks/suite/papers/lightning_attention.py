"""Causal linear attention with per-head decay, computed block by block.

The result is o_t = sum_{s <= t} lambda^(t - s) (q_t . k_s) v_s with
lambda = sigmoid(decay_logit[head]) (TransNormerLLM's decayed linear
attention, no softmax). Lightning Attention computes it in blocks of
BLOCK tokens: inside a block with a masked, decayed q k^T product (intra),
across blocks through a running d x e state kv (inter), so the cost is
linear in the sequence length. The reference follows that split.
q, k: (batch, heads, seq, d); v: (batch, heads, seq, e).
"""

import torch
import torch.nn as nn
import torch.nn.functional as F

BLOCK = 64


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, q, k, v, decay_logit):
        b, h, n, _ = q.shape
        log_lam = F.logsigmoid(decay_logit)[:, None, None]  # (h, 1, 1): log lambda per head
        kv = torch.zeros(b, h, q.shape[-1], v.shape[-1], dtype=q.dtype, device=q.device)
        out = torch.empty_like(v)
        for start in range(0, n, BLOCK):
            qi, ki, vi = (t[:, :, start : start + BLOCK] for t in (q, k, v))
            m = qi.shape[2]
            idx = torch.arange(m, device=q.device, dtype=q.dtype)
            lag = idx[:, None] - idx[None, :]  # i - j inside the block
            decay = torch.where(lag >= 0, torch.exp(lag * log_lam), torch.zeros_like(lag))  # (h, m, m)
            intra = ((qi @ ki.transpose(-1, -2)) * decay) @ vi
            inter = (qi * torch.exp((idx[:, None] + 1) * log_lam)) @ kv  # lambda^(i+1) q_i kv
            out[:, :, start : start + m] = intra + inter
            k_decayed = ki * torch.exp((m - 1 - idx[:, None]) * log_lam)  # lambda^(m-1-j) k_j
            kv = torch.exp(m * log_lam) * kv + k_decayed.transpose(-1, -2) @ vi
        return out


def get_inputs(b, h, n, d, e):
    q = torch.randn(b, h, n, d) / d**0.5
    k = torch.randn(b, h, n, d)
    v = torch.randn(b, h, n, e)
    decay_logit = 3.0 + 4.0 * torch.rand(h)  # lambda in about (0.95, 0.999)
    return [q, k, v, decay_logit]


def get_init_inputs(b, h, n, d, e):
    return []


SHAPES = [
    dict(b=4, h=16, n=4096, d=64, e=64),
    dict(b=3, h=5, n=1000, d=64, e=96),
    dict(b=1, h=2, n=7, d=4, e=3),
]

META = dict(
    category="papers",
    source="Lightning Attention-2 (Qin et al. 2024); TransNormerLLM lightning attention",
    flops=lambda b, h, n, d, e: b * h * n * (2 * BLOCK * (d + e) + 4 * d * e),
    bytes=lambda b, h, n, d, e: 4 * (b * h * n * (2 * d + 2 * e) + h),
)
