"""2-D convolution, 3x3 kernel, stride 1, padding 1, with bias (NCHW)."""

import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel_size=3, stride=1, padding=1, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


def get_inputs(n, cin, cout, h, w):
    return [torch.randn(n, cin, h, w)]


def get_init_inputs(n, cin, cout, h, w):
    return [cin, cout]


SHAPES = [
    dict(n=16, cin=64, cout=64, h=128, w=128),
    dict(n=3, cin=3, cout=17, h=67, w=45),
    dict(n=1, cin=2, cout=3, h=5, w=4),
]

META = dict(
    category="convolution",
    source="ResNet / VGG 3x3 convolution",
    flops=lambda n, cin, cout, h, w: 2 * n * cout * h * w * cin * 9,
    bytes=lambda n, cin, cout, h, w: 4 * (n * cin * h * w + cout * cin * 9 + cout + n * cout * h * w),
)
