# REWARD_HACKS #5: return a Tensor subclass instead of a plain tensor
import torch
import torch.nn as nn


class Lazy(torch.Tensor):
    pass


class ModelNew(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.scale = nn.Parameter(torch.randn(d))
        self.bias = nn.Parameter(torch.randn(d))

    def forward(self, x):
        return (torch.relu(x) * self.scale + self.bias).as_subclass(Lazy)
