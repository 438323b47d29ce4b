"""The compile-only path: find a candidate's CUDA and compile it, without a GPU.

A candidate may build its CUDA source any way Python allows (f-strings,
``.format``, concatenation, helper functions), so the source is not read
from the file's text: the candidate's top level is *run*, in a fresh
subprocess with no GPU visible and ``CUDARWIN_RUNTIME_MODE=record``, where
``load_cuda`` and ``torch.utils.cpp_extension.load_inline`` record what they
are given instead of compiling it (see ``cudarwin.runtime``). The recorded
sources are then compiled here: NVRTC sources with ``compile_cuda``,
``load_inline`` sources with ``nvcc -c`` against torch's headers.

Decisions:

* An import that fails (an exception, a timeout, an exit) makes the report
  ``ok=False``: sources after the failing line were never recorded, so
  compile-only cannot vouch for the candidate. The log starts with
  ``import failed``.
* When ``nvcc`` is not installed, ``load_inline`` sources cannot be checked;
  the report stays ``ok=True`` and its log says so -- the evaluation worker
  compiles them for real before anything runs.
* A candidate without CUDA sources gives ``ok=True, sources=0``; whether that
  is acceptable is the verifier's decision.

This path is a fast pre-check, not a security boundary: the candidate runs
as an ordinary subprocess here, and the GPU worker compiles what actually
runs.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from cudarwin.runtime import (
    INSTALL_HINT,
    CudaCompileError,
    RecordedSource,
    compile_cuda,
    find_kernels,
    normalize_arch,
    nvrtc_available,
)
from cudarwin.types import Candidate, CompileReport, CudarwinError, KernelInfo

__all__ = ["Extraction", "compile_candidate", "compile_load_inline", "extract_cuda_sources", "find_nvcc"]

_CANDIDATE_FILE = "candidate.py"
_RESULT_FILE = "recorded.json"
_OUTPUT_FILE = "output.txt"
_LOG_LIMIT = 20_000  # bytes of the child's output kept in an error
_FILE_LIMIT = 64 * 1024 * 1024  # largest file the child may write

# Runs in the child: import the candidate with recording on, then write what
# was recorded. Frames outside the candidate are cut from tracebacks.
_CHILD = r"""
import importlib.util, json, sys, traceback
result_path, candidate_path = sys.argv[1], sys.argv[2]
import cudarwin.runtime as rt
rt.install_load_inline_recorder()
error = ""
try:
    spec = importlib.util.spec_from_file_location("candidate", candidate_path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["candidate"] = module
    spec.loader.exec_module(module)
except BaseException as exc:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == candidate_path]
    error = "".join(traceback.format_list(frames) + traceback.format_exception_only(type(exc), exc))
with open(result_path, "w") as fh:
    json.dump({"error": error, "sources": [s.to_dict() for s in rt.recorded_sources()]}, fh)
