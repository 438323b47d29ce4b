# fault: ModelNew's constructor raises
import torch
import torch.nn as nn


class ModelNew(nn.Module):
    def __init__(self, d):
        super().__init__()
        raise ValueError("bad init")

    def forward(self, x):
        return x
