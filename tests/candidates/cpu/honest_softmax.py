# honest: a numerically stable softmax with other torch ops
import torch
import torch.nn as nn


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x):
        z = x - x.amax(dim=-1, keepdim=True)
        e = torch.exp(z)
        return e / e.sum(dim=-1, keepdim=True)
