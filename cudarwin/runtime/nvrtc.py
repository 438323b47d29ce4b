"""The NVRTC toolchain: loading the library, the target architecture, the
compiler options, and one compile of a source to a cubin.

NVRTC comes from CuPy's bindings (``pip install cudarwin[cuda]``). The
headers NVRTC sees are chosen by :mod:`cudarwin.runtime.headers`.
"""

from __future__ import annotations

import re
from typing import Any, Sequence

from cudarwin.runtime.headers import _NO_HEADERS, _PRELUDE_NAME, _builtin_headers, cuda_include_dirs
from cudarwin.types import CudarwinError

__all__ = ["DEFAULT_NAME", "INSTALL_HINT", "CudaCompileError", "normalize_arch", "nvrtc_available", "nvrtc_version"]

DEFAULT_NAME = "candidate.cu"
INSTALL_HINT = "pip install cudarwin[cuda]"


class CudaCompileError(CudarwinError):
    """NVRTC rejected a CUDA source. ``log`` holds the compiler's log; its line
    numbers are those of the source as given."""

    def __init__(self, name: str, arch: str, log: str):
        self.log = log
        self.arch = arch
        super().__init__(f"CUDA compile failed for {arch}:\n{log}", path=name)


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
