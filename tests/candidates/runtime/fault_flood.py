# fault: a flood of output
import torch
import torch.nn as nn


class ModelNew(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.scale = nn.Parameter(torch.randn(d))
        self.bias = nn.Parameter(torch.randn(d))

    def forward(self, x):
        line = "x" * 4096
        for _ in range(3000):  # 12 MB, over the 8 MiB log limit
            print(line)
        return x
