"""Pure parts of cudarwin.runtime: kernel signatures and argument conversion."""

from __future__ import annotations

import ctypes

import numpy as np
import pytest
import torch

from cudarwin.runtime import (
    CudaModule,
    KernelArgumentError,
    Param,
    convert_argument,
    find_kernels,
    parse_params,
)
from cudarwin.types import CudarwinError

SOURCE = r'''
#include <cuda_fp16.h>
// extern "C" __global__ void commented_out(int x) {}
/* extern "C" __global__ void also_commented(int x) {} */
extern "C" __global__ void relu(const float* __restrict__ x, float* __restrict__ y, long n) {
    long i = blockIdx.x * (long)blockDim.x + threadIdx.x;
    if (i < n) y[i] = x[i] > 0.f ? x[i] : 0.f;
}
extern "C" __global__ void __launch_bounds__(256, 2)
scale(half* y, float alpha, unsigned int n, int64_t m, bool flag, double beta, size_t count) {}
extern "C" {
__global__ void in_block(__nv_bfloat16 *out, const unsigned long long seed) {}
__global__ void no_params() {}
}
__global__ void cpp_linkage(float* y) {}
template <int N> __global__ void templated(float* y) {}
'''


def test_find_kernels_lists_extern_c_kernels_in_order():
    names = [k.name for k in find_kernels(SOURCE)]
    assert names == ["relu", "scale", "in_block", "no_params"]


def test_find_kernels_reads_declared_types_and_names():
    kernels = {k.name: k for k in find_kernels(SOURCE)}
    assert kernels["relu"].params == (Param("const float*", "x"), Param("float*", "y"), Param("long", "n"))
    assert [p.type for p in kernels["scale"].params] == [
        "half*", "float", "unsigned int", "int64_t", "bool", "double", "size_t"]
    assert kernels["in_block"].params == (Param("__nv_bfloat16*", "out"), Param("const unsigned long long", "seed"))
    assert kernels["no_params"].params == ()


def test_find_kernels_without_extern_c_filter_includes_cpp_kernels():
    names = [k.name for k in find_kernels(SOURCE, extern_c_only=False)]
    assert "cpp_linkage" in names and "templated" not in names


def test_declaration_then_definition_is_listed_once():
    src = 'extern "C" __global__ void k(float* y);\nextern "C" __global__ void k(float* y) { y[0] = 1; }\n'
    assert [k.name for k in find_kernels(src)] == ["k"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ()),
        ("void", ()),
        ("int", (Param("int"),)),
        ("unsigned int", (Param("unsigned int"),)),
        ("size_t", (Param("size_t"),)),
        ("const size_t", (Param("const size_t"),)),
        ("const float * __restrict__ x, int n", (Param("const float*", "x"), Param("int", "n"))),
        ("float x[], std::int64_t n", (Param("float*", "x"), Param("std::int64_t", "n"))),
        ("long long int count", (Param("long long int", "count"),)),
    ],
)
def test_parse_params(text, expected):
    assert parse_params(text) == expected


@pytest.mark.parametrize(
    ("ctype", "value", "expected_type", "expected_value"),
    [
        ("long", 3, ctypes.c_int64, 3),
        ("int64_t", -(2**40), ctypes.c_int64, -(2**40)),
        ("int", np.int64(7), ctypes.c_int32, 7),
        ("unsigned int", 2**32 - 1, ctypes.c_uint32, 2**32 - 1),
        ("size_t", 2**63, ctypes.c_uint64, 2**63),
        ("float", 2.5, ctypes.c_float, 2.5),
        ("float", 3, ctypes.c_float, 3.0),
        ("double", np.float32(0.5), ctypes.c_double, 0.5),
        ("bool", True, ctypes.c_bool, True),
        ("const int", 1, ctypes.c_int32, 1),
        ("std::int64_t", 5, ctypes.c_int64, 5),
        ("__half", 2.5, ctypes.c_uint16, 0x4100),
        ("half", -1.0, ctypes.c_uint16, 0xBC00),
        ("__nv_bfloat16", 1.0, ctypes.c_uint16, 0x3F80),
        ("__nv_bfloat16", 1.00390625, ctypes.c_uint16, 0x3F80),  # halfway: rounds to even
    ],
)
def test_scalars_are_converted_to_the_declared_type(ctype, value, expected_type, expected_value):
    out = convert_argument(value, Param(ctype, "a"), kernel="k")
    assert type(out) is expected_type
    assert out.value == expected_value


