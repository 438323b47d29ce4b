"""What candidate code imports: compile CUDA with NVRTC and launch it from PyTorch.

A candidate writes::

    from cudarwin.runtime import load_cuda
    mod = load_cuda(r'''
    extern "C" __global__ void relu(const float* x, float* y, long n) { ... }
    ''')
    mod.relu(grid=(blocks,), block=(256,), args=(x, y, x.numel()))

``load_cuda`` compiles for the current GPU's architecture through NVRTC (via
CuPy's bindings), caches the cubin by a hash of everything that affects it (in
memory and on disk), and returns a :class:`CudaModule` with one launchable
attribute per ``extern "C" __global__`` function. Launches go to torch's
current stream; arguments are converted to each parameter's declared C type,
read from the source.

``compile_cuda`` is the GPU-free half (what CI and the compile-only path use).

Two pieces of state matter to the verifier:

* Launch counts (:func:`launch_counts`, :func:`reset_launch_counts`): every
  launch increments a per-kernel counter held in a closure, not in a module
  attribute. The evaluation harness captures these two functions *before* it
  imports a candidate, so a candidate that rebinds them changes nothing the
  harness reads. Counts show which kernels ran; they are not proof of work on
  their own -- outputs are always checked.
* Record mode: with ``CUDARWIN_RUNTIME_MODE=record`` in the environment,
  ``load_cuda`` compiles nothing and needs no GPU; it records what it was given
  (:func:`recorded_sources`) and returns a module whose kernels refuse to run.
  ``torch.utils.cpp_extension.load_inline`` is patched the same way, so
  KernelBench-style candidates are recorded too. ``cudarwin.runner.compile``
  imports candidates this way to find their CUDA without running them.

NVRTC gets ``--std=c++17`` (unless the options pick a standard) and the CUDA
include directories, so ``<cuda_fp16.h>``, ``<cuda_bf16.h>`` and
``<cuda/std/...>`` work. ``-default-device`` is *not* passed: helper functions
need ``__device__``, exactly as with nvcc, so a kernel written here compiles
there too. ``<cstdint>``/``<stdint.h>`` (which NVRTC lacks) are served from
libcu++, and ``int64_t`` and friends work without an include, as under nvcc.
Compiler messages keep the source's own line numbers: nothing is prepended.

The disk cache lives in ``CUDARWIN_CACHE_DIR`` (default
``~/.cache/cudarwin/kernels``). Its entries are trusted: evaluation workers
should point it at a directory candidates cannot write.
"""

from __future__ import annotations

import base64
import ctypes
import functools
import hashlib
import importlib.abc
import importlib.util
import json
import os
import re
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np

from cudarwin.types import CudarwinError, KernelInfo

__all__ = [
    "CompiledCuda",
    "CudaCompileError",
    "CudaLaunchError",
    "CudaModule",
    "Kernel",
    "KernelArgumentError",
    "KernelSignature",
    "Param",
    "RecordedSource",
    "clear_recorded_sources",
    "compile_cuda",
    "convert_argument",
    "cuda_include_dirs",
    "find_kernels",
    "install_load_inline_recorder",
    "launch_counts",
    "load_cuda",
    "normalize_arch",
    "nvrtc_available",
    "nvrtc_version",
    "parse_params",
    "record_mode",
    "recorded_sources",
    "reset_launch_counts",
]

DEFAULT_NAME = "candidate.cu"
MODE_ENV = "CUDARWIN_RUNTIME_MODE"
CACHE_ENV = "CUDARWIN_CACHE_DIR"
INSTALL_HINT = "pip install cudarwin[cuda]"
_CACHE_FORMAT = 1
_STATIC_SHARED_LIMIT = 48 * 1024  # above this, dynamic shared memory needs an opt-in attribute


# --------------------------------------------------------------------------- errors


class CudaCompileError(CudarwinError):
    """NVRTC rejected a CUDA source. ``log`` holds the compiler's log; its line
    numbers are those of the source as given."""

    def __init__(self, name: str, arch: str, log: str):
        self.log = log
        self.arch = arch
        super().__init__(f"CUDA compile failed for {arch}:\n{log}", path=name)


class KernelArgumentError(CudarwinError, TypeError):
    """A kernel was called with arguments that do not fit its signature."""


class CudaLaunchError(CudarwinError):
    """The driver refused a launch (bad grid/block, too much shared memory...)."""


# --------------------------------------------------------------------------- signatures


@dataclass(frozen=True)
class Param:
    """One declared kernel parameter."""

    type: str  # normalised declared type, e.g. "const float*", "long", "__half"
    name: str = ""  # "" when the declaration names no parameter

    @property
    def is_pointer(self) -> bool:
        return "*" in self.type


