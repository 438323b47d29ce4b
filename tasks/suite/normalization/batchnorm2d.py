"""Batch normalization of an NCHW tensor with batch statistics (training mode).

Each channel is normalized with the mean and biased variance over the
batch and spatial positions (eps=1e-5), then scaled and shifted. No running
statistics are kept: the output depends only on the inputs.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        return F.batch_norm(x, None, None, weight, bias, training=True, eps=1e-5)


def get_inputs(n, c, h, w):
    return [torch.randn(n, c, h, w) * 2.0 + 1.0, torch.randn(c), torch.randn(c)]


def get_init_inputs(n, c, h, w):
    return []


SHAPES = [
    dict(n=64, c=128, h=56, w=56),
    dict(n=5, c=96, h=33, w=17),
    dict(n=2, c=3, h=3, w=4),
]

META = dict(
    category="normalization",
    source="Batch Normalization (Ioffe & Szegedy 2015); ResNet",
    flops=lambda n, c, h, w: 8 * n * c * h * w,
    bytes=lambda n, c, h, w: 4 * (2 * n * c * h * w + 2 * c),
)
