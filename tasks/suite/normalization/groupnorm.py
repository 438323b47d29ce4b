"""Group normalization of an NCHW activation with a per-channel affine.

Channels are split into `groups` groups; each (sample, group) is normalized
over its channels and spatial positions (biased variance, eps=1e-5), then
scaled and shifted per channel.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F


class Model(nn.Module):
    def __init__(self, groups: int):
        super().__init__()
        self.groups = groups

    def forward(self, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        return F.group_norm(x, self.groups, weight, bias, eps=1e-5)


def get_inputs(n, c, h, w, groups):
    return [torch.randn(n, c, h, w) * 2.0 + 0.5, torch.randn(c), torch.randn(c)]


def get_init_inputs(n, c, h, w, groups):
    return [groups]


SHAPES = [
    dict(n=32, c=128, h=64, w=64, groups=32),
    dict(n=5, c=96, h=33, w=17, groups=6),
    dict(n=2, c=4, h=3, w=5, groups=2),
]

META = dict(
    category="normalization",
    source="Group Normalization (Wu & He 2018); Stable Diffusion UNet",
    flops=lambda n, c, h, w, groups: 8 * n * c * h * w,
    bytes=lambda n, c, h, w, groups: 4 * (2 * n * c * h * w + 2 * c),
)
