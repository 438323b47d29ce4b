"""Launch arguments as the ctypes values a kernel's declared parameters expect.

Pointers take CUDA tensors, cupy arrays or raw device addresses; scalars are
converted to the declared C type with range checks. The common cases take a
short path: conversion is part of every timed launch.
"""

from __future__ import annotations

import ctypes
import functools
import re
import sys
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from cudarwin.runtime.signature import Param
from cudarwin.types import CudarwinError

__all__ = ["KernelArgumentError", "convert_argument"]


class KernelArgumentError(CudarwinError, TypeError):
    """A kernel was called with arguments that do not fit its signature."""


@dataclass(frozen=True)
class _Scalar:
    ctype: Any  # ctypes type holding the value
    kind: str  # "int", "float", "bool", "half", "bf16"


_I8, _I16, _I32, _I64 = (_Scalar(t, "int") for t in (ctypes.c_int8, ctypes.c_int16, ctypes.c_int32, ctypes.c_int64))
_U8, _U16, _U32, _U64 = (
    _Scalar(t, "int") for t in (ctypes.c_uint8, ctypes.c_uint16, ctypes.c_uint32, ctypes.c_uint64)
)
# CUDA on 64-bit Linux and Windows hosts: long is 64-bit on Linux (LP64), which
# is what kernels compiled by NVRTC for a Linux host assume.
_SCALARS: dict[str, _Scalar] = {
    "bool": _Scalar(ctypes.c_bool, "bool"),
    "float": _Scalar(ctypes.c_float, "float"),
    "double": _Scalar(ctypes.c_double, "float"),
    "half": _Scalar(ctypes.c_uint16, "half"),
    "__half": _Scalar(ctypes.c_uint16, "half"),
    "__nv_bfloat16": _Scalar(ctypes.c_uint16, "bf16"),
    "nv_bfloat16": _Scalar(ctypes.c_uint16, "bf16"),
    **dict.fromkeys(["char", "signed char", "int8_t"], _I8),
    **dict.fromkeys(["unsigned char", "uint8_t"], _U8),
    **dict.fromkeys(["short", "short int", "signed short", "signed short int", "int16_t"], _I16),
    **dict.fromkeys(["unsigned short", "unsigned short int", "uint16_t"], _U16),
    **dict.fromkeys(["int", "signed", "signed int", "int32_t"], _I32),
    **dict.fromkeys(["unsigned", "unsigned int", "uint32_t"], _U32),
    **dict.fromkeys(
        ["long", "long int", "signed long", "signed long int", "long long", "long long int",
         "signed long long", "signed long long int", "int64_t", "ptrdiff_t", "intptr_t", "ssize_t"],
        _I64,
    ),
    **dict.fromkeys(
        ["unsigned long", "unsigned long int", "unsigned long long", "unsigned long long int",
         "uint64_t", "size_t", "uintptr_t"],
        _U64,
    ),
}


@functools.lru_cache(maxsize=1024)
def _scalar_of(ctype: str) -> _Scalar | None:
    base = " ".join(w for w in ctype.split() if w not in ("const", "volatile"))
    base = re.sub(r"^(?:::)?(?:cuda::)?(?:std::)?", "", base)
    return _SCALARS.get(base)


def _is_tensor(value: Any) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.Tensor)


def _where(param: Param, index: int, kernel: str) -> str:
    label = f"'{param.name}'" if param.name else f"#{index}"
    return f"argument {label} of kernel {kernel}"


def _pointer_value(value: Any, where: str) -> int:
    if value is None:
        return 0
    if _is_tensor(value):
        if value.device.type == "cpu":
            raise KernelArgumentError(f"{where} is a CPU tensor; create it on device='cuda' or call .cuda()")
        if value.device.type != "cuda":
            raise KernelArgumentError(f"{where} is a tensor on {value.device}, not a CUDA tensor")
        return int(value.data_ptr())
    iface = getattr(value, "__cuda_array_interface__", None)
    if iface is not None:  # cupy, numba, ... arrays
        return int(iface["data"][0])
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)) and value >= 0:
        return int(value)  # a raw device address, e.g. t.data_ptr()
    raise KernelArgumentError(
        f"{where} is a pointer parameter; pass a CUDA tensor, a cupy array or a device address, "
        f"not {type(value).__name__}"
    )


@functools.lru_cache(maxsize=None)
def _int_range(ctype: Any) -> tuple[int, int]:
    bits = ctypes.sizeof(ctype) * 8
    signed = ctype(-1).value < 0
    return (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)