@dataclass(frozen=True)
class KernelSignature:
    """A ``__global__`` function's name and parameters, as declared."""

    name: str
    params: tuple[Param, ...]

    def describe(self) -> str:
        """C-like text of the signature, for error messages."""
        inner = ", ".join(f"{p.type} {p.name}".strip() for p in self.params)
        return f"{self.name}({inner})"

    def info(self, registers: int | None = None, shared_bytes: int | None = None) -> KernelInfo:
        return KernelInfo(self.name, tuple(p.type for p in self.params), registers, shared_bytes)


_CODE_TOKENS = re.compile(
    r"//[^\n]*|/\*.*?\*/|\"(?:\\.|[^\"\\\n])*\"|'(?:\\.|[^'\\\n])*'|^[ \t]*#(?:\\\n|[^\n])*",
    re.S | re.M,
)


def _strip_comments(source: str) -> str:
    """Comments and preprocessor lines blanked, newlines kept; strings kept."""

    def blank(m: re.Match[str]) -> str:
        text = m.group(0)
        if text.startswith(("\"", "'")):
            return text
        return re.sub(r"[^\n]", " ", text)

    return _CODE_TOKENS.sub(blank, source)


_KERNEL = re.compile(
    r"\b__global__\s+(?:(?:__launch_bounds__\s*\([^()]*\)|__\w+__|static|inline|void)\s*)*"
    r"(?P<name>[A-Za-z_]\w*)\s*\((?P<params>[^()]*(?:\([^()]*\)[^()]*)*)\)"
)
_EXTERN_C_BLOCK = re.compile(r"\bextern\s*\"C\"\s*\{")


def _extern_c_blocks(code: str) -> list[tuple[int, int]]:
    """(start, end) offsets of every ``extern "C" { ... }`` block."""
    blocks = []
    for m in _EXTERN_C_BLOCK.finditer(code):
        depth, i = 1, m.end()
        while i < len(code) and depth:
            depth += {"{": 1, "}": -1}.get(code[i], 0)
            i += 1
        blocks.append((m.start(), i))
    return blocks


def _declaration_prefix(code: str, pos: int) -> str:
    """The text of the declaration that ends at ``pos`` (back to ; { or })."""
    start = max(code.rfind(c, 0, pos) for c in ";{}") + 1
    return code[start:pos]


def find_kernels(source: str, *, extern_c_only: bool = True) -> tuple[KernelSignature, ...]:
    """Every ``__global__`` function of ``source`` with its parameters.

    With ``extern_c_only`` (NVRTC sources), only ``extern "C"`` kernels count:
    those are the ones a module exports by their plain names. Templates are
    skipped. A kernel declared and then defined is listed once.
    """
    code = _strip_comments(source)
    blocks = _extern_c_blocks(code) if extern_c_only else []
    found: dict[str, KernelSignature] = {}
    for m in _KERNEL.finditer(code):
        prefix = _declaration_prefix(code, m.start())
        if re.search(r"\btemplate\b", prefix):
            continue
        in_block = any(a <= m.start() < b for a, b in blocks)
        if extern_c_only and not in_block and not re.search(r"\bextern\s*\"C\"", prefix):
            continue
        name = m.group("name")
        if name not in found:
            found[name] = KernelSignature(name, parse_params(m.group("params")))
    return tuple(found.values())


_TYPE_WORDS = frozenset(
    "void bool char short int long float double signed unsigned const volatile".split()
)
_QUALIFIERS = frozenset(
    "const volatile __restrict__ __restrict restrict __grid_constant__ struct".split()
)
_DROPPED = frozenset("__restrict__ __restrict restrict __grid_constant__ struct".split())
_PARAM_TOKEN = re.compile(r"[A-Za-z_]\w*(?:::[A-Za-z_]\w*)*|\*|&|\[[^\]]*\]|<[^>]*>")


def _split_top_level(text: str) -> list[str]:
    parts, depth, cur = [], 0, []
    for ch in text:
        if ch in "(<[":
            depth += 1
        elif ch in ")>]":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return parts


def _parse_param(text: str) -> Param:
    tokens = _PARAM_TOKEN.findall(text.split("=")[0])
    arrays = 0
    while tokens and tokens[-1].startswith("["):  # `float x[]` is a pointer
        tokens.pop()
        arrays += 1
    name = ""
    last = tokens[-1] if tokens else ""
    has_type_before = any(t not in _QUALIFIERS for t in tokens[:-1])
    if re.fullmatch(r"[A-Za-z_]\w*", last) and last not in _TYPE_WORDS and has_type_before:
        name = tokens.pop()
    words = [t for t in tokens if t not in _DROPPED] + ["*"] * arrays
    ctype = " ".join(words).replace(" *", "*").replace(" &", "&")
    return Param(ctype, name)


