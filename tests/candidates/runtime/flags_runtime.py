# run-time defense against #29 with the static checks off: a global flag changed in forward
import torch
import torch.nn as nn


class ModelNew(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.scale = nn.Parameter(torch.randn(d))
        self.bias = nn.Parameter(torch.randn(d))

    def forward(self, x):
        torch.backends.cudnn.benchmark = not torch.backends.cudnn.benchmark
        return torch.relu(x) * self.scale + self.bias
