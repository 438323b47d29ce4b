"""What ``#include`` finds under NVRTC: the CUDA include directories, and
the in-memory headers cudarwin adds.

A prelude header is pre-included (``--pre-include``) rather than prepended,
so compiler messages keep the source's own line numbers.
"""

from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path
from typing import Iterator

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
