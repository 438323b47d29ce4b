"""Gated linear attention (GLA), as a step-by-step recurrence.

A (d_k x d_v) state per head is decayed by a data-dependent, per-key-channel
gate and updated with the outer product of the current key and value:
  alpha_t = sigmoid(gate_t) ** (1 / 16)            (GLA's temperature 16)
  S_t = diag(alpha_t) S_{t-1} + k_t^T v_t
  o_t = (q_t / sqrt(d_k)) S_t
q, k, gate: (batch, heads, seq, d_k); v: (batch, heads, seq, d_v).
Fast kernels use the chunked form (intra-chunk matmuls plus a state passed
between chunks) instead of this recurrence.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, q, k, v, gate):
        b, h, seq, dk = q.shape
        alpha = torch.exp(F.logsigmoid(gate) / 16.0)
        q = q * dk**-0.5
        state = torch.zeros(b, h, dk, v.shape[-1], dtype=q.dtype, device=q.device)
        outputs = []
        for t in range(seq):
            state = alpha[:, :, t, :, None] * state + k[:, :, t, :, None] * v[:, :, t, None, :]
            outputs.append((q[:, :, t, :, None] * state).sum(dim=-2))
        return torch.stack(outputs, dim=2)


def get_inputs(b, h, seq, dk, dv):
    q = torch.randn(b, h, seq, dk)
    k = torch.randn(b, h, seq, dk)
    v = torch.randn(b, h, seq, dv)
    gate = torch.randn(b, h, seq, dk) + 2.0
    return [q, k, v, gate]


def get_init_inputs(b, h, seq, dk, dv):
    return []


SHAPES = [
    dict(b=4, h=4, seq=2048, dk=128, dv=128),
    dict(b=3, h=2, seq=333, dk=64, dv=96),
    dict(b=1, h=2, seq=5, dk=4, dv=3),
]

META = dict(
    category="papers",
    source="Gated Linear Attention Transformers with Hardware-Efficient Training (Yang et al. 2024); ViG",
    flops=lambda b, h, seq, dk, dv: b * h * seq * (5 * dk * dv + 4 * dk),
    bytes=lambda b, h, seq, dk, dv: 4 * b * h * seq * (3 * dk + 2 * dv),
)
