# fault: the CUDA does not compile
import torch
import torch.nn as nn
from cudarwin.runtime import load_cuda

mod = load_cuda(r"""
extern "C" __global__ void k(float* y) {
    y[0] = undefined_name;
}
""")


class ModelNew(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.scale = nn.Parameter(torch.randn(d))
        self.bias = nn.Parameter(torch.randn(d))

    def forward(self, x):
        return x
