"""3x3 convolution with bias, ReLU, then GroupNorm with affine.

A KernelBench level-2 style chain: conv -> activation -> normalization.
"""

import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self, cin: int, cout: int, groups: int):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel_size=3, padding=1)
        self.norm = nn.GroupNorm(groups, cout, eps=1e-5)
        with torch.no_grad():
            self.norm.weight.copy_(1.0 + 0.5 * torch.randn(cout))
            self.norm.bias.copy_(0.5 * torch.randn(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(torch.relu(self.conv(x)))


def get_inputs(n, cin, cout, groups, h, w):
    return [torch.randn(n, cin, h, w)]


def get_init_inputs(n, cin, cout, groups, h, w):
    return [cin, cout, groups]


SHAPES = [
    dict(n=16, cin=32, cout=64, groups=8, h=128, w=128),
    dict(n=3, cin=5, cout=24, groups=4, h=45, w=37),
    dict(n=1, cin=2, cout=4, groups=2, h=4, w=5),
]

META = dict(
    category="fused",
    source="KernelBench level 2 style (Conv2d + ReLU + GroupNorm)",
    flops=lambda n, cin, cout, groups, h, w: 2 * n * cout * h * w * cin * 9 + 10 * n * cout * h * w,
    bytes=lambda n, cin, cout, groups, h, w: 4 * (n * cin * h * w + cout * cin * 9 + 3 * cout + n * cout * h * w),
)
