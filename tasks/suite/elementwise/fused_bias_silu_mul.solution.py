"""Fused bias + SiLU-gate: one elementwise pass, float4 loads when rows are 16-byte aligned."""

import torch
import torch.nn as nn

from cudarwin.runtime import load_cuda

_SOURCE = r'''
__device__ __forceinline__ float silu(float v) {
    return v / (1.0f + expf(-v));  // v * sigmoid(v); expf overflow gives -0, as torch does
}

// x: (rows, 2d) row-major, first half "a", second half "g"; bias: (2d,); y: (rows, d).
extern "C" __global__ void bias_silu_mul_f32(const float* __restrict__ x,
                                             const float* __restrict__ bias,
                                             float* __restrict__ y, long rows, long d) {
    const long stride = (long)gridDim.x * blockDim.x;
    const long tid = (long)blockIdx.x * blockDim.x + threadIdx.x;
    // float4 needs every row start (and the gate half) on a 16-byte boundary: d % 4 == 0
    // and aligned base pointers. Uniform across the grid, so no divergence.
    const bool vec = (d & 3) == 0 &&
        ((((unsigned long long)x) | ((unsigned long long)bias) | ((unsigned long long)y)) & 15) == 0;
    if (vec) {
        const long dv = d / 4;
        const float4* __restrict__ x4 = reinterpret_cast<const float4*>(x);
        const float4* __restrict__ b4 = reinterpret_cast<const float4*>(bias);
        float4* __restrict__ y4 = reinterpret_cast<float4*>(y);
        const long nvec = rows * dv;
        for (long i = tid; i < nvec; i += stride) {
            const long row = i / dv;
            const long c = i - row * dv;
            const float4 a = x4[row * 2 * dv + c];
            const float4 g = x4[row * 2 * dv + dv + c];
            const float4 ba = b4[c];
            const float4 bg = b4[dv + c];
            float4 o;
            o.x = silu(a.x + ba.x) * (g.x + bg.x);
            o.y = silu(a.y + ba.y) * (g.y + bg.y);
            o.z = silu(a.z + ba.z) * (g.z + bg.z);
            o.w = silu(a.w + ba.w) * (g.w + bg.w);
            y4[i] = o;
        }
    } else {
        const long n = rows * d;
        for (long i = tid; i < n; i += stride) {
            const long row = i / d;
            const long col = i - row * d;
            const float* __restrict__ xr = x + row * 2 * d;  // input rows are 2d wide
            y[i] = silu(xr[col] + bias[col]) * (xr[d + col] + bias[d + col]);
        }
    }
}
'''

_mod = load_cuda(_SOURCE)

_THREADS = 256
_MAX_BLOCKS = 65536


class ModelNew(nn.Module):
    def __init__(self, d: int):
        super().__init__()
        self.d = d
        self.bias = nn.Parameter(0.5 * torch.randn(2 * d))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.contiguous()
        rows = x.numel() // (2 * self.d)
        y = torch.empty(*x.shape[:-1], self.d, device=x.device, dtype=x.dtype)
        work = rows * self.d // 4 if self.d % 4 == 0 else rows * self.d
        blocks = max(1, min(_MAX_BLOCKS, -(-work // _THREADS)))
        _mod.bias_silu_mul_f32(grid=(blocks,), block=(_THREADS,), args=(x, self.bias, y, rows, self.d))
        return y
