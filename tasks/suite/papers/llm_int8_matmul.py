"""LLM.int8() mixed-precision matmul: int8 GEMM plus fp16 outlier columns.

The activations are already decomposed: the few outlier feature columns
stay in fp16 (x_out against the matching weight columns w_out), the rest is
quantized row-wise (x_q, scale sx per row) and the weight output-channel-wise
(w_q, scale sw per row of w). The result is
out = (x_q @ w_q^T) * sx[:, None] * sw[None, :] + x_out @ w_out^T, in fp16.
A fast kernel runs the int8 part on int8 tensor cores with int32
accumulation and fuses the dequantization and the outlier GEMM.
"""

import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x_q, sx, w_q, sw, x_out, w_out):
        # integer products summed exactly enough in float32 for fp16 outputs
        acc = x_q.to(torch.float32) @ w_q.to(torch.float32).t()
        dequant = acc * sx.to(torch.float32)[:, None] * sw.to(torch.float32)[None, :]
        outliers = x_out.to(torch.float32) @ w_out.to(torch.float32).t()
        return (dequant + outliers).to(x_out.dtype)


def get_inputs(m, k, n, outliers):
    x_q = torch.randint(-127, 128, (m, k), dtype=torch.int8)
    sx = ((0.5 + torch.rand(m)) * 0.02).half()  # absmax / 127 of rows with absmax ~ 2.5
    w_q = torch.randint(-127, 128, (n, k), dtype=torch.int8)
    sw = ((0.5 + torch.rand(n)) / (73.0 * k**0.5)).half()
    x_out = (torch.randn(m, outliers) * 6.0).half()  # outlier features have large magnitude
    w_out = (torch.randn(n, outliers) / k**0.5).half()
    return [x_q, sx, w_q, sw, x_out, w_out]


def get_init_inputs(m, k, n, outliers):
    return []


SHAPES = [
    dict(m=2048, k=4096, n=4096, outliers=16),
    dict(m=77, k=1000, n=333, outliers=7),
    dict(m=3, k=8, n=5, outliers=2),
]

META = dict(
    category="papers",
    source="LLM.int8(): 8-bit Matrix Multiplication for Transformers at Scale (Dettmers et al. 2022)",
    atol=1e-2,
    rtol=1e-2,
    flops=lambda m, k, n, outliers: 2 * m * n * (k + outliers) + 4 * m * n,
    bytes=lambda m, k, n, outliers: m * k + n * k + 2 * (m + n) + 2 * outliers * (m + n) + 2 * m * n,
)