@pytest.mark.parametrize(
    ("ctype", "value", "fragment"),
    [
        ("int", 2.5, "declared 'int'"),
        ("int", 2**31, "does not fit"),
        ("unsigned int", -1, "does not fit"),
        ("char", 200, "does not fit"),
        ("float", "1.0", "declared 'float'"),
        ("bool", 2, "declared 'bool'"),
        ("MyStruct", 3, "cannot convert"),
    ],
)
def test_bad_scalars_raise_a_named_type_error(ctype, value, fragment):
    with pytest.raises(KernelArgumentError, match=fragment) as info:
        convert_argument(value, Param(ctype, "a"), kernel="k")
    assert isinstance(info.value, TypeError) and isinstance(info.value, CudarwinError)
    assert "argument 'a' of kernel k" in str(info.value)


def test_cpu_tensor_is_rejected_with_its_name():
    with pytest.raises(KernelArgumentError, match="argument 'x' of kernel relu is a CPU tensor"):
        convert_argument(torch.zeros(4), Param("const float*", "x"), kernel="relu")


def test_tensor_for_a_scalar_parameter_is_rejected():
    with pytest.raises(KernelArgumentError, match="got an array"):
        convert_argument(torch.zeros(1), Param("long", "n"), kernel="relu")


def test_pointers_accept_addresses_none_and_cuda_array_interface():
    class FakeCupyArray:
        __cuda_array_interface__ = {"data": (0xDEAD00, False), "shape": (4,), "typestr": "<f4", "version": 3}

    param = Param("float*", "y")
    assert convert_argument(0x1000, param).value == 0x1000
    assert convert_argument(None, param).value == 0
    assert convert_argument(FakeCupyArray(), param).value == 0xDEAD00
    with pytest.raises(KernelArgumentError, match="pointer parameter"):
        convert_argument(1.5, param)


def test_unknown_types_take_numpy_scalars_as_raw_bytes():
    value = np.array([(1, 2.0)], dtype=[("a", "<i4"), ("b", "<f4")])[0]
    out = convert_argument(value, Param("Pair", "p"))
    assert bytes(out) == value.tobytes()


def test_wrong_argument_count_names_kernel_and_signature():
    mod = CudaModule(None, find_kernels(SOURCE), name="candidate.cu")
    with pytest.raises(TypeError, match=r"kernel relu takes 3 arguments, got 2.*relu\(const float\* x, float\* y, long n\)"):
        mod.relu.convert((0, 0))


def test_grid_and_block_are_validated_before_launch():
    mod = CudaModule(None, find_kernels(SOURCE), name="candidate.cu")
    with pytest.raises(KernelArgumentError, match="block of kernel relu"):
        mod.relu(grid=1, block=(1, 1, 1, 1), args=(0, 0, 1))
    with pytest.raises(KernelArgumentError, match="grid of kernel relu"):
        mod.relu(grid=0, block=32, args=(0, 0, 1))


def test_module_attributes_are_its_kernels():
    mod = CudaModule(None, find_kernels(SOURCE), name="candidate.cu")
    assert mod.kernel_names == ("relu", "scale", "in_block", "no_params")
    assert "relu" in dir(mod)
    with pytest.raises(AttributeError, match="no extern \"C\" __global__ function 'cpp_linkage'"):
        mod.cpp_linkage
