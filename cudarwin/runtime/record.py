"""Record mode: import a candidate to find its CUDA without compiling or
running anything.

With ``CUDARWIN_RUNTIME_MODE=record``, ``load_cuda`` records its source and
returns kernels that refuse to run, and ``torch.utils.cpp_extension.load_inline``
is patched to record its sources the same way.
"""

from __future__ import annotations

import importlib.abc
import os
import sys
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from cudarwin.runtime.nvrtc import DEFAULT_NAME
from cudarwin.types import CudarwinError

__all__ = ["MODE_ENV", "RecordedSource", "clear_recorded_sources", "install_load_inline_recorder",
           "record_mode", "recorded_sources"]

MODE_ENV = "CUDARWIN_RUNTIME_MODE"


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
