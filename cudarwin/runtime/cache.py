"""``compile_cuda``: NVRTC behind a memory and a disk cache.

An entry is keyed by a hash of everything that affects the cubin (source,
options, architecture, program name, NVRTC version, include directories and
built-in headers). The disk cache lives in ``CUDARWIN_CACHE_DIR`` (default
``~/.cache/cudarwin/kernels``); its entries are trusted, so evaluation
workers should point it at a directory candidates cannot write.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Sequence

from cudarwin.runtime.headers import _headers_key, cuda_include_dirs
from cudarwin.runtime.nvrtc import (
    DEFAULT_NAME,
    _check_options,
    _clean_log,
    _ptxas_stats,
    _resolve_arch,
    _run_nvrtc,
    normalize_arch,
    nvrtc_version,
)
from cudarwin.runtime.signature import KernelSignature, find_kernels
from cudarwin.types import KernelInfo

__all__ = ["CACHE_ENV", "CompiledCuda", "cache_dir", "compile_cuda"]

CACHE_ENV = "CUDARWIN_CACHE_DIR"
_CACHE_FORMAT = 1


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
                list(cuda_include_dirs()), list(_headers_key(source))]
    return hashlib.sha256(json.dumps(material).encode()).hexdigest()


def cache_dir() -> Path:
    """Where compiled kernels are kept on disk (``CUDARWIN_CACHE_DIR``)."""
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache/cudarwin/kernels")


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
