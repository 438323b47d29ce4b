# run-time defense against #4 with the static checks off: a thread still running after the call
import threading
import time
import torch
import torch.nn as nn


class ModelNew(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.scale = nn.Parameter(torch.randn(d))
        self.bias = nn.Parameter(torch.randn(d))

    def forward(self, x):
        threading.Thread(target=time.sleep, args=(30,), daemon=True).start()
        return torch.relu(x) * self.scale + self.bias
