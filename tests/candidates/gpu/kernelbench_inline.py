# honest, KernelBench style: the kernel is built with torch.utils.cpp_extension.load_inline
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cuda_source = r"""
#include <torch/extension.h>

__global__ void scale_bias_relu_kernel(const float* x, const float* s, const float* b, float* y, long n, int d) {
    long i = blockIdx.x * (long)blockDim.x + threadIdx.x;
    if (i < n) {
        int c = (int)(i % d);
        y[i] = fmaxf(x[i], 0.0f) * s[c] + b[c];
    }
}

torch::Tensor scale_bias_relu(torch::Tensor x, torch::Tensor s, torch::Tensor b) {
    auto y = torch::empty_like(x);
    long n = x.numel();
    int d = (int)x.size(1);
    scale_bias_relu_kernel<<<(n + 255) / 256, 256>>>(x.data_ptr<float>(), s.data_ptr<float>(),
                                                     b.data_ptr<float>(), y.data_ptr<float>(), n, d);
    return y;
}
"""
cpp_source = "torch::Tensor scale_bias_relu(torch::Tensor x, torch::Tensor s, torch::Tensor b);"

ext = load_inline(name="scale_bias_relu_ext", cpp_sources=cpp_source, cuda_sources=cuda_source,
                  functions=["scale_bias_relu"], verbose=False)


class ModelNew(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.scale = nn.Parameter(torch.randn(d))
        self.bias = nn.Parameter(torch.randn(d))

    def forward(self, x):
        return ext.scale_bias_relu(x, self.scale, self.bias)
