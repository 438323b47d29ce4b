"""GELU activation (exact, erf form) applied elementwise to a 2-D activation."""

import torch
import torch.nn as nn
import torch.nn.functional as F


class Model(nn.Module):
    """y = x * Phi(x), Phi the standard normal CDF (``approximate="none"``)."""

    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.gelu(x)


def get_inputs(rows: int, cols: int) -> list:
    return [torch.randn(rows, cols)]


def get_init_inputs(rows: int, cols: int) -> list:
    return []


SHAPES = [
    dict(rows=16384, cols=4096),  # 256 MiB in + 256 MiB out: a BERT-large FFN activation batch
    dict(rows=1023, cols=4097),  # odd: n % 4 != 0, tails everywhere
    dict(rows=3, cols=37),  # small, for instant CPU checks
]

META = dict(
    category="elementwise",
    source="GELU (Hendrycks & Gimpel 2016), the BERT / GPT-2 FFN activation",
    flops=lambda rows, cols: 10 * rows * cols,
    bytes=lambda rows, cols: 8 * rows * cols,
)
