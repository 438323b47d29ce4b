"""Per-row cross-entropy of logits against integer class targets."""

import torch
import torch.nn as nn
import torch.nn.functional as F


class Model(nn.Module):
    """y[r] = logsumexp(logits[r]) - logits[r, target[r]] (reduction="none")."""

    def __init__(self):
        super().__init__()

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        # Per-row losses rather than their mean: a mean over thousands of rows is
        # nearly constant (about log(classes) + 0.5) and would let a constant pass.
        return F.cross_entropy(logits, target, reduction="none")


def get_inputs(rows: int, classes: int) -> list:
    return [torch.randn(rows, classes), torch.randint(0, classes, (rows,))]


def get_init_inputs(rows: int, classes: int) -> list:
    return []


SHAPES = [
    dict(rows=4096, classes=32000),  # 500 MiB of logits: LLaMA vocabulary, 4k tokens
    dict(rows=1000, classes=50257),  # GPT-2 vocabulary: odd, unaligned rows
    dict(rows=5, classes=37),  # small, for instant CPU checks
]

META = dict(
    category="loss",
    source="language-model head loss (GPT-2 / LLaMA vocabularies)",
    flops=lambda rows, classes: 4 * rows * classes,
    bytes=lambda rows, classes: 4 * rows * classes + 12 * rows,
)
