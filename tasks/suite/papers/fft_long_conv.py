"""Long convolution of a sequence with a sequence-length filter, via FFT.

Each channel h convolves its input u[b, h, :] causally with its own filter
k[h, :] as long as the sequence, plus a skip term:
y[b, h, t] = sum_{s <= t} k[h, t - s] u[b, h, s] + D[h] u[b, h, t].
The reference zero-pads to 2L and multiplies in the frequency domain
(H3 / Hyena / FlashFFTConv style). u: (batch, channels, L).
"""

import math

import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, u: torch.Tensor, k: torch.Tensor, D: torch.Tensor) -> torch.Tensor:
        length = u.shape[-1]
        n = 2 * length  # zero padding turns the circular convolution into a linear one
        u_f = torch.fft.rfft(u, n=n)
        k_f = torch.fft.rfft(k, n=n)
        y = torch.fft.irfft(u_f * k_f, n=n)[..., :length]
        return y + D[:, None] * u


def get_inputs(b, h, length):
    u = torch.randn(b, h, length)
    t = torch.arange(length).float()
    # decaying random filters, like implicit long-convolution filters
    rates = torch.rand(h, 1) * 0.02 + 0.001
    k = torch.randn(h, length) * torch.exp(-rates * t) * 0.3
    D = torch.randn(h)
    return [u, k, D]


def get_init_inputs(b, h, length):
    return []


def _fft_flops(n):
    return 2.5 * n * math.log2(n)


SHAPES = [
    dict(b=8, h=768, length=4096),
    dict(b=3, h=5, length=1000),
    dict(b=1, h=2, length=8),
]

META = dict(
    category="papers",
    source="Simple Hardware-Efficient Long Convolutions for Sequence Modeling (Fu et al. 2023); FlashFFTConv",
    flops=lambda b, h, length: (2 * b * h + h) * _fft_flops(2 * length) + 8 * b * h * length,
    bytes=lambda b, h, length: 4 * (2 * b * h * length + h * length + h),
)
