"""compile_cuda (NVRTC without a GPU), its cache, and load_cuda's record mode."""

from __future__ import annotations

import sys

import pytest

from cudarwin import runtime
from cudarwin.runtime import (
    CudaCompileError,
    compile_cuda,
    launch_counts,
    load_cuda,
    nvrtc_available,
    recorded_sources,
    reset_launch_counts,
)
from cudarwin.types import CudarwinError, KernelInfo

pytestmark = pytest.mark.skipif(not nvrtc_available(), reason="NVRTC (cupy + nvidia-cuda-nvrtc) not installed")

RELU = r'''
extern "C" __global__ void relu(const float* __restrict__ x, float* __restrict__ y, long n) {
    long i = blockIdx.x * (long)blockDim.x + threadIdx.x;
    if (i < n) y[i] = x[i] > 0.f ? x[i] : 0.f;
}
'''

HALF = r'''
#include <cuda_fp16.h>
#include <cuda_bf16.h>
extern "C" __global__ void to_half(const float* x, __half* y, __nv_bfloat16* z, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) { y[i] = __float2half(x[i]); z[i] = __float2bfloat16(x[i]); }
}
'''

# line 5 holds the error
BROKEN = 'extern "C" __global__ void f(float* y) {\n    int i = threadIdx.x;\n\n\n    y[i] = not_declared;\n}\n'


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    """Each test gets an empty disk cache and memory cache."""
    monkeypatch.setenv(runtime.CACHE_ENV, str(tmp_path / "kernels"))
    monkeypatch.setattr(runtime.cache, "_memory_cache", {})


@pytest.mark.parametrize("arch", ["sm_90", "sm_80", "86"])
def test_simple_kernel_compiles_to_a_cubin(arch):
    out = compile_cuda(RELU, arch=arch)
    assert out.cubin[:4] == b"\x7fELF"  # a cubin is an ELF image
    assert out.arch == "sm_" + arch.removeprefix("sm_")
    assert out.kernels[0].name == "relu"
    assert out.kernels[0].params == ("const float*", "float*", "long")
    assert out.kernels[0].registers and out.kernels[0].registers > 0
    assert out.log == "" and not out.cached and out.seconds > 0


def test_fp16_and_bf16_headers_are_found():
    out = compile_cuda(HALF)
    assert out.kernels == (KernelInfo("to_half", ("const float*", "__half*", "__nv_bfloat16*", "int"), out.kernels[0].registers, 0),)


def test_fixed_width_integers_work_with_or_without_includes():
    body = 'extern "C" __global__ void k(float* y, int64_t n, std::uint32_t m, size_t s) { y[0] = n + m + s; }\n'
    for include in ("", "#include <cstdint>\n", "#include <stdint.h>\n", "#include <cuda/std/cstdint>\n"):
        assert compile_cuda(include + body).kernels[0].params == ("float*", "int64_t", "std::uint32_t", "size_t")


def test_static_shared_memory_is_reported():
    src = 'extern "C" __global__ void k(float* y) { __shared__ float s[256]; s[threadIdx.x] = 1; __syncthreads(); y[0] = s[3]; }'
    assert compile_cuda(src).kernels[0].shared_bytes == 1024


def test_compile_error_points_at_the_users_line():
    with pytest.raises(CudaCompileError) as info:
        compile_cuda(BROKEN, name="mine.cu")
    err = info.value
    assert "mine.cu(5): error" in err.log
    assert 'identifier "not_declared" is undefined' in err.log
    assert err.log in str(err) and str(err).startswith("mine.cu: CUDA compile failed for sm_90")
    assert isinstance(err, CudarwinError)


def test_compile_error_default_name_is_candidate_cu():
    with pytest.raises(CudaCompileError, match=r"candidate\.cu\(5\)"):
        compile_cuda(BROKEN)


def test_options_are_passed_to_nvrtc():
    src = 'extern "C" __global__ void k(float* y) {\n#ifdef SCALE\n y[0] = SCALE;\n#endif\n}\n'
    compile_cuda(src, options=("-DSCALE=2.0f",))
    with pytest.raises(CudaCompileError, match="BOGUS"):
        compile_cuda(src, options=("-DSCALE=BOGUS",))


@pytest.mark.parametrize(
    "options", ["--use_fast_math", ("-arch=sm_80",), ("--gpu-architecture=sm_100a",), ("-arch",), (1,)])
def test_bad_options_raise(options):
    with pytest.raises(CudarwinError, match="option"):
        compile_cuda(RELU, arch="sm_90", options=options)


ARCH_SPECIFIC = 'extern "C" __global__ void k(float* y) {\n#ifndef __CUDA_ARCH_FEAT_SM90_ALL\n#error needs sm_90a\n#endif\n}\n'


