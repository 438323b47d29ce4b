"""Named implementations of cudarwin's extension points, all loaded one way.

Each extension point (proposers, LLM providers, run backends, search
strategies) is a :class:`Registry`. Its built-in entries are ``module:attr``
names, exactly like the entry points another distribution declares in the
point's group, and both are imported only when chosen, through the same
``EntryPoint.load``: first-party code has no special path. A plugin declares,
in its own ``pyproject.toml``::

    [project.entry-points."cudarwin.proposers"]
    mine = "my_package.proposer:MySetup"

after which ``llm._target_=mine`` picks it. A config may also name an
implementation by its import path (``my_package.proposer:MySetup`` or the
Hydra-style ``my_package.proposer.MySetup``) without registering it.
"""

from __future__ import annotations

import importlib.util
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Mapping

from cudarwin.types import CudarwinError


class Registry:
    """One extension point: names -> implementations, imported when first chosen."""

    def __init__(self, kind: str, group: str, builtins: Mapping[str, str], setting: str):
        self.kind = kind  # what an entry is, for messages: "proposer"
        self.group = group  # the entry-point group plugins declare: "cudarwin.proposers"
        self.setting = setting  # the config key that names an entry: "llm._target_"
        self._builtins = {name: EntryPoint(name, value, group) for name, value in builtins.items()}
        self._added: dict[str, Any] = {}  # registered in-process with add()

    def add(self, name: str, obj: Any) -> Any:
        """Register ``obj`` as ``name`` in this process (a test double, a
        plugin that is not installed as a distribution). Returns ``obj``."""
        self._added[name] = obj
        return obj

    def names(self) -> list[str]:
        """Every name this point knows: built-in, added, and installed plugins."""
        return sorted(set(self._builtins) | set(self._added) | {ep.name for ep in self._plugins()})

    def load(self, name: str) -> Any:
        """The implementation registered as ``name``, or at the import path ``name``."""
        if name in self._added:
            return self._added[name]
        entry = self._builtins.get(name) or next((ep for ep in self._plugins() if ep.name == name), None)
        if entry is None and _looks_like_path(name):
            entry = EntryPoint(name, _entry_value(name), self.group)
        if entry is None:
            raise CudarwinError(
                f"unknown {self.kind} {name!r}",
                hint=f"set {self.setting} to one of: {', '.join(self.names())} (or a module:attr import path)",
            )
        try:
            return entry.load()
        except (ImportError, AttributeError) as err:
            raise CudarwinError(
                f"cannot import the {self.kind} {name!r} ({entry.value}): {err}",
                hint=f"is the package that provides it installed? ({self.setting})",
            ) from None

    def _plugins(self) -> tuple[EntryPoint, ...]:
        return tuple(entry_points(group=self.group))


def _looks_like_path(name: str) -> bool:
    return ":" in name or "." in name


def _entry_value(path: str) -> str:
    """``pkg.mod:attr`` as it is; ``pkg.mod.Attr`` (Hydra's spelling) split
    after the longest prefix that is an importable module."""
    if ":" in path:
        return path
    parts = path.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        module = ".".join(parts[:cut])
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):  # a parent that is not a package
            found = False
        if found:
            return f"{module}:{'.'.join(parts[cut:])}"
    return path  # EntryPoint.load then names the module that is missing

