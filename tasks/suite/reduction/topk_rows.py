"""The k largest logits of every row, in descending order.

The selection step of top-k sampling in LLM decoding: x is (rows, vocab)
and the output is (rows, k) values, sorted from largest to smallest.
"""

import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self, k: int):
        super().__init__()
        self.k = k

    def forward(self, logits: torch.Tensor) -> torch.Tensor:
        return torch.topk(logits, self.k, dim=-1, largest=True, sorted=True).values


def get_inputs(rows, vocab, k):
    return [torch.randn(rows, vocab) * 3.0]


def get_init_inputs(rows, vocab, k):
    return [k]


SHAPES = [
    dict(rows=512, vocab=128256, k=50),
    dict(rows=33, vocab=50257, k=40),
    dict(rows=3, vocab=17, k=4),
]

META = dict(
    category="reduction",
    source="top-k sampling in LLM decoding (LLaMA-3 vocabulary 128256)",
    flops=lambda rows, vocab, k: rows * vocab,
    bytes=lambda rows, vocab, k: 4 * rows * (vocab + k),
)
