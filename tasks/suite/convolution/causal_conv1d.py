"""Causal depthwise 1-D convolution over a sequence, followed by SiLU.

x has shape (batch, dim, seq). Each channel has its own short filter of
width `width`; output position t sees inputs t-width+1 .. t (left zero
padding), as in the short convolution in front of Mamba's selective scan.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        # weight: (dim, width), bias: (dim,)
        dim, width = weight.shape
        seq = x.shape[-1]
        y = F.conv1d(x, weight[:, None, :], bias, padding=width - 1, groups=dim)
        return F.silu(y[..., :seq])


def get_inputs(b, d, l, width):
    return [torch.randn(b, d, l), torch.randn(d, width) * 0.5, torch.randn(d)]


def get_init_inputs(b, d, l, width):
    return []


SHAPES = [
    dict(b=8, d=2048, l=2048, width=4),
    dict(b=3, d=1000, l=777, width=4),
    dict(b=1, d=3, l=6, width=3),
]

META = dict(
    category="convolution",
    source="Mamba (Gu & Dao 2023) causal_conv1d",
    flops=lambda b, d, l, width: b * d * l * (2 * width + 5),
    bytes=lambda b, d, l, width: 4 * (2 * b * d * l + d * (width + 1)),
)
