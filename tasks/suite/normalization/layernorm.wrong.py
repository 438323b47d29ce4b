"""LayerNorm with a planted bug -- a verifier fixture that must be rejected.

BUG: wrong statistic. The variance divides M2 by n - 1 (the unbiased sample
variance) where LayerNorm uses the biased one, M2 / n; every output is scaled
by sqrt((n - 1) / n), far outside tolerance for small rows and still ~1e-4
relative at d = 4096.
"""

import torch
import torch.nn as nn

from cudarwin.runtime import load_cuda

_SOURCE = r'''
// Running (count, mean, M2) of a set of values; M2 = sum of squared deviations.
struct Welford {
    float n, mean, m2;
};

__device__ __forceinline__ void welford_add(Welford& a, float v) {
    a.n += 1.0f;
    const float delta = v - a.mean;
    a.mean += delta / a.n;
    a.m2 += delta * (v - a.mean);
}

// Chan et al.'s parallel merge; stable where E[x^2] - E[x]^2 would cancel.
__device__ __forceinline__ Welford welford_merge(Welford a, Welford b) {
    const float n = a.n + b.n;
    if (n == 0.0f) return a;
    const float delta = b.mean - a.mean;
    const float fb = b.n / n;
    Welford r;
    r.n = n;
    r.mean = a.mean + delta * fb;
    r.m2 = a.m2 + b.m2 + delta * delta * a.n * fb;
    return r;
}

__device__ __forceinline__ Welford warp_welford(Welford a) {
    for (int offset = 16; offset > 0; offset >>= 1) {
        Welford b;
        b.n = __shfl_xor_sync(0xffffffffu, a.n, offset);
        b.mean = __shfl_xor_sync(0xffffffffu, a.mean, offset);
        b.m2 = __shfl_xor_sync(0xffffffffu, a.m2, offset);
        a = welford_merge(a, b);
    }
    return a;
}

extern "C" __global__ void layernorm_f32(const float* __restrict__ x, const float* __restrict__ w,
                                         const float* __restrict__ b, float* __restrict__ y,
                                         long rows, long d, float eps) {
    __shared__ Welford warp_stats[32];
    __shared__ float s_mean, s_rstd;
    const int lane = threadIdx.x & 31;
    const int warp = threadIdx.x >> 5;
    const int nwarps = (blockDim.x + 31) >> 5;
    const unsigned long long ptrs = (unsigned long long)x | (unsigned long long)w |
                                    (unsigned long long)b | (unsigned long long)y;
    const bool vec = (d & 3) == 0 && (ptrs & 15) == 0;
    const long nvec = vec ? d / 4 : 0;

    for (long row = blockIdx.x; row < rows; row += gridDim.x) {
        const float* __restrict__ xr = x + row * d;
        float* __restrict__ yr = y + row * d;

        // Pass 1: per-thread Welford over a strided slice of the row.
        Welford acc = {0.0f, 0.0f, 0.0f};
        for (long c = threadIdx.x; c < nvec; c += blockDim.x) {
            const float4 v = reinterpret_cast<const float4*>(xr)[c];
            welford_add(acc, v.x); welford_add(acc, v.y); welford_add(acc, v.z); welford_add(acc, v.w);
        }
        for (long c = nvec * 4 + threadIdx.x; c < d; c += blockDim.x) {
            welford_add(acc, xr[c]);
        }
        acc = warp_welford(acc);
        if (lane == 0) warp_stats[warp] = acc;
        __syncthreads();
        if (warp == 0) {
            Welford t = {0.0f, 0.0f, 0.0f};
            if (lane < nwarps) t = warp_stats[lane];
            t = warp_welford(t);
            if (lane == 0) {
                s_mean = t.mean;
                s_rstd = rsqrtf(t.m2 / (t.n - 1.0f) + eps);
            }
        }
        __syncthreads();
        const float mean = s_mean;
        const float rstd = s_rstd;

        // Pass 2: normalize; the row was just read, so these loads mostly hit L2.
        for (long c = threadIdx.x; c < nvec; c += blockDim.x) {
            const float4 v = reinterpret_cast<const float4*>(xr)[c];
            const float4 g = reinterpret_cast<const float4*>(w)[c];
            const float4 s = reinterpret_cast<const float4*>(b)[c];
            float4 o;
            o.x = (v.x - mean) * rstd * g.x + s.x;
            o.y = (v.y - mean) * rstd * g.y + s.y;
            o.z = (v.z - mean) * rstd * g.z + s.z;
            o.w = (v.w - mean) * rstd * g.w + s.w;
            reinterpret_cast<float4*>(yr)[c] = o;
        }
        for (long c = nvec * 4 + threadIdx.x; c < d; c += blockDim.x) {
            yr[c] = (xr[c] - mean) * rstd * w[c] + b[c];
        }
        __syncthreads();  // the shared statistics are rewritten for the next row
    }
}
'''

_mod = load_cuda(_SOURCE)

_THREADS = 256
_MAX_BLOCKS = 65535


class ModelNew(nn.Module):
    def __init__(self, d: int, eps: float = 1e-5):
        super().__init__()
        self.d = d
        self.eps = eps
        self.weight = nn.Parameter(1.0 + 0.1 * torch.randn(d))
        self.bias = nn.Parameter(0.1 * torch.randn(d))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.contiguous()
        rows = x.numel() // self.d
        y = torch.empty_like(x)
        blocks = max(1, min(_MAX_BLOCKS, rows))
        _mod.layernorm_f32(grid=(blocks,), block=(_THREADS,),
                           args=(x, self.weight, self.bias, y, rows, self.d, self.eps))
        return y
