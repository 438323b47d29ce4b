"""A single-layer GRU run over a sequence (PyTorch's gate convention).

For each step t, with gates stacked as (reset, update, new):
  r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)
  z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
  n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
  h = (1 - z) * n + z * h
Returns the hidden states of every step, shape (seq, batch, hidden).
"""

import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self, input_size: int, hidden: int):
        super().__init__()
        self.input_proj = nn.Linear(input_size, 3 * hidden)
        self.hidden_proj = nn.Linear(hidden, 3 * hidden)

    def forward(self, x: torch.Tensor, h0: torch.Tensor) -> torch.Tensor:
        # x: (seq, batch, input_size), h0: (batch, hidden)
        gates_x = self.input_proj(x)  # all steps at once: no dependence on h
        h = h0
        outputs = []
        for t in range(x.shape[0]):
            xr, xz, xn = gates_x[t].chunk(3, dim=-1)
            hr, hz, hn = self.hidden_proj(h).chunk(3, dim=-1)
            r = torch.sigmoid(xr + hr)
            z = torch.sigmoid(xz + hz)
            n = torch.tanh(xn + r * hn)
            h = (1 - z) * n + z * h
            outputs.append(h)
        return torch.stack(outputs)


def get_inputs(seq, batch, input_size, hidden):
    return [torch.randn(seq, batch, input_size), torch.randn(batch, hidden) * 0.5]


def get_init_inputs(seq, batch, input_size, hidden):
    return [input_size, hidden]


SHAPES = [
    dict(seq=512, batch=64, input_size=512, hidden=512),
    dict(seq=100, batch=7, input_size=129, hidden=257),
    dict(seq=5, batch=2, input_size=3, hidden=4),
]

META = dict(
    category="recurrent",
    source="GRU (Cho et al. 2014), cuDNN RNN",
    flops=lambda seq, batch, input_size, hidden: 6 * seq * batch * hidden * (input_size + hidden) + 12 * seq * batch * hidden,
    bytes=lambda seq, batch, input_size, hidden: 4 * (
        seq * batch * input_size + 3 * hidden * (input_size + hidden + 2) + batch * hidden + seq * batch * hidden
    ),
)
