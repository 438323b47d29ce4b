"""Mixed-precision GEMM with packed int4 weights and per-group fp16 scales.

qweight packs 8 unsigned 4-bit values per int32 along k (value j of a word
in bits 4j..4j+3), GPTQ-style: qweight[k // 8, n]. A weight is
w[k, n] = (q[k, n] - 8) * scales[k // group, n]. out = x @ w with fp16
activations x of shape (m, k). MARLIN makes this fast at small batch sizes
by streaming the 4-bit weights once and dequantizing in registers.
"""

import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self, group: int):
        super().__init__()
        self.group = group

    def forward(self, x: torch.Tensor, qweight: torch.Tensor, scales: torch.Tensor) -> torch.Tensor:
        k = qweight.shape[0] * 8
        n = qweight.shape[1]
        shifts = torch.arange(0, 32, 4, device=qweight.device, dtype=qweight.dtype)
        nibbles = (qweight[:, None, :] >> shifts[None, :, None]) & 0xF  # (k // 8, 8, n)
        w = nibbles.reshape(k, n).to(x.dtype) - 8
        w = w * scales.repeat_interleave(self.group, dim=0)
        return x @ w


def get_inputs(m, k, n, group):
    x = torch.randn(m, k).half()
    qweight = torch.randint(-(2**31), 2**31, (k // 8, n), dtype=torch.int32)
    # scales giving dequantized weights of std ~ 1/sqrt(k)
    scales = ((0.5 + torch.rand(k // group, n)) / (4.6 * k**0.5)).half()
    return [x, qweight, scales]


def get_init_inputs(m, k, n, group):
    return [group]


SHAPES = [
    dict(m=16, k=8192, n=8192, group=128),
    dict(m=33, k=4096, n=1000, group=128),
    dict(m=2, k=16, n=3, group=8),
]

META = dict(
    category="papers",
    source="MARLIN: Mixed-Precision Auto-Regressive Parallel Inference on Large Language Models (Frantar et al. 2024)",
    atol=1e-2,
    rtol=1e-2,
    flops=lambda m, k, n, group: 2 * m * k * n,
    bytes=lambda m, k, n, group: 2 * m * k + k * n // 2 + 2 * (k // group) * n + 2 * m * n,
)
