"""EmbeddingBag (mean): average the embedding rows selected by each bag of indices."""

import torch
import torch.nn as nn
import torch.nn.functional as F


class Model(nn.Module):
    """y[b] = mean_j weight[indices[b, j]], indices of shape (bags, bag_size), int64."""

    def __init__(self, num_embeddings: int, dim: int):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(num_embeddings, dim))

    def forward(self, indices: torch.Tensor) -> torch.Tensor:
        return F.embedding_bag(indices, self.weight, mode="mean")


def get_inputs(num_embeddings: int, dim: int, bags: int, bag_size: int) -> list:
    return [torch.randint(0, num_embeddings, (bags, bag_size))]


def get_init_inputs(num_embeddings: int, dim: int, bags: int, bag_size: int) -> list:
    return [num_embeddings, dim]


SHAPES = [
    # 100k x 256 table (100 MiB), 4096 bags of 64 lookups: 256 MiB of random row reads
    dict(num_embeddings=100_000, dim=256, bags=4096, bag_size=64),
    dict(num_embeddings=5003, dim=99, bags=777, bag_size=13),  # odd dim: unaligned rows
    dict(num_embeddings=50, dim=9, bags=4, bag_size=3),  # small, for instant CPU checks
]

META = dict(
    category="gather",
    source="sparse feature pooling in recommendation models (DLRM, Naumov et al. 2019)",
    flops=lambda num_embeddings, dim, bags, bag_size: bags * bag_size * dim,
    bytes=lambda num_embeddings, dim, bags, bag_size: 4 * bags * bag_size * dim
    + 8 * bags * bag_size
    + 4 * bags * dim,
)
