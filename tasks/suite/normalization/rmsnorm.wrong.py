"""RMSNorm with a planted bug -- a verifier fixture that must be rejected.

BUG: race. The __syncthreads() between warp 0 writing the row's scale to
shared memory and the other warps reading it is missing, so warps 1..7 read
a stale s_rstd (the previous row's, or uninitialised shared memory on the
first row) and scale most of the row wrongly.
"""

import torch
import torch.nn as nn

from cudarwin.runtime import load_cuda

_SOURCE = r'''
__device__ __forceinline__ float warp_sum(float v) {
    for (int offset = 16; offset > 0; offset >>= 1) {
        v += __shfl_xor_sync(0xffffffffu, v, offset);
    }
    return v;
}

extern "C" __global__ void rmsnorm_f32(const float* __restrict__ x, const float* __restrict__ w,
                                       float* __restrict__ y, long rows, long d, float eps) {
    __shared__ float warp_sums[32];
    __shared__ float s_rstd;
    const int lane = threadIdx.x & 31;
    const int warp = threadIdx.x >> 5;
    const int nwarps = (blockDim.x + 31) >> 5;
    const unsigned long long ptrs = (unsigned long long)x | (unsigned long long)w | (unsigned long long)y;
    const bool vec = (d & 3) == 0 && (ptrs & 15) == 0;
    const long nvec = vec ? d / 4 : 0;

    for (long row = blockIdx.x; row < rows; row += gridDim.x) {
        const float* __restrict__ xr = x + row * d;
        float* __restrict__ yr = y + row * d;

        float ss = 0.0f;
        for (long c = threadIdx.x; c < nvec; c += blockDim.x) {
            const float4 v = reinterpret_cast<const float4*>(xr)[c];
            ss += v.x * v.x + v.y * v.y + v.z * v.z + v.w * v.w;
        }
        for (long c = nvec * 4 + threadIdx.x; c < d; c += blockDim.x) {
            ss += xr[c] * xr[c];
        }
        ss = warp_sum(ss);
        if (lane == 0) warp_sums[warp] = ss;
        __syncthreads();
        if (warp == 0) {
            float t = lane < nwarps ? warp_sums[lane] : 0.0f;
            t = warp_sum(t);
            if (lane == 0) s_rstd = rsqrtf(t / (float)d + eps);
        }
        const float rstd = s_rstd;

        for (long c = threadIdx.x; c < nvec; c += blockDim.x) {
            const float4 v = reinterpret_cast<const float4*>(xr)[c];
            const float4 g = reinterpret_cast<const float4*>(w)[c];
            float4 o;
            o.x = v.x * rstd * g.x;
            o.y = v.y * rstd * g.y;
            o.z = v.z * rstd * g.z;
            o.w = v.w * rstd * g.w;
            reinterpret_cast<float4*>(yr)[c] = o;
        }
        for (long c = nvec * 4 + threadIdx.x; c < d; c += blockDim.x) {
            yr[c] = xr[c] * rstd * w[c];
        }
        __syncthreads();  // warp_sums and s_rstd are rewritten for the next row
    }
}
'''

_mod = load_cuda(_SOURCE)

_THREADS = 256
_MAX_BLOCKS = 65535


class ModelNew(nn.Module):
    def __init__(self, d: int, eps: float = 1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(1.0 + 0.1 * torch.randn(d))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.contiguous()
        d = self.weight.numel()
        rows = x.numel() // d
        y = torch.empty_like(x)
        blocks = max(1, min(_MAX_BLOCKS, rows))
        _mod.rmsnorm_f32(grid=(blocks,), block=(_THREADS,), args=(x, self.weight, y, rows, d, self.eps))
        return y
