"""Logarithm of the modified Bessel function of the first kind, log I_v(x).

For large orders I_v(x) overflows any floating-point type (I_100(500) is
about 1e214), so the logarithm is computed directly, from the uniform
asymptotic (Debye) expansion in z = x / v (DLMF 10.41.3):
  log I_v(v z) = v eta - log(2 pi v) / 2 - log(1 + z^2) / 4
                 + log(1 + u1(t) / v + u2(t) / v^2 + u3(t) / v^3 + u4(t) / v^4)
with t = 1 / sqrt(1 + z^2) and eta = sqrt(1 + z^2) + log(z / (1 + sqrt(1 + z^2))).
Accurate to about 1e-7 relative for v >= 10, the regime of this task
(von Mises-Fisher normalizers in high dimension). Elementwise over the
integer orders v (int64) and the arguments x (float32).
"""

import math

import torch
import torch.nn as nn


def debye_polynomials(t: torch.Tensor) -> list[torch.Tensor]:
    """u1..u4 of the Debye expansion (DLMF 10.41.10)."""
    t2 = t * t
    u1 = t * (3 - 5 * t2) / 24
    u2 = t2 * (81 - 462 * t2 + 385 * t2 * t2) / 1152
    u3 = t * t2 * (30375 - 369603 * t2 + 765765 * t2**2 - 425425 * t2**3) / 414720
    u4 = t2 * t2 * (4465125 - 94121676 * t2 + 349922430 * t2**2 - 446185740 * t2**3 + 185910725 * t2**4) / 39813120
    return [u1, u2, u3, u4]


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, order: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        v = order.to(x.dtype)
        z = x / v
        root = torch.sqrt(1 + z * z)
        t = 1 / root
        eta = root + torch.log(z / (1 + root))
        series = 1 + sum(u / v ** (i + 1) for i, u in enumerate(debye_polynomials(t)))
        return v * eta - 0.5 * torch.log(2 * math.pi * v) - 0.5 * torch.log(root) + torch.log(series)


def get_inputs(n):
    v = torch.randint(10, 1001, (n,))
    x = torch.exp(torch.empty(n).uniform_(math.log(0.5), math.log(1e4)))  # log-uniform in [0.5, 1e4]
    return [v, x]


def get_init_inputs(n):
    return []


SHAPES = [
    dict(n=8 * 1024 * 1024),
    dict(n=100003),
    dict(n=7),
]

META = dict(
    category="papers",
    source="Accurate Computation of the Logarithm of Modified Bessel Functions on GPUs (Plesner et al.)",
    atol=1e-3,
    rtol=1e-4,
    flops=lambda n: 60 * n,
    bytes=lambda n: 16 * n,
)