def _integer_value(value: Any, ctype: Any, where: str, declared: str) -> Any:
    if isinstance(value, (float, np.floating)) or not isinstance(value, (int, np.integer, np.bool_)):
        raise KernelArgumentError(f"{where} is declared '{declared}'; got {type(value).__name__} {value!r}")
    lo, hi = _int_range(ctype)
    if not lo <= int(value) <= hi:
        raise KernelArgumentError(f"{where}: {int(value)} does not fit the declared type '{declared}'")
    return ctype(int(value))


def _float_bits(value: float, kind: str) -> int:
    if kind == "half":
        return int(np.array(value, dtype=np.float16).view(np.uint16))
    bits = int(np.array(value, dtype=np.float32).view(np.uint32))
    if np.isnan(value):
        return 0x7FC0
    return ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16) & 0xFFFF  # round to nearest even


def _scalar_value(value: Any, scalar: _Scalar, where: str, declared: str) -> Any:
    if scalar.kind == "int":
        return _integer_value(value, scalar.ctype, where, declared)
    if scalar.kind == "bool":
        if isinstance(value, (bool, np.bool_)) or (isinstance(value, (int, np.integer)) and value in (0, 1)):
            return ctypes.c_bool(bool(value))
        raise KernelArgumentError(f"{where} is declared 'bool'; got {type(value).__name__} {value!r}")
    if not isinstance(value, (int, float, np.integer, np.floating, np.bool_)):
        raise KernelArgumentError(f"{where} is declared '{declared}'; got {type(value).__name__}")
    if scalar.kind == "float":
        return scalar.ctype(float(value))
    return ctypes.c_uint16(_float_bits(float(value), scalar.kind))


def _fast_convert(value: Any, param: Param) -> Any:
    """The common cases (a CUDA tensor, an in-range int, a float), cheaply:
    launch overhead is part of every timed call. None: take the full path."""
    kind = type(value)
    if param.is_pointer:
        if _is_tensor(value) and value.is_cuda:
            return ctypes.c_uint64(value.data_ptr())
        return ctypes.c_uint64(value) if kind is int and value >= 0 else None
    scalar = _scalar_of(param.type)
    if scalar is None:
        return None
    if kind is int and scalar.kind == "int":
        lo, hi = _int_range(scalar.ctype)
        return scalar.ctype(value) if lo <= value <= hi else None
    if (kind is float or kind is int) and scalar.kind == "float":
        return scalar.ctype(value)
    return None


def convert_argument(value: Any, param: Param, *, kernel: str = "kernel", index: int = 0) -> Any:
    """One launch argument as the ctypes value the kernel's parameter expects.

    Tensors (CUDA only), cupy arrays and device addresses become pointers;
    Python and numpy numbers are converted to the declared scalar type, with
    range checks for integers. Numpy scalars for a type cudarwin does not know
    (a struct, a vector type) are passed as their raw bytes.
    """
    fast = _fast_convert(value, param)
    if fast is not None:
        return fast
    where = _where(param, index, kernel)
    if param.is_pointer:
        return ctypes.c_uint64(_pointer_value(value, where))
    if _is_tensor(value) or hasattr(value, "__cuda_array_interface__"):
        raise KernelArgumentError(
            f"{where} is declared '{param.type}' but got an array; pass a Python number (e.g. x.numel())"
        )
    scalar = _scalar_of(param.type)
    if scalar is not None:
        return _scalar_value(value, scalar, where, param.type)
    if isinstance(value, np.generic):
        raw = value.tobytes()
        return (ctypes.c_char * len(raw)).from_buffer_copy(raw)
    raise KernelArgumentError(
        f"{where} has type '{param.type}', which cudarwin cannot convert from {type(value).__name__}; "
        "pass a numpy scalar holding its exact bytes"
    )


def _dims(value: int | Sequence[int], what: str, kernel: str) -> tuple[int, int, int]:
    dims = (value,) if isinstance(value, (int, np.integer)) else tuple(value)
    if not 1 <= len(dims) <= 3 or not all(isinstance(d, (int, np.integer)) and d >= 1 for d in dims):
        raise KernelArgumentError(
            f"{what} of kernel {kernel} must be a positive int or a tuple of 1 to 3 positive ints, got {value!r}"
        )
    return tuple(int(d) for d in dims) + (1,) * (3 - len(dims))  # type: ignore[return-value]