def parse_params(text: str) -> tuple[Param, ...]:
    """Parameters of a C parameter list (the text between the parentheses)."""
    stripped = _strip_comments(text).strip()
    if stripped in ("", "void"):
        return ()
    return tuple(_parse_param(p) for p in _split_top_level(stripped))


# --------------------------------------------------------------------------- argument conversion


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


# --------------------------------------------------------------------------- toolchain


def _nvrtc() -> Any:
    try:
        from cupy_backends.cuda.libs import nvrtc
    except Exception as err:  # ImportError, or a missing libnvrtc when loading
        raise CudarwinError(f"NVRTC is not available ({err})", hint=INSTALL_HINT) from err
    return nvrtc


def nvrtc_available() -> bool:
    """True when CuPy and a working NVRTC library are installed."""
    try:
        _nvrtc().getVersion()
        return True
    except Exception:
        return False


def nvrtc_version() -> tuple[int, int]:
    """NVRTC's (major, minor) version; raises CudarwinError when missing."""
    try:
        return tuple(_nvrtc().getVersion())  # type: ignore[return-value]
    except CudarwinError:
        raise
    except Exception as err:
        raise CudarwinError(f"NVRTC cannot be loaded ({err})", hint=INSTALL_HINT) from err


def _include_candidates() -> Iterator[Path]:
    for var in ("CUDA_PATH", "CUDA_HOME"):
        if os.environ.get(var):
            yield Path(os.environ[var]) / "include"
    nvidia = importlib.util.find_spec("nvidia")
    for root in (nvidia.submodule_search_locations or []) if nvidia else []:
        yield from sorted(Path(root).glob("*/include"))
    yield Path("/usr/local/cuda/include")


def _cupy_cccl() -> Path | None:
    spec = importlib.util.find_spec("cupy")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "_core/include/cupy/_cccl/libcudacxx"
    return path if (path / "cuda/std").is_dir() else None


_include_cache: list[tuple[str, ...]] = []


def cuda_include_dirs() -> tuple[str, ...]:
    """Include directories for NVRTC: the CUDA headers (``cuda_fp16.h``...)
    and libcu++ (``cuda/std/...``), found from CUDA_PATH/CUDA_HOME, the pip
    ``nvidia`` packages, /usr/local/cuda or CuPy's bundled copy."""
    if _include_cache:
        return _include_cache[0]
    dirs: list[Path] = []
    main = next((p for p in _include_candidates() if (p / "cuda_fp16.h").is_file()), None)
    if main is not None:
        dirs.append(main)
    cccl = main / "cccl" if main is not None and (main / "cccl/cuda/std").is_dir() else _cupy_cccl()
    if cccl is not None:
        dirs.append(cccl)
    _include_cache.append(tuple(str(d) for d in dirs))
    return _include_cache[0]


_NO_HEADERS = (
    "cudarwin found no CUDA headers (cuda_fp16.h): set CUDA_PATH to a CUDA toolkit "
    "or pip install nvidia-cuda-runtime"
)
_PRELUDE_NAME = "cudarwin_prelude.h"
# Without a host toolchain NVRTC knows no <cstdint>; nvcc users expect int64_t
# and friends to exist, so libcu++ supplies them (pre-included: no line shift).
_STDINT = "#include <cuda/std/cstdint>\n"
_STD_NAMES = "int8_t int16_t int32_t int64_t uint8_t uint16_t uint32_t uint64_t intptr_t uintptr_t size_t ptrdiff_t"
_CSTDINT = _STDINT + "namespace std { " + " ".join(f"using ::{n};" for n in _STD_NAMES.split()) + " }\n"


# Names only <cstdint> provides under NVRTC (size_t and ptrdiff_t are built in).
_NEEDS_STDINT = re.compile(r"\bu?int(?:8|16|32|64|ptr|max)_t\b")


def _builtin_headers(source: str) -> dict[str, str]:
    """In-memory headers for NVRTC: the prelude and <cstdint>/<stdint.h>.

    The prelude pulls in libcu++'s <cstdint> only when the source uses its
    names: it roughly doubles the compile time of a small kernel.
    """
    if not any(Path(d, "cuda/std/cstdint").is_file() for d in cuda_include_dirs()):
        return {_PRELUDE_NAME: ""}
    prelude = _CSTDINT if _NEEDS_STDINT.search(source) else ""
    return {_PRELUDE_NAME: prelude, "cstdint": _CSTDINT, "stdint.h": _CSTDINT}


