"""Gather a contiguous KV cache from a paged cache through a block table.

cache has shape (num_blocks, block_size, heads, head_dim). Sequence b owns
the blocks block_table[b, :] in that order; the output lays them out
contiguously: out[b, j * block_size + t] = cache[block_table[b, j], t].
"""

import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, cache: torch.Tensor, block_table: torch.Tensor) -> torch.Tensor:
        batch, blocks_per_seq = block_table.shape
        _, block_size, heads, head_dim = cache.shape
        gathered = cache[block_table]  # (batch, blocks_per_seq, block_size, heads, head_dim)
        return gathered.reshape(batch, blocks_per_seq * block_size, heads, head_dim)


def get_inputs(num_blocks, block_size, heads, head_dim, batch, blocks_per_seq):
    cache = torch.randn(num_blocks, block_size, heads, head_dim)
    # each sequence owns distinct blocks, scattered over the pool
    order = torch.randperm(num_blocks)[: batch * blocks_per_seq]
    return [cache, order.reshape(batch, blocks_per_seq)]


def get_init_inputs(num_blocks, block_size, heads, head_dim, batch, blocks_per_seq):
    return []


SHAPES = [
    dict(num_blocks=4096, block_size=16, heads=8, head_dim=128, batch=16, blocks_per_seq=200),
    dict(num_blocks=777, block_size=16, heads=3, head_dim=80, batch=5, blocks_per_seq=99),
    dict(num_blocks=9, block_size=2, heads=1, head_dim=3, batch=2, blocks_per_seq=3),
]

META = dict(
    category="gather",
    source="vLLM PagedAttention (Kwon et al. 2023) block tables",
    flops=lambda num_blocks, block_size, heads, head_dim, batch, blocks_per_seq: batch * blocks_per_seq,
    bytes=lambda num_blocks, block_size, heads, head_dim, batch, blocks_per_seq: (
        8 * batch * blocks_per_seq * block_size * heads * head_dim + 8 * batch * blocks_per_seq
    ),
)
