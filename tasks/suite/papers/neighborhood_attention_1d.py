"""1-D neighborhood attention with relative positional bias (NATTEN).

Each query i attends to exactly `kernel` keys: the window of that size
centred on i, shifted inward at the sequence borders so it stays inside
(start = clamp(i - kernel // 2, 0, seq - kernel)). A learned bias
rpb[head, (j - i) + kernel - 1] is added to each score before the softmax.
q, k, v: (batch, heads, seq, head_dim); rpb: (heads, 2 * kernel - 1).
"""

import math

import torch
import torch.nn as nn


def neighborhood(length: int, kernel: int, device) -> torch.Tensor:
    """(length, kernel) key indices of each query's window."""
    pos = torch.arange(length, device=device)
    start = (pos - kernel // 2).clamp(0, length - kernel)
    return start[:, None] + torch.arange(kernel, device=device)[None, :]


class Model(nn.Module):
    def __init__(self, kernel: int):
        super().__init__()
        self.kernel = kernel

    def forward(self, q, k, v, rpb):
        length = q.shape[2]
        idx = neighborhood(length, self.kernel, q.device)  # (L, K)
        rel = idx - torch.arange(length, device=q.device)[:, None] + self.kernel - 1
        k_win = k[:, :, idx]  # (b, h, L, K, d)
        v_win = v[:, :, idx]
        scores = (q[:, :, :, None, :] * k_win).sum(-1) / math.sqrt(q.shape[-1])
        scores = scores + rpb[:, rel]  # bias (h, L, K) broadcast over batch
        attn = torch.softmax(scores, dim=-1)
        return (attn[..., None] * v_win).sum(-2)


def get_inputs(b, h, length, d, kernel):
    q, k, v = (torch.randn(b, h, length, d) for _ in range(3))
    rpb = torch.randn(h, 2 * kernel - 1) * 0.5
    return [q, k, v, rpb]


def get_init_inputs(b, h, length, d, kernel):
    return [kernel]


SHAPES = [
    dict(b=8, h=8, length=4096, d=64, kernel=13),
    dict(b=3, h=4, length=1001, d=32, kernel=7),
    dict(b=1, h=2, length=9, d=4, kernel=5),
]

META = dict(
    category="papers",
    source="Faster Neighborhood Attention (Hassani et al. 2024), NATTEN 1-D",
    flops=lambda b, h, length, d, kernel: 4 * b * h * length * kernel * d + 5 * b * h * length * kernel,
    bytes=lambda b, h, length, d, kernel: 4 * (4 * b * h * length * d + h * (2 * kernel - 1)),
)
