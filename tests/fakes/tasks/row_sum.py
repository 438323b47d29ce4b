"""A tiny task for end-to-end tests of the search: sums over the last axis."""

import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.sum(dim=-1)


def get_inputs(rows: int, cols: int) -> list:
    return [torch.randn(rows, cols)]


def get_init_inputs(rows: int, cols: int) -> list:
    return []


SHAPES = [dict(rows=64, cols=257), dict(rows=3, cols=5)]
META = dict(category="reduction", source="test fixture")
