"""Softmax: one block per row; one-pass online (max, sum) with float4 loads, merged by warp shuffles and shared memory; then one write pass."""

import torch
import torch.nn as nn

from cudarwin.runtime import load_cuda

_SOURCE = r'''
#define NEG_INF __int_as_float(0xff800000)

// Max that propagates NaN (fmaxf drops it), so a NaN anywhere in the row poisons it, as in torch.
__device__ __forceinline__ float nan_max(float a, float b) {
    return (a > b || a != a) ? a : b;
}

// A partial softmax normaliser: m = max of the values seen, s = sum of exp(v - m).
struct MaxSum {
    float m, s;
};

// Merge two partials by rescaling both sums to the larger max (online softmax).
__device__ __forceinline__ MaxSum combine(MaxSum a, MaxSum b) {
    const float m = nan_max(a.m, b.m);
    if (m == NEG_INF) return a;  // nothing but -inf seen so far: avoid (-inf) - (-inf)
    MaxSum r;
    r.m = m;
    r.s = a.s * expf(a.m - m) + b.s * expf(b.m - m);
    return r;
}

__device__ __forceinline__ MaxSum warp_combine(MaxSum a) {
    for (int offset = 16; offset > 0; offset >>= 1) {
        MaxSum b;
        b.m = __shfl_xor_sync(0xffffffffu, a.m, offset);
        b.s = __shfl_xor_sync(0xffffffffu, a.s, offset);
        a = combine(a, b);
    }
    return a;
}

extern "C" __global__ void softmax_f32(const float* __restrict__ x, float* __restrict__ y,
                                       long rows, long cols) {
    __shared__ MaxSum warp_part[32];
    __shared__ float s_max, s_inv;
    const int lane = threadIdx.x & 31;
    const int warp = threadIdx.x >> 5;
    const int nwarps = (blockDim.x + 31) >> 5;
    const bool vec = (cols & 3) == 0 &&
        ((((unsigned long long)x) | ((unsigned long long)y)) & 15) == 0;
    const long nvec = vec ? cols / 4 : 0;

    for (long row = blockIdx.x; row < rows; row += gridDim.x) {
        const float* __restrict__ xr = x + row * cols;
        float* __restrict__ yr = y + row * cols;

        // Pass 1 (reads x once): running max and rescaled sum, one rescale per float4.
        MaxSum acc = {NEG_INF, 0.0f};
        for (long c = threadIdx.x; c < nvec; c += blockDim.x) {
            const float4 v = reinterpret_cast<const float4*>(xr)[c];
            MaxSum chunk;
            chunk.m = nan_max(nan_max(v.x, v.y), nan_max(v.z, v.w));
            chunk.s = chunk.m == NEG_INF ? 0.0f  // four masked (-inf) scores
                : expf(v.x - chunk.m) + expf(v.y - chunk.m) + expf(v.z - chunk.m) + expf(v.w - chunk.m);
            acc = combine(acc, chunk);
        }
        for (long c = nvec * 4 + threadIdx.x; c < cols; c += blockDim.x) {
            const MaxSum one = {xr[c], 1.0f};
            acc = combine(acc, one);
        }
        acc = warp_combine(acc);
        if (lane == 0) warp_part[warp] = acc;
        __syncthreads();
        if (warp == 0) {
            MaxSum t = {NEG_INF, 0.0f};
            if (lane < nwarps) t = warp_part[lane];
            t = warp_combine(t);
            if (lane == 0) {
                s_max = t.m;
                s_inv = 1.0f / t.s;
            }
        }
        __syncthreads();
        const float m = s_max;
        const float inv = s_inv;

        // Pass 2: the row is mostly still in L2.
        for (long c = threadIdx.x; c < nvec; c += blockDim.x) {
            const float4 v = reinterpret_cast<const float4*>(xr)[c];
            float4 o;
            o.x = expf(v.x - m) * inv;
            o.y = expf(v.y - m) * inv;
            o.z = expf(v.z - m) * inv;
            o.w = expf(v.w - m) * inv;
            reinterpret_cast<float4*>(yr)[c] = o;
        }
        for (long c = nvec * 4 + threadIdx.x; c < cols; c += blockDim.x) {
            yr[c] = expf(xr[c] - m) * inv;
        }
        __syncthreads();  // the shared partials are rewritten for the next row
    }
}
'''

_mod = load_cuda(_SOURCE)

_THREADS = 256
_MAX_BLOCKS = 65535


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.contiguous()
        cols = x.size(-1)
        rows = x.numel() // cols
        y = torch.empty_like(x)
        blocks = max(1, min(_MAX_BLOCKS, rows))
        _mod.softmax_f32(grid=(blocks,), block=(_THREADS,), args=(x, y, rows, cols))
        return y
