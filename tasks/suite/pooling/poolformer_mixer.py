"""PoolFormer token mixer: avg_pool(x) - x.

3x3 average pooling with stride 1 and padding 1 that does not count the
padded positions (border windows average fewer values), minus the input.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False)
        return pooled - x


def get_inputs(n, c, h, w):
    return [torch.randn(n, c, h, w)]


def get_init_inputs(n, c, h, w):
    return []


SHAPES = [
    dict(n=32, c=64, h=112, w=112),
    dict(n=3, c=7, h=45, w=33),
    dict(n=1, c=2, h=4, w=5),
]

META = dict(
    category="pooling",
    source="MetaFormer Is Actually What You Need for Vision (PoolFormer)",
    flops=lambda n, c, h, w: 10 * n * c * h * w,
    bytes=lambda n, c, h, w: 8 * n * c * h * w,
)
