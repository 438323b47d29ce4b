# fault: a kernel that never finishes
import torch
import torch.nn as nn
from cudarwin.runtime import load_cuda

SRC = r"""
extern "C" __global__ void spin(float* y, int n) {
    volatile int k = 1;
    while (k) { }
    y[0] = 1.0f;
}
"""
mod = load_cuda(SRC)


class ModelNew(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.scale = nn.Parameter(torch.randn(d))
        self.bias = nn.Parameter(torch.randn(d))

    def forward(self, x):
        y = torch.empty_like(x)
        mod.spin(grid=(1,), block=(1,), args=(y, 1))
        return y
