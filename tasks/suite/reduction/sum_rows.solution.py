"""Row sum: one block per row (grid-stride over rows), float4 loads, warp-shuffle + shared-memory reduction."""

import torch
import torch.nn as nn

from cudarwin.runtime import load_cuda

_SOURCE = r'''
__device__ __forceinline__ float warp_sum(float v) {
    // Butterfly: after 5 steps every lane holds the sum of all 32 lanes.
    for (int offset = 16; offset > 0; offset >>= 1) {
        v += __shfl_xor_sync(0xffffffffu, v, offset);
    }
    return v;
}

extern "C" __global__ void sum_rows_f32(const float* __restrict__ x, float* __restrict__ y,
                                        long rows, long cols) {
    __shared__ float warp_sums[32];
    const int lane = threadIdx.x & 31;
    const int warp = threadIdx.x >> 5;
    const int nwarps = (blockDim.x + 31) >> 5;
    // Every row start is 16-byte aligned iff the base is and cols % 4 == 0.
    const bool vec = (cols & 3) == 0 && (((unsigned long long)x) & 15) == 0;

    for (long row = blockIdx.x; row < rows; row += gridDim.x) {
        const float* __restrict__ xr = x + row * cols;
        float acc = 0.0f;
        long done = 0;
        if (vec) {
            const float4* __restrict__ xr4 = reinterpret_cast<const float4*>(xr);
            const long nvec = cols / 4;
            for (long c = threadIdx.x; c < nvec; c += blockDim.x) {
                const float4 v = xr4[c];
                acc += (v.x + v.y) + (v.z + v.w);
            }
            done = nvec * 4;
        }
        for (long c = done + threadIdx.x; c < cols; c += blockDim.x) {
            acc += xr[c];
        }

        acc = warp_sum(acc);
        if (lane == 0) warp_sums[warp] = acc;
        __syncthreads();
        if (warp == 0) {
            float v = lane < nwarps ? warp_sums[lane] : 0.0f;
            v = warp_sum(v);
            if (lane == 0) y[row] = v;
        }
        __syncthreads();  // warp_sums is rewritten for the next row
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
        y = torch.empty(x.shape[:-1], device=x.device, dtype=x.dtype)
        blocks = max(1, min(_MAX_BLOCKS, rows))
        _mod.sum_rows_f32(grid=(blocks,), block=(_THREADS,), args=(x, y, rows, cols))
        return y