def test_arch_option_may_add_the_arch_specific_suffix():
    with pytest.raises(CudaCompileError, match="needs sm_90a"):
        compile_cuda(ARCH_SPECIFIC, arch="sm_90")
    out = compile_cuda(ARCH_SPECIFIC, arch="sm_90", options=("-arch=sm_90a",))
    assert out.arch == "sm_90a"
    assert out.key == compile_cuda(ARCH_SPECIFIC, arch="sm_90a").key


def test_bad_arch_raises():
    with pytest.raises(CudarwinError, match="unknown GPU architecture"):
        compile_cuda(RELU, arch="hopper")


def test_disk_cache_is_written_and_used(tmp_path):
    first = compile_cuda(RELU)
    files = list((tmp_path / "kernels").glob("*.json"))
    assert [f.stem for f in files] == [first.key]
    runtime.cache._memory_cache.clear()  # a new process: only the disk cache is left
    second = compile_cuda(RELU)
    assert second.cached and second.cubin == first.cubin and second.kernels == first.kernels
    assert second.seconds < first.seconds
    assert compile_cuda(RELU).cached  # and now from memory


@pytest.mark.parametrize("damage", ["{not json", "[]", '{"format": 1}', "same key, bad cubin"])
def test_damaged_cache_entry_is_recompiled(tmp_path, damage):
    first = compile_cuda(RELU)
    path = tmp_path / "kernels" / f"{first.key}.json"
    if damage == "same key, bad cubin":
        damage = path.read_text().replace('"cubin": "', '"cubin": "@@')
    path.write_text(damage)
    runtime.cache._memory_cache.clear()
    again = compile_cuda(RELU)
    assert not again.cached and again.cubin == first.cubin


def test_cache_key_depends_on_source_options_arch_and_name():
    keys = {
        compile_cuda(RELU).key,
        compile_cuda(RELU + "\n").key,
        compile_cuda(RELU, options=("--use_fast_math",)).key,
        compile_cuda(RELU, arch="sm_80").key,
        compile_cuda(RELU, name="other.cu").key,
    }
    assert len(keys) == 5


def test_cache_can_be_bypassed(tmp_path):
    compile_cuda(RELU, cache=False)
    assert not (tmp_path / "kernels").exists()


def test_compile_errors_are_not_cached(tmp_path):
    for _ in range(2):
        with pytest.raises(CudaCompileError):
            compile_cuda(BROKEN)
    assert not list((tmp_path / "kernels").glob("*.json"))


# --------------------------------------------------------------------------- record mode


@pytest.fixture
def record_mode(monkeypatch):
    monkeypatch.setenv(runtime.MODE_ENV, "record")
    runtime.clear_recorded_sources()
    yield
    runtime.clear_recorded_sources()


def test_record_mode_records_without_compiling(record_mode):
    mod = load_cuda(BROKEN + RELU, options=("--use_fast_math",), name="rec.cu")
    assert mod.kernel_names == ("f", "relu")
    assert mod.compiled is None
    (rec,) = recorded_sources()
    assert (rec.backend, rec.source, rec.options, rec.name) == ("nvrtc", BROKEN + RELU, ("--use_fast_math",), "rec.cu")


def test_record_mode_kernels_refuse_to_run_and_count_nothing(record_mode):
    mod = load_cuda(RELU)
    reset_launch_counts()
    with pytest.raises(CudarwinError, match="record mode"):
        mod.relu(grid=1, block=32, args=(0, 0, 4))
    assert launch_counts() == {}


def test_recorded_source_round_trips_through_dict(record_mode):
    load_cuda(RELU, options=("-DX=1",))
    rec = recorded_sources()[0]
    assert runtime.RecordedSource.from_dict(rec.to_dict()) == rec


def test_load_cuda_without_gpu_says_how_to_compile_only(monkeypatch):
    monkeypatch.delenv(runtime.MODE_ENV, raising=False)
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is visible")
    with pytest.raises(CudarwinError, match="compile_cuda"):
        load_cuda(RELU)


def test_launch_counts_are_copies():
    reset_launch_counts()
    counts = launch_counts()
    counts["relu"] = 99
    assert launch_counts() == {}


def test_unsupported_arch_lists_what_nvrtc_supports():
    with pytest.raises(CudaCompileError, match=r"supports sm_\d+"):
        compile_cuda(RELU, arch="sm_35")


def test_missing_headers_get_a_hint(monkeypatch):
    monkeypatch.setattr(runtime.headers, "_include_cache", [()])
    with pytest.raises(CudaCompileError, match="set CUDA_PATH"):
        compile_cuda(HALF)


def test_missing_nvrtc_is_a_clear_error(monkeypatch):
    import cupy_backends.cuda.libs as libs

    monkeypatch.delattr(libs, "nvrtc")
    monkeypatch.setitem(sys.modules, "cupy_backends.cuda.libs.nvrtc", None)  # the import now fails
    assert not nvrtc_available()
    with pytest.raises(CudarwinError, match=r"NVRTC is not available.*pip install cudarwin\[cuda\]"):
        compile_cuda(RELU)
