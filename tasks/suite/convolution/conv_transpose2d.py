"""Transposed 2-D convolution: 4x4 kernel, stride 2, padding 1, with bias.

Doubles the spatial resolution, as in the upsampling path of DCGAN
generators and UNet decoders. Input (n, cin, h, w), output (n, cout, 2h, 2w).
"""

import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.deconv = nn.ConvTranspose2d(cin, cout, kernel_size=4, stride=2, padding=1, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.deconv(x)


def get_inputs(n, cin, cout, h, w):
    return [torch.randn(n, cin, h, w)]


def get_init_inputs(n, cin, cout, h, w):
    return [cin, cout]


SHAPES = [
    dict(n=16, cin=128, cout=64, h=64, w=64),
    dict(n=3, cin=7, cout=5, h=33, w=21),
    dict(n=1, cin=2, cout=3, h=3, w=4),
]

META = dict(
    category="convolution",
    source="DCGAN / UNet decoder upsampling (KernelBench level 1 transposed conv)",
    # each input pixel scatters a 4x4 patch into every output channel
    flops=lambda n, cin, cout, h, w: 2 * n * cin * h * w * cout * 16,
    bytes=lambda n, cin, cout, h, w: 4 * (n * cin * h * w + cin * cout * 16 + cout + n * cout * 4 * h * w),
)
