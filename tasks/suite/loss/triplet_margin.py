"""Triplet margin loss with Euclidean distances, averaged over the batch.

loss = mean(relu(||a - p|| - ||a - n|| + margin)), a scalar.
"""

import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self, margin: float):
        super().__init__()
        self.margin = margin

    def forward(self, anchor: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor) -> torch.Tensor:
        d_pos = torch.sqrt(((anchor - positive) ** 2).sum(dim=-1))
        d_neg = torch.sqrt(((anchor - negative) ** 2).sum(dim=-1))
        return torch.relu(d_pos - d_neg + self.margin).mean()


def get_inputs(n, d):
    anchor = torch.randn(n, d)
    # equally hard positives and negatives: about half of the triplets violate the margin
    positive = anchor + torch.randn(n, d)
    negative = anchor + torch.randn(n, d)
    return [anchor, positive, negative]


def get_init_inputs(n, d):
    return [1.0]


SHAPES = [
    dict(n=65536, d=256),
    dict(n=1001, d=129),
    dict(n=5, d=3),
]

META = dict(
    category="loss",
    source="FaceNet (Schroff et al. 2015) triplet loss",
    flops=lambda n, d: 6 * n * d + 5 * n,
    bytes=lambda n, d: 12 * n * d + 4,
)
