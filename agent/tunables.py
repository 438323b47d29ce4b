"""Tunable constants a candidate declares, and rewriting their values.

A declaration is a comment followed (on the same or the next code line) by a
plain assignment::

    # tunable: BLOCK = 256 in [64, 128, 256, 512]
    BLOCK = 256

Autotuning changes the assignment only; the comment keeps the choices.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Any

_DECL = re.compile(r"#\s*tunable:\s*([A-Za-z_]\w*)\s*(?::\s*\w+\s*)?=\s*(.+?)\s+in\s+(\[.*\])\s*$")


@dataclass(frozen=True)
class Tunable:
    name: str
    value: Any  # the value currently assigned in the code
    choices: tuple[Any, ...]


def _assign_pattern(name: str) -> re.Pattern[str]:
    return re.compile(rf"^(\s*{re.escape(name)}\s*(?::\s*\w+\s*)?=\s*)([^#\n]+?)(\s*(#.*)?)$", re.MULTILINE)


def declared_tunables(source: str) -> tuple[Tunable, ...]:
    """Tunables declared in ``source`` whose assignment exists and whose
    choices are literals; malformed declarations are ignored."""
    found: dict[str, Tunable] = {}
    for line in source.splitlines():
        m = _DECL.search(line)
        if not m or m.group(1) in found:
            continue
        name = m.group(1)
        try:
            choices = tuple(ast.literal_eval(m.group(3)))
        except (ValueError, SyntaxError, TypeError):
            continue
        assign = _assign_pattern(name).search(source)
        if assign is None or not choices:
            continue
        try:
            value = ast.literal_eval(assign.group(2).strip())
        except (ValueError, SyntaxError):
            continue
        found[name] = Tunable(name, value, choices)
    return tuple(found.values())


def set_tunable(source: str, name: str, value: Any) -> str:
    """``source`` with the first assignment of ``name`` set to ``value``."""
    pattern = _assign_pattern(name)
    if pattern.search(source) is None:
        raise KeyError(name)
    return pattern.sub(lambda m: f"{m.group(1)}{value!r}{m.group(3)}", source, count=1)


def neighbours(source: str) -> list[tuple[str, tuple[tuple[str, Any], ...]]]:
    """Every variant that moves one tunable to another of its choices:
    (new source, all tunable values of the variant)."""
    tunables = declared_tunables(source)
    base = {t.name: t.value for t in tunables}
    out = []
    for t in tunables:
        for choice in t.choices:
            if choice == t.value:
                continue
            values = dict(base, **{t.name: choice})
            out.append((set_tunable(source, t.name, choice), tuple(sorted(values.items()))))
    return out
