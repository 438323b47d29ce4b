"""Tiled FP32 matmul with a planted bug -- a verifier fixture that must be rejected.

BUG: off-by-one tail in K. The K loop only runs over whole 16-wide slices
(k0 + BK <= K), so the last K % 16 terms of every dot product are dropped.
Correct for K = 4096, wrong for K = 999 and all zeros for K = 9.
"""

import torch
import torch.nn as nn

from cudarwin.runtime import load_cuda

_SOURCE = r'''
#define BM 64   // rows of C per block
#define BN 64   // columns of C per block
#define BK 16   // K slice staged in shared memory per step
#define TM 4    // rows of C per thread
#define TN 4    // columns of C per thread
#define THREADS 256  // (BM / TM) * (BN / TN)

// C (M, N) = A (M, K) @ B (K, N), all row-major.
extern "C" __global__ void __launch_bounds__(THREADS)
matmul_f32(const float* __restrict__ A, const float* __restrict__ B, float* __restrict__ C,
           int M, int N, int K) {
    // A is stored transposed (As[k][m]) so the inner loop reads 4 consecutive rows of A
    // as one float4; +4 padding keeps rows 16-byte aligned and spreads the transposed stores.
    __shared__ __align__(16) float As[BK][BM + 4];
    __shared__ __align__(16) float Bs[BK][BN];

    const int tid = threadIdx.x;
    const int tx = tid % (BN / TN);  // micro-tile column
    const int ty = tid / (BN / TN);  // micro-tile row
    const int m0 = blockIdx.y * BM;
    const int n0 = blockIdx.x * BN;
    // float4 loads need every row of A and B to start on a 16-byte boundary.
    const bool vec = (K & 3) == 0 && (N & 3) == 0 &&
        ((((unsigned long long)A) | ((unsigned long long)B)) & 15) == 0;

    float acc[TM][TN];
    #pragma unroll
    for (int i = 0; i < TM; ++i)
        #pragma unroll
        for (int j = 0; j < TN; ++j) acc[i][j] = 0.0f;

    for (int k0 = 0; k0 + BK <= K; k0 += BK) {
        // Stage A[m0:m0+64, k0:k0+16] and B[k0:k0+16, n0:n0+64]; out-of-range reads become 0,
        // which contributes nothing to the products.
        if (vec) {
            // 64 x 16 floats of A = 256 float4: one per thread. K % 4 == 0, so a float4 is
            // either entirely inside the matrix or entirely outside.
            const int ar = tid / (BK / 4), ac = (tid % (BK / 4)) * 4;
            const int gm = m0 + ar, gk = k0 + ac;
            float4 a = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
            if (gm < M && gk < K) a = *reinterpret_cast<const float4*>(A + (long)gm * K + gk);
            As[ac + 0][ar] = a.x; As[ac + 1][ar] = a.y; As[ac + 2][ar] = a.z; As[ac + 3][ar] = a.w;
            // 16 x 64 floats of B = 256 float4: one per thread.
            const int br = tid / (BN / 4), bc = (tid % (BN / 4)) * 4;
            const int bk = k0 + br, gn = n0 + bc;
            float4 b = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
            if (bk < K && gn < N) b = *reinterpret_cast<const float4*>(B + (long)bk * N + gn);
            *reinterpret_cast<float4*>(&Bs[br][bc]) = b;
        } else {
            #pragma unroll
            for (int e = tid; e < BM * BK; e += THREADS) {
                const int r = e / BK, c = e % BK;
                const int gm = m0 + r, gk = k0 + c;
                As[c][r] = (gm < M && gk < K) ? A[(long)gm * K + gk] : 0.0f;
            }
            #pragma unroll
            for (int e = tid; e < BK * BN; e += THREADS) {
                const int r = e / BN, c = e % BN;
                const int gk = k0 + r, gn = n0 + c;
                Bs[r][c] = (gk < K && gn < N) ? B[(long)gk * N + gn] : 0.0f;
            }
        }
        __syncthreads();  // the tile is complete before anyone reads it

        #pragma unroll
        for (int k = 0; k < BK; ++k) {
            const float4 a = *reinterpret_cast<const float4*>(&As[k][ty * TM]);
            const float4 b = *reinterpret_cast<const float4*>(&Bs[k][tx * TN]);
            const float av[TM] = {a.x, a.y, a.z, a.w};
            const float bv[TN] = {b.x, b.y, b.z, b.w};
            #pragma unroll
            for (int i = 0; i < TM; ++i)
                #pragma unroll
                for (int j = 0; j < TN; ++j) acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
        }
        __syncthreads();  // everyone is done with the tile before it is overwritten
    }

    #pragma unroll
    for (int i = 0; i < TM; ++i) {
        const int gm = m0 + ty * TM + i;
        if (gm >= M) continue;
        #pragma unroll
        for (int j = 0; j < TN; ++j) {
            const int gn = n0 + tx * TN + j;
            if (gn < N) C[(long)gm * N + gn] = acc[i][j];
        }
    }
}
'''

_mod = load_cuda(_SOURCE)

_TILE = 64
_THREADS = 256


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        a = a.contiguous()
        b = b.contiguous()
        m, k = a.shape
        n = b.size(1)
        c = torch.empty(m, n, device=a.device, dtype=a.dtype)
        grid = (-(-n // _TILE), -(-m // _TILE))
        _mod.matmul_f32(grid=grid, block=(_THREADS,), args=(a, b, c, m, n, k))
        return c
