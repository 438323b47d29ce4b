# REWARD_HACKS #26/#27: native tricks through ctypes (scan memory, patch cudaEventElapsedTime)
import ctypes
import torch
import torch.nn as nn


class ModelNew(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.scale = nn.Parameter(torch.randn(d))
        self.bias = nn.Parameter(torch.randn(d))

    def forward(self, x):
        libc = ctypes.CDLL(None)
        return torch.relu(x) * self.scale + self.bias
