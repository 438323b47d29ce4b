"""Dequantize 4-bit NormalFloat (NF4) weights, as QLoRA stores them.

Two 4-bit codes are packed per byte (high nibble first). Each code indexes
the 16-entry NF4 codebook; each block of `block` consecutive weights has one
absmax scale: w[i] = NF4[code[i]] * absmax[i // block]. The output has shape
(n, k) in float32.
"""

import torch
import torch.nn as nn

NF4 = [
    -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453,
    -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
    0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
    0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0,
]


class Model(nn.Module):
    def __init__(self, n: int, k: int, block: int):
        super().__init__()
        self.n, self.k, self.block = n, k, block
        self.register_buffer("codebook", torch.tensor(NF4, dtype=torch.float32))

    def forward(self, packed: torch.Tensor, absmax: torch.Tensor) -> torch.Tensor:
        # packed: (n * k // 2,) uint8; absmax: (n * k // block,) float32
        high = (packed >> 4).long()
        low = (packed & 0xF).long()
        codes = torch.stack([high, low], dim=1).reshape(-1)
        values = self.codebook.to(absmax.dtype)[codes]
        scales = absmax.repeat_interleave(self.block)
        return (values * scales).reshape(self.n, self.k)


def get_inputs(n, k, block):
    packed = torch.randint(0, 256, (n * k // 2,), dtype=torch.uint8)
    absmax = torch.rand(n * k // block) * 0.1 + 0.01
    return [packed, absmax]


def get_init_inputs(n, k, block):
    return [n, k, block]


SHAPES = [
    dict(n=8192, k=8192, block=64),
    dict(n=1001, k=4096, block=64),
    dict(n=3, k=128, block=64),
]

META = dict(
    category="quantized",
    source="QLoRA: Efficient Finetuning of Quantized LLMs (NF4)",
    flops=lambda n, k, block: n * k,
    bytes=lambda n, k, block: n * k // 2 + 4 * (n * k // block) + 4 * n * k,
)
