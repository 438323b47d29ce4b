"""load_cuda on a real GPU: launches, argument types, streams, counts, shared memory.

Run with ``pytest -m gpu tests/test_runtime_gpu.py`` on a machine with CUDA.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest
import torch

from cudarwin import runtime
from cudarwin.runtime import (
    CudaLaunchError,
    KernelArgumentError,
    launch_counts,
    load_cuda,
    reset_launch_counts,
)

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
from nvrtc_headers import SOFTMAX  # noqa: E402

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
]

RELU = r'''
extern "C" __global__ void relu(const float* __restrict__ x, float* __restrict__ y, long n) {
    long i = blockIdx.x * (long)blockDim.x + threadIdx.x;
    if (i < n) y[i] = x[i] > 0.f ? x[i] : 0.f;
}
'''

SCALARS = r'''
#include <cuda_fp16.h>
#include <cuda_bf16.h>
extern "C" __global__ void scalars(const float* x, double* out, float a, double b, int64_t big,
                                   unsigned int k, __half h, __nv_bfloat16 bf, bool flag, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) out[i] = (double)(a * x[i]) + b;
    if (i == 0) {
        out[n] = (double)big;
        out[n + 1] = (double)k;
        out[n + 2] = (double)__half2float(h);
        out[n + 3] = (double)__bfloat162float(bf);
        out[n + 4] = flag ? 1.0 : 0.0;
    }
}
'''

SPIN = r'''
extern "C" __global__ void spin(long long cycles, int* done) {
    long long start = clock64();
    while (clock64() - start < cycles) { }
    done[0] = 1;
}
'''

REVERSE = r'''
extern "C" __global__ void reverse(const float* x, float* y, int n) {
    extern __shared__ float buf[];
    for (int i = threadIdx.x; i < n; i += blockDim.x) buf[i] = x[i];
    __syncthreads();
    for (int i = threadIdx.x; i < n; i += blockDim.x) y[i] = buf[n - 1 - i];
}
'''


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    """Empty disk and memory caches for each test."""
    monkeypatch.setenv(runtime.CACHE_ENV, str(tmp_path / "kernels"))
    monkeypatch.delenv(runtime.MODE_ENV, raising=False)
    monkeypatch.setattr(runtime.cache, "_memory_cache", {})
    monkeypatch.setattr(runtime, "_modules", {})


def _shared_optin_bytes() -> int:
    props = torch.cuda.get_device_properties(torch.cuda.current_device())
    optin = getattr(props, "shared_memory_per_block_optin", None)
    if optin is None:  # older torch: ask the runtime (cudaDevAttrMaxSharedMemoryPerBlockOptin)
        from cupy_backends.cuda.api import runtime as cuda_runtime

        optin = cuda_runtime.deviceGetAttribute(97, torch.cuda.current_device())
    return int(optin)


def _relu(mod, x, y):
    n = x.numel()
    mod.relu(grid=((n + 255) // 256,), block=(256,), args=(x, y, n))


def test_relu_matches_torch():
    mod = load_cuda(RELU)
    x = torch.randn(10_007, device="cuda")  # not a multiple of the block size
    y = torch.full_like(x, float("nan"))
    _relu(mod, x, y)
    torch.cuda.synchronize()
    torch.testing.assert_close(y, torch.relu(x), rtol=0, atol=0)


def test_compiles_for_the_current_gpu_and_reuses_the_module():
    major, minor = torch.cuda.get_device_capability()
    mod = load_cuda(RELU)
    assert mod.compiled.arch == f"sm_{major}{minor}"
    assert load_cuda(RELU) is mod


def test_tensor_views_pass_their_own_address():
    mod = load_cuda(RELU)
    x = torch.randn(1000, device="cuda")
    y = torch.zeros(1001, device="cuda")
    _relu(mod, x[1:], y[1:])
    torch.cuda.synchronize()
    assert y[0].item() == 0
    torch.testing.assert_close(y[1:1000], torch.relu(x[1:]), rtol=0, atol=0)


def test_scalar_arguments_reach_the_kernel_with_their_declared_types():
    mod = load_cuda(SCALARS)
    n = 300
    x = torch.randn(n, device="cuda")
    out = torch.full((n + 5,), float("nan"), device="cuda", dtype=torch.float64)
    big = 2**40 + 3  # needs all 64 bits
    mod.scalars(grid=2, block=256, args=(x, out, 1.5, 0.25, big, 4_000_000_000, 2.5, 1.5, True, n))
    torch.cuda.synchronize()
    expected = (1.5 * x).double() + 0.25
    torch.testing.assert_close(out[:n], expected)
    assert out[n:].tolist() == [float(big), 4_000_000_000.0, 2.5, 1.5, 1.0]


def test_launch_uses_torchs_current_stream():
    mod = load_cuda(SPIN)
    done = torch.zeros(1, dtype=torch.int32, device="cuda")
    side = torch.cuda.Stream()
    torch.cuda.synchronize()
    with torch.cuda.stream(side):
        mod.spin(grid=1, block=1, args=(200_000_000, done))  # about 0.1 s of spinning
    assert not side.query()  # the work is queued on the side stream...
    assert torch.cuda.default_stream().query()  # ...not on the default one
    side.synchronize()
    assert done.item() == 1


def test_launch_counts_increment_per_kernel():
    relu = load_cuda(RELU)
    rev = load_cuda(REVERSE)
    x = torch.randn(64, device="cuda")
    y = torch.empty_like(x)
    reset_launch_counts()
    for _ in range(3):
        _relu(relu, x, y)
    rev.reverse(grid=1, block=64, args=(x, y, 64), shared_mem=64 * 4)
    with pytest.raises(KernelArgumentError):
        relu.relu(grid=1, block=64, args=(x, y))  # refused: not counted
    torch.cuda.synchronize()
    assert launch_counts() == {"relu": 3, "reverse": 1}
    reset_launch_counts()
    assert launch_counts() == {}


def test_dynamic_shared_memory_above_48kb():
    optin = _shared_optin_bytes()
    n = 24 * 1024  # 96 KB of floats
    if optin < n * 4:
        pytest.skip(f"the GPU allows only {optin} bytes of shared memory per block")
    mod = load_cuda(REVERSE)
    x = torch.randn(n, device="cuda")
    y = torch.full_like(x, float("nan"))
    mod.reverse(grid=1, block=256, args=(x, y, n), shared_mem=n * 4)
    torch.cuda.synchronize()
    torch.testing.assert_close(y, x.flip(0), rtol=0, atol=0)


def test_cpu_tensor_is_rejected_before_launch():
    mod = load_cuda(RELU)
    x = torch.randn(8)
    y = torch.empty(8, device="cuda")
    with pytest.raises(KernelArgumentError, match="argument 'x' of kernel relu is a CPU tensor"):
        mod.relu(grid=1, block=8, args=(x, y, 8))


def test_driver_refusal_is_a_launch_error():
    mod = load_cuda(RELU)
    x = torch.randn(8, device="cuda")
    with pytest.raises(CudaLaunchError, match="launch of kernel relu"):
        mod.relu(grid=1, block=4096, args=(x, x, 8))  # more threads per block than any GPU has


def test_cache_serves_a_new_module_after_memory_is_cleared(monkeypatch):
    first = load_cuda(RELU)
    assert not first.compiled.cached
    monkeypatch.setattr(runtime.cache, "_memory_cache", {})
    monkeypatch.setattr(runtime, "_modules", {})
    second = load_cuda(RELU)
    assert second is not first and second.compiled.cached
    x = torch.randn(100, device="cuda")
    y = torch.empty_like(x)
    _relu(second, x, y)
    torch.cuda.synchronize()
    torch.testing.assert_close(y, torch.relu(x), rtol=0, atol=0)


STD_VALUES = r'''
#include <cmath>
#include <cfloat>
#include <climits>
#include <limits>
#include <algorithm>
extern "C" __global__ void values(const float* x, float* y) {
    y[0] = std::exp(x[0]); y[1] = -INFINITY; y[2] = FLT_MAX; y[3] = std::numeric_limits<float>::lowest();
    y[4] = std::max(x[0], x[1]); y[5] = std::abs(x[1]); y[6] = (float)INT_MAX; y[7] = std::sqrt(x[2]);
    y[8] = (float)M_PI; y[9] = NAN; y[10] = std::tanh(x[0]); y[11] = std::min(x[0], x[1]);
}
'''


def test_standard_header_names_have_their_values_on_the_device():
    mod = load_cuda(STD_VALUES)
    x = torch.tensor([0.5, -2.0, 9.0], device="cuda")
    y = torch.zeros(12, device="cuda")
    mod.values(grid=1, block=1, args=(x, y))
    got = y.tolist()
    f32max = torch.finfo(torch.float32).max
    want = [math.exp(0.5), -math.inf, f32max, -f32max, 0.5, 2.0, float(2**31), 3.0, math.pi, None, math.tanh(0.5), -2.0]
    for i, (g, w) in enumerate(zip(got, want)):
        if w is None:
            assert math.isnan(g), i
        else:
            assert g == pytest.approx(w, rel=1e-6), (i, g, w)


@pytest.mark.parametrize("options", [(), ("--use_fast_math",)])
def test_a_softmax_using_cmath_and_infinity_matches_torch(options):
    mod = load_cuda(SOFTMAX, options=options)
    x = torch.randn(64, 1000, device="cuda") * 4
    x[3, :500] = -math.inf  # masked scores
    y = torch.empty_like(x)
    mod.softmax(grid=(64,), block=(256,), args=(x, y, 1000))
    torch.testing.assert_close(y, torch.softmax(x, dim=-1), rtol=1e-3, atol=1e-6)
