"""What ``#include`` finds under NVRTC: the CUDA include directories, and
the in-memory headers cudarwin adds (the standard-header shims of
:mod:`cudarwin.runtime.shims`, and ``<cub/cub.cuh>``'s device-side part).

A prelude header is pre-included (``--pre-include``) rather than prepended,
so compiler messages keep the source's own line numbers. It includes the
shims whose names a source uses without including them, as nvcc's implicit
``cuda_runtime.h`` would; for a source that uses none it is empty.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import os
import re
from pathlib import Path
from typing import Iterator

from cudarwin.runtime.shims import bare_includes, cub_device_subset, std_headers

__all__ = ["cuda_include_dirs"]


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
_LIBCUDACXX_CMATH = ("cuda/std/detail/libcxx/include/cmath", "cuda/std/cmath")


def _libcudacxx_spelling(dirs: tuple[str, ...], macro: str, fallback: str) -> str:
    """How the installed libcu++ defines ``macro`` for NVRTC, so that our
    definition is token for token the same and defining both is no warning."""
    pattern = re.compile(rf"^\s*#\s*define\s+{macro}\s+(.+?)\s*$", re.M)
    for d in dirs:
        for rel in _LIBCUDACXX_CMATH:
            try:
                found = pattern.search(Path(d, rel).read_text())
            except OSError:
                continue
            if found:
                return found.group(1)
    return fallback


@functools.lru_cache(maxsize=4)
def _static_headers(dirs: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """The standard-header shims and <cub/cub.cuh>, for these include dirs;
    none without libcu++ (the shims are built on it)."""
    if not any(Path(d, "cuda/std/cstdint").is_file() for d in dirs):
        return ()
    infinity = _libcudacxx_spelling(dirs, "INFINITY", "::cuda::std::numeric_limits<float>::infinity()")
    nan = _libcudacxx_spelling(dirs, "NAN", "::cuda::std::numeric_limits<float>::quiet_NaN()")
    headers = std_headers(infinity, nan)
    cub = next((Path(d, "cub/cub.cuh") for d in dirs if Path(d, "cub/cub.cuh").is_file()), None)
    subset = cub_device_subset(cub) if cub is not None else None
    if subset is not None:
        headers["cub/cub.cuh"] = subset
    return tuple(headers.items())


def _prelude(source: str, available: dict[str, str]) -> str:
    """Pre-includes for the names a source uses without their header that
    nvcc provides anyway. Only those used: libcu++ headers cost compile time
    (<utility> or <type_traits> about a second each)."""
    return "".join(f"#include <{name}>\n" for name in bare_includes(source) if name in available)


@functools.lru_cache(maxsize=4)
def _static_digest(dirs: tuple[str, ...]) -> str:
    return hashlib.sha256(json.dumps(_static_headers(dirs)).encode()).hexdigest()


def _headers_key(source: str) -> tuple[str, str]:
    """What the built-in headers contribute to a compile's cache key: the
    prelude, and a digest of the rest (cheaper than their 20 KB of text)."""
    dirs = cuda_include_dirs()
    return _prelude(source, dict(_static_headers(dirs))), _static_digest(dirs)


def _builtin_headers(source: str) -> dict[str, str]:
    """In-memory headers for NVRTC: the prelude (pre-included, so the
    source's line numbers stay its own), the standard-header shims of
    :mod:`cudarwin.runtime.shims` and <cub/cub.cuh>'s device-side part.

    NVRTC looks a header up here before the include path."""
    headers = dict(_static_headers(cuda_include_dirs()))
    return {_PRELUDE_NAME: _prelude(source, headers), **headers}
