"""A tiny task for end-to-end tests of the search: y = relu(x) * scale."""

import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self, scale: float):
        super().__init__()
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x) * self.scale


def get_inputs(n: int) -> list:
    return [torch.randn(n)]


def get_init_inputs(n: int) -> list:
    return [2.5]


SHAPES = [dict(n=4096), dict(n=1023)]
META = dict(category="elementwise", source="test fixture")
