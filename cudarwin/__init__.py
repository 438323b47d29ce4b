"""cudarwin: turn PyTorch modules into verified, faster CUDA kernels."""

__version__ = "0.1.0"
