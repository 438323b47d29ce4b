"""Compile a generated candidate's CUDA without a GPU.

The candidate is executed in-process with the runtime in record mode (our
own generated code, so no isolation is needed), which captures every
``load_cuda`` source with its options; each is then compiled with NVRTC for
the given architecture.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterator

from cudarwin import runtime
from cudarwin.runtime import CompiledCuda, RecordedSource


@contextmanager
def _record_mode() -> Iterator[None]:
    old = os.environ.get(runtime.MODE_ENV)
    os.environ[runtime.MODE_ENV] = "record"
    runtime.clear_recorded_sources()
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(runtime.MODE_ENV, None)
        else:
            os.environ[runtime.MODE_ENV] = old


def recorded(candidate_source: str) -> tuple[RecordedSource, ...]:
    """The CUDA sources (with options) that importing the candidate would compile."""
    with _record_mode():
        namespace: dict[str, object] = {"__name__": "cudarwin_offline_candidate"}
        exec(compile(candidate_source, "<candidate>", "exec"), namespace)  # noqa: S102 - generated here
        return runtime.recorded_sources()


def compile_candidate(candidate_source: str, arch: str = "sm_90") -> list[CompiledCuda]:
    """Compile every CUDA source of the candidate; raises CudaCompileError."""
    return [runtime.compile_cuda(r.source, arch=arch, options=r.options, cache=False) for r in recorded(candidate_source)]
