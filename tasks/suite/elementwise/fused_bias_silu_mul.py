"""SwiGLU gate with bias: split a fused up/gate projection, add bias, silu(a) * g."""

import torch
import torch.nn as nn
import torch.nn.functional as F


class Model(nn.Module):
    """y = silu(x[:, :d] + b[:d]) * (x[:, d:] + b[d:]), x of shape (rows, 2 * d)."""

    def __init__(self, d: int):
        super().__init__()
        self.d = d
        self.bias = nn.Parameter(0.5 * torch.randn(2 * d))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x + self.bias
        a, g = h.split(self.d, dim=-1)
        return F.silu(a) * g


def get_inputs(rows: int, d: int) -> list:
    return [torch.randn(rows, 2 * d)]


def get_init_inputs(rows: int, d: int) -> list:
    return [d]


SHAPES = [
    dict(rows=4096, d=8192),  # 256 MiB in, 128 MiB out: a LLaMA-style FFN gate for 4096 tokens
    dict(rows=777, d=1001),  # odd d: the gate half starts at an unaligned offset
    dict(rows=4, d=33),  # small, for instant CPU checks
]

META = dict(
    category="elementwise",
    source="SwiGLU FFN (Shazeer 2020, 'GLU Variants Improve Transformer'), LLaMA / PaLM",
    flops=lambda rows, d: 8 * rows * d,
    bytes=lambda rows, d: 12 * rows * d + 8 * d,
)
