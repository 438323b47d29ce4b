"""Weight-only int8 GEMM (W8A16): fp16 activations times int8 weights.

Each output channel n has its own fp16 scale; the weight is dequantized as
w[n, k] * scale[n] and multiplied with the activations:
out = x @ (w * scale[:, None])^T, in half precision.
"""

import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor, w_q: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
        # x: (m, k) fp16, w_q: (n, k) int8, scale: (n,) fp16
        w = w_q.to(x.dtype) * scale[:, None]
        return x @ w.t()


def get_inputs(m, k, n):
    x = torch.randn(m, k).half()
    w_q = torch.randint(-127, 128, (n, k), dtype=torch.int8)
    # per-channel scales that give dequantized weights of std ~ 1/sqrt(k)
    scale = ((0.5 + torch.rand(n)) / (73.0 * k**0.5)).half()
    return [x, w_q, scale]


def get_init_inputs(m, k, n):
    return []


SHAPES = [
    dict(m=4096, k=4096, n=4096),
    dict(m=77, k=1000, n=333),
    dict(m=3, k=8, n=5),
]

META = dict(
    category="quantized",
    source="LLM.int8 / TensorRT-LLM weight-only int8 GEMM",
    atol=2e-2,
    rtol=2e-2,
    flops=lambda m, k, n: 2 * m * k * n,
    bytes=lambda m, k, n: 2 * m * k + n * k + 2 * n + 2 * m * n,
)
