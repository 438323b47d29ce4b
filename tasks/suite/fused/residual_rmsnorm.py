"""Residual add followed by RMSNorm: y = rmsnorm(x + residual) * weight.

Returns both the new residual stream (x + residual) and the normalized
output, as the fused add-norm of LLM inference engines does (eps=1e-6).
"""

import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor, residual: torch.Tensor, weight: torch.Tensor):
        h = x + residual
        rms = torch.rsqrt(h.pow(2).mean(dim=-1, keepdim=True) + 1e-6)
        return h, h * rms * weight


def get_inputs(n, d):
    return [torch.randn(n, d), torch.randn(n, d) * 3.0, 1.0 + 0.3 * torch.randn(d)]


def get_init_inputs(n, d):
    return []


SHAPES = [
    dict(n=8192, d=4096),
    dict(n=1000, d=5120 + 17),
    dict(n=3, d=8),
]

META = dict(
    category="fused",
    source="vLLM fused_add_rms_norm (LLaMA decoder layer)",
    flops=lambda n, d: 5 * n * d,
    bytes=lambda n, d: 4 * (4 * n * d + d),
)