_ARCH = re.compile(r"sm_\d{2,3}[af]?")


def normalize_arch(arch: str) -> str:
    """``arch`` as ``sm_XY`` (``"90"`` and ``"sm_90a"`` accepted); CudarwinError if malformed."""
    arch = arch.strip()
    if re.fullmatch(r"\d{2,3}[af]?", arch):
        arch = "sm_" + arch
    if not _ARCH.fullmatch(arch):
        raise CudarwinError(f"unknown GPU architecture {arch!r}", hint="use the form sm_90")
    return arch


def _check_options(options: Sequence[str]) -> tuple[str, ...]:
    if isinstance(options, str) or not all(isinstance(o, str) for o in options):
        raise CudarwinError(f"options must be a sequence of strings, got {options!r}", hint='e.g. ("--use_fast_math",)')
    return tuple(options)


_ARCH_OPTION = re.compile(r"-(?:-gpu-architecture|arch)\b")


def _resolve_arch(arch: str, options: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
    """The architecture to compile for, and the options without an arch flag.

    The target is the GPU's (or the caller's) architecture; an option may
    only add the arch-specific suffix to it (``-arch=sm_90a`` on sm_90, for
    wgmma/TMA), never pick another GPU.
    """
    flags = [o for o in options if _ARCH_OPTION.match(o)]
    rest = tuple(o for o in options if not _ARCH_OPTION.match(o))
    if not flags:
        return arch, rest
    value = flags[0].partition("=")[2]
    if len(flags) > 1 or not value:
        raise CudarwinError(f"give at most one architecture option, as -arch=sm_XYa; got {flags}")
    wanted = normalize_arch(value)
    if wanted.rstrip("af") != arch.rstrip("af"):
        raise CudarwinError(f"option {flags[0]!r} asks for {wanted}, but the target is {arch}",
                            hint="an option may only add the a/f suffix to the target architecture")
    return wanted, rest


def _nvrtc_options(arch: str, options: tuple[str, ...]) -> list[str]:
    opts = [f"--gpu-architecture={arch}", "--ptxas-options=-v"]
    if not any(re.match(r"--?std[=\s]", o) for o in options):
        opts.append("--std=c++17")
    opts += [f"-I{d}" for d in cuda_include_dirs()]
    opts.append(f"--pre-include={_PRELUDE_NAME}")
    return opts + list(options)


# --------------------------------------------------------------------------- compile + cache


@dataclass(frozen=True)
class CompiledCuda:
    """A CUDA source compiled to a cubin for one architecture."""

    cubin: bytes
    log: str  # NVRTC's warnings (ptxas statistics removed); "" when clean
    kernels: tuple[KernelInfo, ...]  # the extern "C" kernels, with ptxas statistics
    seconds: float  # wall time of this call (compile, or cache lookup)
    arch: str = "sm_90"
    name: str = DEFAULT_NAME
    key: str = ""  # cache key: sha256 of source, options, arch, NVRTC, headers
    cached: bool = False  # served from the memory or disk cache
    signatures: tuple[KernelSignature, ...] = field(default=(), repr=False)


def _cache_key(source: str, options: tuple[str, ...], arch: str, name: str) -> str:
    material = [_CACHE_FORMAT, source, list(options), arch, name, list(nvrtc_version()),
                list(cuda_include_dirs()), _builtin_headers(source)]
    return hashlib.sha256(json.dumps(material).encode()).hexdigest()


def cache_dir() -> Path:
    """Where compiled kernels are kept on disk (``CUDARWIN_CACHE_DIR``)."""
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache/cudarwin/kernels")


_PTXAS_ENTRY = re.compile(r"Compiling entry function '(\w+)'")
_PTXAS_REGS = re.compile(r"Used (\d+) registers(?:.*?(\d+) bytes smem)?")


def _ptxas_stats(log: str) -> dict[str, tuple[int, int]]:
    """kernel -> (registers, static shared bytes) from ``ptxas -v`` output."""
    stats, current = {}, None
    for line in log.splitlines():
        if m := _PTXAS_ENTRY.search(line):
            current = m.group(1)
        elif (m := _PTXAS_REGS.search(line)) and current:
            stats[current] = (int(m.group(1)), int(m.group(2) or 0))
    return stats


def _clean_log(log: str) -> str:
    lines = [ln for ln in log.replace("\x00", "").splitlines() if not re.match(r"ptxas(\s+info|\s+\.)", ln)]
    return "\n".join(lines).strip()


def _run_nvrtc(source: str, name: str, arch: str, options: tuple[str, ...]) -> tuple[bytes, str]:
    nvrtc = _nvrtc()
    headers = _builtin_headers(source)
    prog = nvrtc.createProgram(
        source, name, [h.encode() for h in headers.values()], [n.encode() for n in headers]
    )
    try:
        try:
            nvrtc.compileProgram(prog, _nvrtc_options(arch, options))
        except nvrtc.NVRTCError as err:
            log = _clean_log(nvrtc.getProgramLog(prog)) or str(err)
            if "open source file" in log and not cuda_include_dirs():
                log += f"\n({_NO_HEADERS})"
            if "--gpu-architecture" in log:
                supported = ", ".join(f"sm_{a}" for a in nvrtc.getSupportedArchs())
                log += f"\n(NVRTC {'.'.join(map(str, nvrtc_version()))} supports {supported})"
            raise CudaCompileError(name, arch, log) from None
        return bytes(nvrtc.getCUBIN(prog)), nvrtc.getProgramLog(prog)
    finally:
        nvrtc.destroyProgram(prog)


_memory_cache: dict[str, CompiledCuda] = {}


def _read_disk(key: str) -> dict[str, Any] | None:
    try:
        entry = json.loads((cache_dir() / f"{key}.json").read_text())
        base64.b64decode(entry["cubin"], validate=True)
        valid = (entry["key"] == key and entry["format"] == _CACHE_FORMAT
                 and isinstance(entry["log"], str) and isinstance(entry["stats"], dict))
        return entry if valid else None
    except (OSError, ValueError, KeyError, TypeError):
        return None  # absent or damaged: compile again


def _write_disk(key: str, entry: dict[str, Any]) -> None:
    directory = cache_dir()
    tmp = None
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{key[:16]}.", suffix=".tmp")
        with os.fdopen(fd, "w") as fh:
            json.dump(entry, fh)
        os.replace(tmp, directory / f"{key}.json")  # atomic: readers never see half a file
    except OSError:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
        # a read-only or full cache only costs a recompile next time


def _build(source: str, arch: str, options: tuple[str, ...], name: str, key: str) -> dict[str, Any]:
    cubin, raw_log = _run_nvrtc(source, name, arch, options)
    return {"format": _CACHE_FORMAT, "key": key, "cubin": base64.b64encode(cubin).decode(),
            "log": _clean_log(raw_log), "stats": _ptxas_stats(raw_log)}


def compile_cuda(
    source: str,
    *,
    arch: str = "sm_90",
    options: Sequence[str] = (),
    name: str | None = None,
    cache: bool = True,
) -> CompiledCuda:
    """Compile ``source`` with NVRTC to a cubin for ``arch``; no GPU needed.

    Raises :class:`CudaCompileError` (with NVRTC's log, line numbers of
    ``source``) when the source does not compile, and :class:`CudarwinError`
    when NVRTC is not installed. Results are cached in memory and on disk
    unless ``cache`` is False.
    """
    start = time.perf_counter()
    arch, opts = _resolve_arch(normalize_arch(arch), _check_options(options))
    name = name or DEFAULT_NAME
    key = _cache_key(source, opts, arch, name)
    hit = _memory_cache.get(key) if cache else None
    if hit is not None:
        return _replace_timing(hit, start, cached=True)
    entry = _read_disk(key) if cache else None
    cached = entry is not None
    if entry is None:
        entry = _build(source, arch, opts, name, key)
        if cache:
            _write_disk(key, entry)
    sigs = find_kernels(source)
    stats = entry["stats"]
    result = CompiledCuda(
        cubin=base64.b64decode(entry["cubin"]), log=entry["log"],
        kernels=tuple(s.info(*stats.get(s.name, (None, None))) for s in sigs),
        seconds=time.perf_counter() - start, arch=arch, name=name, key=key, cached=cached, signatures=sigs,
    )
    if cache:
        _memory_cache[key] = result
    return result


def _replace_timing(hit: CompiledCuda, start: float, *, cached: bool) -> CompiledCuda:
    return replace(hit, seconds=time.perf_counter() - start, cached=cached)


# --------------------------------------------------------------------------- launch bookkeeping


def _make_launch_counter() -> tuple[Callable[[str], None], Callable[[], dict[str, int]], Callable[[], None]]:
    # The counts live in this closure, not in a module attribute a candidate
    # could overwrite by name; the harness keeps its own references to the
    # two public functions, taken before any candidate is imported.
    counts: dict[str, int] = {}
    lock = threading.Lock()

    def record(kernel: str) -> None:
        with lock:
            counts[kernel] = counts.get(kernel, 0) + 1

    def launch_counts() -> dict[str, int]:
        """Launches per kernel name since the last reset (a copy)."""
        with lock:
            return dict(counts)

    def reset_launch_counts() -> None:
        """Set every launch count back to zero."""
        with lock:
            counts.clear()

    return record, launch_counts, reset_launch_counts


_record_launch, launch_counts, reset_launch_counts = _make_launch_counter()


# --------------------------------------------------------------------------- device side


def _driver() -> Any:
    from cupy_backends.cuda.api import driver

    return driver


_cuda_torch: list[Any] = []  # torch, once a GPU was found: launches skip the checks


def _torch_cuda() -> Any:
    if _cuda_torch:
        return _cuda_torch[0]
    try:
        import torch
    except ImportError as err:
        raise CudarwinError("launching kernels needs torch", hint="pip install torch") from err
    if not torch.cuda.is_available():
        raise CudarwinError(
            "load_cuda needs a CUDA GPU and none is visible "
            f"(CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES', '<unset>')!r})",
            hint="to only compile, use cudarwin.runtime.compile_cuda(source, arch='sm_90')",
        )
    _cuda_torch.append(torch)
    return torch


def current_arch() -> str:
    """The architecture of torch's current CUDA device, e.g. ``"sm_90"``."""
    torch = _torch_cuda()
    major, minor = torch.cuda.get_device_capability()
    return f"sm_{major}{minor}"


def _make_current(device: int) -> int:
    """Make ``device``'s primary context (the one torch uses) current on this
    thread and return its handle."""
    try:
        from cupy_backends.cuda.api import runtime

        runtime.setDevice(device)  # since CUDA 12 this also initialises the primary context
    except Exception:  # CuPy's CUDA runtime may not match the driver: let torch do it
        torch = _torch_cuda()
        torch.cuda.set_device(device)
        torch.empty(1, device=f"cuda:{device}")  # forces the context into existence
    context = int(_driver().ctxGetCurrent())
    if not context:
        raise CudaLaunchError(f"no CUDA context could be made current for device {device}")
    return context


class _LoadedImage:
    """A cubin loaded into one device's primary context."""

    def __init__(self, cubin: bytes, device: int):
        self.device = device
        self.context = _make_current(device)
        driver = _driver()
        try:
            self.handle = driver.moduleLoadData(cubin)
        except driver.CUDADriverError as err:
            raise CudaLaunchError(
                f"the CUDA driver cannot load the compiled kernels ({err})",
                hint=f"NVRTC {'.'.join(map(str, nvrtc_version()))} may be newer than the driver; "
                "install an nvidia-cuda-nvrtc matching it",
            ) from err
        self._functions: dict[str, int] = {}
        self.shared_limit: dict[str, int] = {}

    def function(self, name: str) -> int:
        if name not in self._functions:
            driver = _driver()
            try:
                self._functions[name] = driver.moduleGetFunction(self.handle, name)
            except driver.CUDADriverError as err:
                raise CudaLaunchError(
                    f"kernel {name} is not in the compiled module ({err}); is its definition left out by #if?"
                ) from err
        return self._functions[name]


class Kernel:
    """One launchable kernel of a :class:`CudaModule`."""

    def __init__(self, module: "CudaModule", signature: KernelSignature):
        self._module = module
        self.signature = signature
        self.__name__ = signature.name

    @property
    def name(self) -> str:
        return self.signature.name

    def __repr__(self) -> str:
        return f"<cudarwin kernel {self.signature.describe()}>"

    def convert(self, args: Sequence[Any]) -> list[Any]:
        """``args`` as ctypes values of the declared parameter types."""
        params = self.signature.params
        if isinstance(args, (str, bytes)) or not isinstance(args, Sequence):
            args = (args,)
        if len(args) != len(params):
            raise KernelArgumentError(
                f"kernel {self.name} takes {len(params)} arguments, got {len(args)}; "
                f"signature: {self.signature.describe()}"
            )
        return [convert_argument(a, p, kernel=self.name, index=i) for i, (p, a) in enumerate(zip(params, args))]

    def __call__(
        self,
        grid: int | Sequence[int],
        block: int | Sequence[int],
        args: Sequence[Any] = (),
        *,
        shared_mem: int = 0,
    ) -> None:
        """Launch on torch's current stream (asynchronously, like any kernel).

        ``grid`` and ``block`` are an int or a tuple of up to 3 ints (CuPy's
        ``RawKernel`` order, so positional calls work too); ``args`` match the
        kernel's parameters; ``shared_mem`` is the dynamic shared memory in
        bytes -- above 48 KB the kernel's limit is raised automatically."""
        grid3, block3 = _dims(grid, "grid", self.name), _dims(block, "block", self.name)
        if not isinstance(shared_mem, (int, np.integer)) or shared_mem < 0:
            raise KernelArgumentError(f"shared_mem of kernel {self.name} must be a non-negative int")
        values = self.convert(args)
        self._module._launch(self.name, grid3, block3, values, int(shared_mem))
        _record_launch(self.name)


class CudaModule:
    """Compiled CUDA: one attribute per ``extern "C" __global__`` function."""

    def __init__(self, compiled: CompiledCuda | None, signatures: tuple[KernelSignature, ...], *, name: str):
        self._compiled = compiled
        self._name = name
        self._kernels = {s.name: Kernel(self, s) for s in signatures}
        self._images: dict[int, _LoadedImage] = {}
        self._lock = threading.Lock()

    @property
    def kernel_names(self) -> tuple[str, ...]:
        return tuple(self._kernels)

    @property
    def compiled(self) -> CompiledCuda | None:
        """The compile result; None in record mode."""
        return self._compiled

    def __getattr__(self, attr: str) -> Kernel:
        kernels = self.__dict__.get("_kernels", {})
        if attr in kernels:
            return kernels[attr]
        raise AttributeError(
            f"{self.__dict__.get('_name', DEFAULT_NAME)} has no extern \"C\" __global__ function {attr!r}; "
            f"kernels: {', '.join(kernels) or '(none)'}"
        )

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(self._kernels))

    def __repr__(self) -> str:
        return f"<cudarwin CudaModule {self._name} kernels={list(self._kernels)}>"

    def _image(self, device: int) -> _LoadedImage:
        with self._lock:
            if device not in self._images and self._compiled is not None:
                self._images[device] = _LoadedImage(self._compiled.cubin, device)
            return self._images[device]

    def _launch(self, name: str, grid: tuple[int, ...], block: tuple[int, ...], values: list[Any], shared: int) -> None:
        if self._compiled is None:
            raise CudarwinError(
                f"kernel {name} cannot run: cudarwin is in record mode ({MODE_ENV}=record, compile-only)"
            )
        torch = _cuda_torch[0] if _cuda_torch else _torch_cuda()
        device = torch.cuda.current_device()
        image = self._images.get(device) or self._image(device)
        driver = _driver()
        if driver.ctxGetCurrent() != image.context:
            _make_current(device)
        func = image.function(name)
        self._allow_shared(image, name, func, shared)
        stream = torch.cuda.current_stream(device).cuda_stream
        pointers = (ctypes.c_void_p * max(len(values), 1))(*[ctypes.addressof(v) for v in values])
        try:
            driver.launchKernel(func, *grid, *block, shared, stream, ctypes.addressof(pointers), 0)
        except driver.CUDADriverError as err:
            raise CudaLaunchError(
                f"launch of kernel {name} (grid={grid}, block={block}, shared_mem={shared}) failed: {err}"
            ) from err

    @staticmethod
    def _allow_shared(image: _LoadedImage, name: str, func: int, shared: int) -> None:
        if shared <= _STATIC_SHARED_LIMIT or image.shared_limit.get(name, 0) >= shared:
            return
        driver = _driver()
        try:
            driver.funcSetAttribute(func, driver.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, shared)
        except driver.CUDADriverError as err:
            raise CudaLaunchError(f"kernel {name} cannot use {shared} bytes of dynamic shared memory: {err}") from err
        image.shared_limit[name] = shared


