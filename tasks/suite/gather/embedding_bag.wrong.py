"""EmbeddingBag (mean) with a planted bug -- a verifier fixture that must be rejected.

BUG: wrong index type. The kernel declares the indices as 32-bit `int`
while torch passes int64, so lookup j reads half of index j / 2 (the low word,
or the zero high word) and sums the wrong embedding rows.
"""

import torch
import torch.nn as nn

from cudarwin.runtime import load_cuda

_SOURCE = r'''
// idx: (bags, bag_size); w: (num_embeddings, dim); y: (bags, dim).
extern "C" __global__ void embedding_bag_mean_f32(const int* __restrict__ idx,
                                                  const float* __restrict__ w,
                                                  float* __restrict__ y,
                                                  long bags, long bag_size, long dim) {
    const bool vec = (dim & 3) == 0 &&
        ((((unsigned long long)w) | ((unsigned long long)y)) & 15) == 0;
    const float inv = 1.0f / (float)bag_size;

    for (long bag = blockIdx.x; bag < bags; bag += gridDim.x) {
        const int* __restrict__ bag_idx = idx + bag * bag_size;
        if (vec) {
            const long dv = dim / 4;
            const float4* __restrict__ w4 = reinterpret_cast<const float4*>(w);
            float4* __restrict__ y4 = reinterpret_cast<float4*>(y);
            for (long c = threadIdx.x; c < dv; c += blockDim.x) {
                float4 acc = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
                #pragma unroll 4
                for (long j = 0; j < bag_size; ++j) {
                    const float4 v = w4[bag_idx[j] * dv + c];
                    acc.x += v.x; acc.y += v.y; acc.z += v.z; acc.w += v.w;
                }
                y4[bag * dv + c] = make_float4(acc.x * inv, acc.y * inv, acc.z * inv, acc.w * inv);
            }
        } else {
            for (long c = threadIdx.x; c < dim; c += blockDim.x) {
                float acc = 0.0f;
                #pragma unroll 4
                for (long j = 0; j < bag_size; ++j) acc += w[bag_idx[j] * dim + c];
                y[bag * dim + c] = acc * inv;
            }
        }
    }
}
'''

_mod = load_cuda(_SOURCE)

_MAX_BLOCKS = 65535


def _threads_for(dim: int) -> int:
    """One thread per float4 (or float) of a row, rounded up to whole warps, at most 256."""
    lanes = dim // 4 if dim % 4 == 0 else dim
    return max(32, min(256, -(-lanes // 32) * 32))


class ModelNew(nn.Module):
    def __init__(self, num_embeddings: int, dim: int):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(num_embeddings, dim))

    def forward(self, indices: torch.Tensor) -> torch.Tensor:
        indices = indices.contiguous()
        bags, bag_size = indices.shape
        dim = self.weight.size(1)
        y = torch.empty(bags, dim, device=self.weight.device, dtype=self.weight.dtype)
        blocks = max(1, min(_MAX_BLOCKS, bags))
        _mod.embedding_bag_mean_f32(grid=(blocks,), block=(_threads_for(dim),),
                                    args=(indices, self.weight, y, bags, bag_size, dim))
        return y
