"""2-D neighborhood attention with relative positional bias (NATTEN).

Tokens lie on an H x W grid. Each query (y, x) attends to the kernel x kernel
keys around it; along each axis the window is centred and shifted inward at
the borders (start = clamp(p - kernel // 2, 0, size - kernel)). A learned
bias rpb[head, dy + kernel - 1, dx + kernel - 1] for the key's offset
(dy, dx) is added before the softmax over the kernel * kernel keys.
q, k, v: (batch, heads, H, W, head_dim); rpb: (heads, 2k - 1, 2k - 1).
"""

import math

import torch
import torch.nn as nn


def neighborhood(length: int, kernel: int, device) -> torch.Tensor:
    """(length, kernel) key indices of each position's window along one axis."""
    pos = torch.arange(length, device=device)
    start = (pos - kernel // 2).clamp(0, length - kernel)
    return start[:, None] + torch.arange(kernel, device=device)[None, :]


class Model(nn.Module):
    def __init__(self, kernel: int):
        super().__init__()
        self.kernel = kernel

    def forward(self, q, k, v, rpb):
        b, h, height, width, d = q.shape
        kk = self.kernel
        iy = neighborhood(height, kk, q.device)  # (H, K)
        ix = neighborhood(width, kk, q.device)  # (W, K)
        ry = iy - torch.arange(height, device=q.device)[:, None] + kk - 1
        rx = ix - torch.arange(width, device=q.device)[:, None] + kk - 1
        rows = iy[:, None, :, None]  # broadcast to (H, W, K, K)
        cols = ix[None, :, None, :]
        k_win = k[:, :, rows, cols]  # (b, h, H, W, K, K, d)
        v_win = v[:, :, rows, cols]
        scores = (q[:, :, :, :, None, None, :] * k_win).sum(-1) / math.sqrt(d)
        scores = scores + rpb[:, ry[:, None, :, None], rx[None, :, None, :]]  # (h, H, W, K, K)
        attn = torch.softmax(scores.reshape(b, h, height, width, kk * kk), dim=-1)
        return (attn[..., None] * v_win.reshape(b, h, height, width, kk * kk, d)).sum(-2)


def get_inputs(b, h, height, width, d, kernel):
    q, k, v = (torch.randn(b, h, height, width, d) for _ in range(3))
    rpb = torch.randn(h, 2 * kernel - 1, 2 * kernel - 1) * 0.5
    return [q, k, v, rpb]


def get_init_inputs(b, h, height, width, d, kernel):
    return [kernel]


SHAPES = [
    dict(b=8, h=4, height=64, width=64, d=32, kernel=7),
    dict(b=2, h=3, height=29, width=45, d=16, kernel=5),
    dict(b=1, h=1, height=5, width=6, d=4, kernel=3),
]

META = dict(
    category="papers",
    source="Faster Neighborhood Attention (Hassani et al. 2024), NATTEN 2-D",
    flops=lambda b, h, height, width, d, kernel: (4 * d + 5) * b * h * height * width * kernel * kernel,
    bytes=lambda b, h, height, width, d, kernel: 4 * (4 * b * h * height * width * d + h * (2 * kernel - 1) ** 2),
)
