# honest: the same function written with other torch ops (torch-ok policy)
import torch
import torch.nn as nn


class ModelNew(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.scale = nn.Parameter(torch.randn(d))
        self.bias = nn.Parameter(torch.randn(d))

    def forward(self, x):
        return torch.addcmul(self.bias, torch.clamp_min(x, 0), self.scale)
