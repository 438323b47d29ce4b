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

The package, one job per module:

* ``signature`` -- the kernels a source defines and their declared parameters;
* ``arguments`` -- launch arguments converted to those declared C types;
* ``headers`` -- the include directories and built-in headers NVRTC sees;
* ``shims`` -- the standard headers NVRTC lacks, written for device code;
* ``nvrtc`` -- the NVRTC library, target architecture, options, one compile;
* ``cache`` -- ``compile_cuda``: NVRTC behind a memory and a disk cache;
* ``launch`` -- launch counters, loading cubins, launching on torch's stream;
* ``record`` -- record mode, and ``load_inline`` recording;
* this file -- ``load_cuda`` and the public names.

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
include directories, so ``<cuda_fp16.h>``, ``<cuda_bf16.h>``, cub and
``<cuda/std/...>`` work. ``-default-device`` is *not* passed: helper functions
need ``__device__``, exactly as with nvcc, so a kernel written here compiles
there too. The C and C++ standard headers NVRTC lacks (``<cmath>``,
``<cfloat>``, ``<climits>``, ``<cstdint>``, ``<type_traits>``, ``<limits>``,
``<algorithm>``...) are built in (``shims``), and what nvcc gives device code
without any include (``INFINITY``, ``INT_MAX``, ``M_PI``, ``std::exp``,
``std::max``, ``int64_t``...) works without one here too.
Compiler messages keep the source's own line numbers: nothing is prepended.

The disk cache lives in ``CUDARWIN_CACHE_DIR`` (default
``~/.cache/cudarwin/kernels``). Its entries are trusted: evaluation workers
should point it at a directory candidates cannot write.
"""

from __future__ import annotations

from typing import Sequence

from cudarwin.runtime.arguments import KernelArgumentError, convert_argument
from cudarwin.runtime.cache import CACHE_ENV, CompiledCuda, cache_dir, compile_cuda
from cudarwin.runtime.headers import cuda_include_dirs
from cudarwin.runtime.launch import (
    CudaLaunchError,
    CudaModule,
    Kernel,
    current_arch,
    launch_counts,
    reset_launch_counts,
)
from cudarwin.runtime.nvrtc import (
    DEFAULT_NAME,
    INSTALL_HINT,
    CudaCompileError,
    _check_options,
    normalize_arch,
    nvrtc_available,
    nvrtc_version,
)
from cudarwin.runtime.record import (
    MODE_ENV,
    RecordedSource,
    _recorded,
    clear_recorded_sources,
    install_load_inline_recorder,
    record_mode,
    recorded_sources,
)
from cudarwin.runtime.signature import KernelSignature, Param, find_kernels, parse_params
from cudarwin.types import CudarwinError

__all__ = [
    "CACHE_ENV",
    "DEFAULT_NAME",
    "INSTALL_HINT",
    "MODE_ENV",
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
    "cache_dir",
    "compile_cuda",
    "convert_argument",
    "cuda_include_dirs",
    "current_arch",
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