# --------------------------------------------------------------------------- record mode


@dataclass(frozen=True)
class RecordedSource:
    """One CUDA source handed to ``load_cuda`` or ``load_inline`` in record mode."""

    backend: str  # "nvrtc" (load_cuda) or "load_inline"
    source: str  # the CUDA source (load_inline: its cuda_sources joined)
    options: tuple[str, ...] = ()  # load_cuda options / load_inline extra_cuda_cflags
    name: str = DEFAULT_NAME
    cpp_source: str = ""  # load_inline only: cpp_sources joined
    functions: tuple[str, ...] = ()  # load_inline only: the bound function names

    def to_dict(self) -> dict[str, Any]:
        return {"backend": self.backend, "source": self.source, "options": list(self.options),
                "name": self.name, "cpp_source": self.cpp_source, "functions": list(self.functions)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "RecordedSource":
        return cls(str(d["backend"]), str(d["source"]), tuple(map(str, d.get("options", ()))),
                   str(d.get("name", DEFAULT_NAME)), str(d.get("cpp_source", "")),
                   tuple(map(str, d.get("functions", ()))))


_recorded: list[RecordedSource] = []


def record_mode() -> bool:
    """True when ``CUDARWIN_RUNTIME_MODE=record``: record sources, compile nothing."""
    return os.environ.get(MODE_ENV, "").strip().lower() == "record"


def recorded_sources() -> tuple[RecordedSource, ...]:
    """The sources recorded so far in this process, in call order."""
    return tuple(_recorded)


def clear_recorded_sources() -> None:
    """Forget the recorded sources."""
    _recorded.clear()


def _joined(sources: str | Sequence[str] | None) -> str:
    if sources is None:
        return ""
    return sources if isinstance(sources, str) else "\n".join(sources)


class _RecordedExtension:
    """Stands in for a load_inline extension in record mode."""

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attr: str) -> Callable[..., Any]:
        if attr.startswith("__"):
            raise AttributeError(attr)

        def refuse(*_: Any, **__: Any) -> Any:
            raise CudarwinError(f"{self._name}.{attr} cannot run: cudarwin is in record mode (compile-only)")

        return refuse


