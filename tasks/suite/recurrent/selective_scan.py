"""Selective state-space scan of Mamba (S6), run step by step.

For each channel d with state size n, at step t:
  dA = exp(delta[t] * A)              (discretized state matrix, diagonal)
  state = dA * state + delta[t] * B[t] * u[t]
  y[t] = sum_n C[t] * state + D * u[t]
u, delta: (batch, dim, seq); A: (dim, state); B, C: (batch, state, seq); D: (dim,).
delta is passed through softplus first, as in Mamba.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, u, delta, A, B, C, D):
        batch, dim, seq = u.shape
        delta = F.softplus(delta)
        state = torch.zeros(batch, dim, A.shape[1], dtype=u.dtype, device=u.device)
        ys = []
        for t in range(seq):
            dt = delta[:, :, t, None]  # (batch, dim, 1)
            state = torch.exp(dt * A) * state + dt * B[:, None, :, t] * u[:, :, t, None]
            ys.append((state * C[:, None, :, t]).sum(dim=-1) + D * u[:, :, t])
        return torch.stack(ys, dim=-1)


def get_inputs(batch, dim, state, seq):
    u = torch.randn(batch, dim, seq)
    delta = torch.randn(batch, dim, seq) - 1.0
    A = -torch.exp(torch.randn(dim, state) * 0.5)  # negative real parts: a stable scan
    B = torch.randn(batch, state, seq)
    C = torch.randn(batch, state, seq)
    D = torch.randn(dim)
    return [u, delta, A, B, C, D]


def get_init_inputs(batch, dim, state, seq):
    return []


SHAPES = [
    dict(batch=4, dim=1536, state=16, seq=1024),
    dict(batch=3, dim=333, state=16, seq=257),
    dict(batch=1, dim=3, state=4, seq=6),
]

META = dict(
    category="recurrent",
    source="Mamba: Linear-Time Sequence Modeling with Selective State Spaces",
    flops=lambda batch, dim, state, seq: batch * dim * seq * (7 * state + 6),
    bytes=lambda batch, dim, state, seq: 4 * (3 * batch * dim * seq + dim * state + 2 * batch * state * seq + dim),
)