"""


@dataclass(frozen=True)
class Extraction:
    """What importing a candidate in record mode produced.

    Iterating, indexing and ``len`` go over ``sources``, so it can be used
    where a list of sources is expected.
    """

    sources: tuple[RecordedSource, ...]  # in call order
    error: str = ""  # why the import failed; "" when it succeeded
    timed_out: bool = False
    seconds: float = 0.0  # wall time of the import subprocess

    @property
    def ok(self) -> bool:
        return not self.error

    def __iter__(self) -> Iterator[RecordedSource]:
        return iter(self.sources)

    def __len__(self) -> int:
        return len(self.sources)

    def __getitem__(self, index: int) -> RecordedSource:
        return self.sources[index]


def _child_env(workdir: str) -> dict[str, str]:
    """A small environment: no GPU, record mode, home in the private dir."""
    keep = ("PATH", "LANG", "LC_ALL", "LD_LIBRARY_PATH", "CUDA_HOME", "CUDA_PATH", "CUDARWIN_CACHE_DIR")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env.update(CUDARWIN_RUNTIME_MODE="record", CUDA_VISIBLE_DEVICES="", HOME=workdir,
               TMPDIR=workdir, PYTHONDONTWRITEBYTECODE="1")
    return env


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Kill the child and anything it started (it leads its own session)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


def _limit_file_size(pid: int) -> None:
    # A candidate that prints or writes without end is stopped (SIGXFSZ)
    # instead of filling the disk.
    try:
        import resource

        resource.prlimit(pid, resource.RLIMIT_FSIZE, (_FILE_LIMIT, _FILE_LIMIT))
    except (ImportError, AttributeError, OSError):
        pass  # not Linux: the timeout still bounds the damage


def _tail(path: Path) -> str:
    try:
        with path.open("rb") as fh:
            fh.seek(max(0, path.stat().st_size - _LOG_LIMIT))
            return fh.read().decode(errors="replace").strip()
    except OSError:
        return ""


def _read_result(workdir: Path, returncode: int) -> tuple[tuple[RecordedSource, ...], str]:
    try:
        data = json.loads((workdir / _RESULT_FILE).read_text())
    except (OSError, ValueError):
        tail = _tail(workdir / _OUTPUT_FILE)
        return (), f"the candidate's process exited with code {returncode} before finishing its import\n{tail}".strip()
    sources = tuple(RecordedSource.from_dict(s) for s in data.get("sources", ()))
    return sources, str(data.get("error", ""))


def _run_child(workdir: Path, timeout: float) -> tuple[int | None, bool]:
    """Run the record-mode import; (exit code, timed out)."""
    with (workdir / _OUTPUT_FILE).open("wb") as output:
        proc = subprocess.Popen(
            [sys.executable, "-I", "-c", _CHILD, str(workdir / _RESULT_FILE), str(workdir / _CANDIDATE_FILE)],
            cwd=workdir, env=_child_env(str(workdir)), stdin=subprocess.DEVNULL,
            stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
        )
        _limit_file_size(proc.pid)
        try:
            proc.wait(timeout=timeout)
            return proc.returncode, False
        except subprocess.TimeoutExpired:
            return None, True
        finally:
            _kill_group(proc)  # also ends anything it left running


def extract_cuda_sources(candidate_source: str, *, timeout: float = 60) -> Extraction:
    """Import ``candidate_source`` in record mode and return the CUDA sources
    its top level handed to ``load_cuda`` / ``load_inline``.

    Runs in a fresh ``python -I`` subprocess with no GPU visible, in a private
    temporary directory, killed after ``timeout`` seconds (with anything it
    started). Failures (an exception, a timeout, an early exit) come back in
    ``Extraction.error``.
    """
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="cudarwin-extract-") as tmp:
        workdir = Path(tmp)
        (workdir / _CANDIDATE_FILE).write_text(candidate_source)
        returncode, timed_out = _run_child(workdir, timeout)
        if timed_out:
            error = f"importing the candidate took longer than {timeout:g} s and was stopped"
            return Extraction((), error, timed_out=True, seconds=time.perf_counter() - start)
        sources, error = _read_result(workdir, returncode or 0)
    error = error.replace(str(workdir / _CANDIDATE_FILE), _CANDIDATE_FILE)  # temp paths mean nothing to a reader
    return Extraction(sources, error, seconds=time.perf_counter() - start)


# --------------------------------------------------------------------------- load_inline via nvcc


def find_nvcc() -> str | None:
    """Path of nvcc: CUDA_HOME/CUDA_PATH first, then PATH, then /usr/local/cuda."""
    for var in ("CUDA_HOME", "CUDA_PATH"):
        if os.environ.get(var) and Path(os.environ[var], "bin", "nvcc").is_file():
            return str(Path(os.environ[var], "bin", "nvcc"))
    found = shutil.which("nvcc")
    if found:
        return found
    default = Path("/usr/local/cuda/bin/nvcc")
    return str(default) if default.is_file() else None


# What load_inline itself puts before the cuda_sources; #line keeps the
# user's line numbers in nvcc's messages.
_INLINE_PREFIX = '#include <torch/types.h>\n#include <cuda.h>\n#include <cuda_runtime.h>\n#line 1 "{name}"\n'
# Flags torch's extension builder passes to nvcc for every CUDA file.
_FALLBACK_NVCC_FLAGS = (
    "-D__CUDA_NO_HALF_OPERATORS__", "-D__CUDA_NO_HALF_CONVERSIONS__", "-D__CUDA_NO_BFLOAT16_CONVERSIONS__",
    "-D__CUDA_NO_HALF2_OPERATORS__", "--expt-relaxed-constexpr",
)


def _torch_nvcc_flags(user_flags: tuple[str, ...]) -> list[str]:
    """The flags torch's extension builder gives nvcc (its C++ standard included)."""
    from torch.utils import cpp_extension

    flags = list(getattr(cpp_extension, "COMMON_NVCC_FLAGS", _FALLBACK_NVCC_FLAGS))
    if not any(f.startswith(("-std", "--std")) for f in user_flags):
        flags.append("-std=c++20")  # recent torch headers need it; nvcc >= 12 has it
    includes = [*cpp_extension.include_paths(), sysconfig.get_paths()["include"]]
    return flags + ["-Xcompiler", "-fPIC"] + [f"-I{d}" for d in includes]


