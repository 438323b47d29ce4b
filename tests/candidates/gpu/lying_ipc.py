# A worker that lies about its outputs (static checks off, patched on the first call): the IPC descriptor claims far more
# bytes than the allocation holds. The driver must check the extent, not read past it.
import torch
import torch.nn as nn
import cudarwin.runner.ipc as ipc
from cudarwin.runtime import load_cuda

SRC = r"""
extern "C" __global__ void scale_bias_relu(const float* __restrict__ x, const float* __restrict__ s,
                                           const float* __restrict__ b, float* __restrict__ y,
                                           long n, int d) {
    for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x) {
        y[i] = fmaxf(x[i], 0.0f) * s[i % d] + b[i % d];
    }
}
"""
mod = load_cuda(SRC)
_export = ipc.export


def _inflated(t):
    desc, held = _export(t)
    desc["nbytes"] *= 1 << 16
    desc["shape"] = [desc["nbytes"] // 4]
    return desc, held



class ModelNew(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.scale = nn.Parameter(torch.randn(d))
        self.bias = nn.Parameter(torch.randn(d))

    def forward(self, x):
        ipc.export = _inflated  # after import, so the load-time tamper check has passed
        y = torch.empty_like(x)
        n = x.numel()
        mod.scale_bias_relu(grid=(min((n + 255) // 256, 4096),), block=(256,),
                            args=(x, self.scale, self.bias, y, n, x.shape[1]))
        return y