def _recording_load_inline(name: str, cpp_sources: Any, cuda_sources: Any = None, functions: Any = None,
                           extra_cflags: Any = None, extra_cuda_cflags: Any = None, *args: Any,
                           **kwargs: Any) -> _RecordedExtension:
    names = [functions] if isinstance(functions, str) else list(functions or ())
    _recorded.append(RecordedSource(
        backend="load_inline", source=_joined(cuda_sources), options=tuple(extra_cuda_cflags or ()),
        name=str(name), cpp_source=_joined(cpp_sources), functions=tuple(map(str, names)),
    ))
    return _RecordedExtension(str(name))


_CPP_EXTENSION = "torch.utils.cpp_extension"


class _PatchOnImport(importlib.abc.MetaPathFinder):
    """Patches torch.utils.cpp_extension right after it is first imported, so
    record mode costs no torch import for candidates that never use it."""

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname != _CPP_EXTENSION:
            return None
        spec = next((s for f in sys.meta_path if f is not self and hasattr(f, "find_spec")
                     for s in [f.find_spec(fullname, path, target)] if s is not None), None)
        if spec is None or spec.loader is None:
            return None
        run = spec.loader.exec_module

        def exec_and_patch(module: Any) -> None:
            run(module)
            module.load_inline = _recording_load_inline

        spec.loader.exec_module = exec_and_patch  # type: ignore[method-assign]
        return spec