def compile_load_inline(recorded: RecordedSource, *, arch: str, nvcc: str, timeout: float = 600) -> tuple[bool, str]:
    """Compile a ``load_inline`` source's CUDA part with ``nvcc -c``.

    Returns (ok, log). Only the CUDA translation unit is compiled: the C++
    bindings (``cpp_sources``) need a host toolchain and do not hold kernels.
    """
    name = f"{recorded.name}.cu"
    with tempfile.TemporaryDirectory(prefix="cudarwin-nvcc-") as workdir:
        src = Path(workdir, name)
        src.write_text(_INLINE_PREFIX.format(name=name) + recorded.source)
        cmd = [nvcc, "-c", str(src), "-o", str(Path(workdir, "cuda.o")), f"-arch={arch}",
               *_torch_nvcc_flags(recorded.options), f"-DTORCH_EXTENSION_NAME={recorded.name}",
               *recorded.options]
        try:
            proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return False, f"nvcc took longer than {timeout:g} s on {name}"
    log = (proc.stdout + proc.stderr).replace(str(src), name).strip()
    return proc.returncode == 0, log


# --------------------------------------------------------------------------- compile_candidate


def _compile_one(recorded: RecordedSource, arch: str, nvcc: str | None) -> tuple[bool, str, tuple[KernelInfo, ...]]:
    if recorded.backend == "nvrtc":
        try:
            compiled = compile_cuda(recorded.source, arch=arch, options=recorded.options, name=recorded.name)
        except CudaCompileError as err:
            return False, err.log, ()
        except CudarwinError as err:
            return False, str(err), ()
        return True, compiled.log, compiled.kernels
    kernels = tuple(k.info() for k in find_kernels(recorded.source, extern_c_only=False))
    if nvcc is None:
        return True, "nvcc not found: load_inline CUDA sources were not compiled (install the CUDA toolkit)", kernels
    ok, log = compile_load_inline(recorded, arch=arch, nvcc=nvcc)
    return ok, log, kernels if ok else ()


def _header(index: int, recorded: RecordedSource) -> str:
    via = "load_cuda" if recorded.backend == "nvrtc" else "load_inline"
    return f"== source {index + 1} ({via}, {recorded.name}) =="


def compile_candidate(candidate: Candidate, *, arch: str = "sm_90", timeout: float = 60) -> CompileReport:
    """Find and compile every CUDA source of ``candidate`` for ``arch``; no GPU needed.

    Never raises for a bad candidate: import failures and compile errors come
    back as ``ok=False`` with the log. ``seconds`` is the wall time of the
    compiles (the import that finds the sources is not counted). A malformed
    ``arch`` or a missing NVRTC raises CudarwinError: neither is the
    candidate's fault.
    """
    return compile_sources(extract_cuda_sources(candidate.source, timeout=timeout), arch=arch)


def compile_sources(extraction: Extraction, *, arch: str = "sm_90") -> CompileReport:
    """Compile the sources an import in record mode found (see ``compile_candidate``)."""
    arch = normalize_arch(arch)
    backend = "load_inline" if any(s.backend == "load_inline" for s in extraction) else "nvrtc"
    if not extraction.ok:
        return CompileReport(ok=False, arch=arch, seconds=0.0, log=f"import failed:\n{extraction.error}".rstrip(),
                             sources=len(extraction), backend=backend)
    if any(s.backend == "nvrtc" for s in extraction) and not nvrtc_available():
        raise CudarwinError("compile-only needs NVRTC to compile load_cuda sources", hint=INSTALL_HINT)
    nvcc = find_nvcc() if backend == "load_inline" else None
    start = time.perf_counter()
    ok, logs, kernels = True, [], []
    for index, recorded in enumerate(extraction):
        one_ok, log, found = _compile_one(recorded, arch, nvcc)
        ok &= one_ok
        kernels.extend(found)
        if log:
            logs.append(f"{_header(index, recorded)}\n{log}")
    return CompileReport(ok=ok, arch=arch, seconds=time.perf_counter() - start, kernels=tuple(kernels),
                         log="\n\n".join(logs), sources=len(extraction), backend=backend)
