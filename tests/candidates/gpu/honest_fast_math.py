# honest: compiled with --use_fast_math; within tolerance for this function
import torch
import torch.nn as nn
from cudarwin.runtime import load_cuda

SRC = r"""
extern "C" __global__ void scale_bias_relu(const float* __restrict__ x, const float* __restrict__ s,
                                           const float* __restrict__ b, float* __restrict__ y,
                                           long n, int d) {
    for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x) {
        float v = x[i];
        int c = (int)(i % d);
        y[i] = fmaxf(v, 0.0f) * s[c] + b[c];
    }
}
"""
mod = load_cuda(SRC, options=("--use_fast_math",))


class ModelNew(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.scale = nn.Parameter(torch.randn(d))
        self.bias = nn.Parameter(torch.randn(d))

    def forward(self, x):
        y = torch.empty_like(x)
        n = x.numel()
        mod.scale_bias_relu(grid=((n + 255) // 256,), block=(256,), args=(x, self.scale, self.bias, y, n, x.shape[1]))
        return y