def install_load_inline_recorder() -> None:
    """Make ``torch.utils.cpp_extension.load_inline`` record instead of build.

    Used in record mode only (``cudarwin.runner.compile`` calls it before it
    imports a candidate). Patches the module now if torch has loaded it, or
    as soon as it is imported.
    """
    module = sys.modules.get(_CPP_EXTENSION)
    if module is not None:
        module.load_inline = _recording_load_inline  # type: ignore[attr-defined]
    elif not any(isinstance(f, _PatchOnImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _PatchOnImport())


# --------------------------------------------------------------------------- load_cuda


_modules: dict[str, CudaModule] = {}


def load_cuda(source: str, *, options: Sequence[str] = (), name: str | None = None) -> CudaModule:
    """Compile ``source`` for the current GPU and return its kernels.

    ``options`` are extra NVRTC options (e.g. ``"--use_fast_math"``); the
    architecture, ``--std=c++17`` and the CUDA include paths are added.
    ``"-arch=sm_90a"`` (the GPU's own architecture plus ``a``) turns on
    arch-specific instructions such as wgmma.
    ``name`` names the program in compiler messages (default candidate.cu).
    Compiled once per source, options and GPU architecture; later calls and
    later processes reuse the cached cubin. In record mode nothing is
    compiled (see the module documentation).
    """
    if not isinstance(source, str):
        raise CudarwinError(f"load_cuda expects the CUDA source as a str, got {type(source).__name__}")
    name = name or DEFAULT_NAME
    opts = _check_options(options)
    if record_mode():
        _recorded.append(RecordedSource("nvrtc", source, opts, name))
        return CudaModule(None, find_kernels(source), name=name)
    compiled = compile_cuda(source, arch=current_arch(), options=opts, name=name)
    if compiled.key not in _modules:
        _modules[compiled.key] = CudaModule(compiled, compiled.signatures, name=name)
    return _modules[compiled.key]


if record_mode():
    install_load_inline_recorder()
