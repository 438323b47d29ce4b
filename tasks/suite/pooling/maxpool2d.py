"""2-D max pooling, 3x3 window, stride 2, padding 1 (ResNet stem)."""

import torch
import torch.nn as nn
import torch.nn.functional as F


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.max_pool2d(x, kernel_size=3, stride=2, padding=1)


def get_inputs(n, c, h, w):
    return [torch.randn(n, c, h, w)]


def get_init_inputs(n, c, h, w):
    return []


def _out(size):
    return (size + 2 - 3) // 2 + 1


SHAPES = [
    dict(n=64, c=64, h=112, w=112),
    dict(n=3, c=5, h=37, w=101),
    dict(n=1, c=2, h=5, w=6),
]

META = dict(
    category="pooling",
    source="ResNet stem max pooling",
    flops=lambda n, c, h, w: 9 * n * c * _out(h) * _out(w),
    bytes=lambda n, c, h, w: 4 * n * c * (h * w + _out(h) * _out(w)),
)
