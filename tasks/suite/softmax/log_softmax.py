"""Log-softmax over a large vocabulary: out = x - logsumexp(x) per row."""

import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, logits: torch.Tensor) -> torch.Tensor:
        return torch.log_softmax(logits, dim=-1)


def get_inputs(n, v):
    return [torch.randn(n, v) * 5.0]


def get_init_inputs(n, v):
    return []


SHAPES = [
    dict(n=1024, v=32000),
    dict(n=77, v=50257),
    dict(n=3, v=10),
]

META = dict(
    category="softmax",
    source="language-model output head (LLaMA vocabulary 32000, GPT-2 50257)",
    flops=lambda n, v: 4 * n * v,
    bytes=lambda n, v: 8 * n * v,
)
