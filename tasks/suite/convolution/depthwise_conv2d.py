"""Depthwise 7x7 convolution (groups = channels), padding 3, with bias.

The token mixer of ConvNeXt blocks: each channel is convolved with its own
7x7 filter.
"""

import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.conv = nn.Conv2d(c, c, kernel_size=7, padding=3, groups=c, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


def get_inputs(n, c, h, w):
    return [torch.randn(n, c, h, w)]


def get_init_inputs(n, c, h, w):
    return [c]


SHAPES = [
    dict(n=64, c=96, h=56, w=56),
    dict(n=3, c=35, h=29, w=61),
    dict(n=1, c=2, h=5, w=9),
]

META = dict(
    category="convolution",
    source="ConvNeXt (Liu et al. 2022) depthwise 7x7",
    flops=lambda n, c, h, w: 2 * 49 * n * c * h * w,
    bytes=lambda n, c, h, w: 4 * (2 * n * c * h * w + 50 * c),
)
