"""Multi-head LSTM recurrence over a sequence (FlashRNN's problem).

The input projections Wx are precomputed for all steps (one big GEMM
outside the recurrence). The hidden state is split into `heads` heads, and
each head has its own recurrent matrix (block-diagonal recurrence). At
step t, with gates (input i, forget f, cell z, output o):
  g = Wx[:, t] + h R + bias           (per head: h (D) @ R[gate, head] (D x D))
  c = sigmoid(f) * c + sigmoid(i) * tanh(z)
  h = sigmoid(o) * tanh(c)
starting from h = c = 0. Returns h of every step: (batch, seq, heads, D).
"""

import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self, heads: int, head_dim: int):
        super().__init__()
        self.R = nn.Parameter(torch.randn(4, heads, head_dim, head_dim) / head_dim**0.5)
        self.bias = nn.Parameter(torch.randn(4, heads, head_dim) * 0.1)

    def forward(self, wx: torch.Tensor) -> torch.Tensor:
        # wx: (batch, seq, 4, heads, D)
        batch, seq, _, heads, dim = wx.shape
        h = torch.zeros(batch, heads, dim, dtype=wx.dtype, device=wx.device)
        c = torch.zeros_like(h)
        outputs = []
        for t in range(seq):
            g = wx[:, t] + torch.einsum("bnd,gnde->bgne", h, self.R) + self.bias
            i, f, z, o = g.unbind(dim=1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(z)
            h = torch.sigmoid(o) * torch.tanh(c)
            outputs.append(h)
        return torch.stack(outputs, dim=1)


def get_inputs(batch, seq, heads, head_dim):
    return [torch.randn(batch, seq, 4, heads, head_dim)]


def get_init_inputs(batch, seq, heads, head_dim):
    return [heads, head_dim]


SHAPES = [
    dict(batch=16, seq=1024, heads=4, head_dim=128),
    dict(batch=3, seq=333, heads=2, head_dim=72),
    dict(batch=2, seq=5, heads=2, head_dim=4),
]

META = dict(
    category="papers",
    source="FlashRNN: Optimizing Traditional RNNs on Modern Hardware (Poeppel et al. 2024)",
    flops=lambda batch, seq, heads, head_dim: batch * seq * heads * (8 * head_dim * head_dim + 30 * head_dim),
    bytes=lambda batch, seq, heads, head_dim: 4 * (
        5 * batch * seq * heads * head_dim + 4 * heads * head_dim * (head_dim + 1)
    ),
)
