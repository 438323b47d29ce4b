"""Declared tunables of a candidate file, and their mutation.

Format (one tunable = two consecutive lines at module level)::

    # tunable: BLOCK = 256 in [64, 128, 256, 512]
    BLOCK = 256

The comment declares the name, the default and the allowed values (a Python
list literal of ints, floats or strings); the assignment right below it holds
the value in use, which the file uses when it builds its CUDA source or
launches. Autotuning rewrites only the assignment line, with a value from the
list; everything else in the file stays byte-identical.
"""

from __future__ import annotations

import ast
import random
import re
from dataclasses import dataclass, replace
from typing import Any

from cudarwin.types import Candidate, CudarwinError

_DECL = re.compile(r"^# tunable: (?P<name>[A-Za-z_][A-Za-z0-9_]*) = (?P<default>.+?) in (?P<choices>\[.*\])\s*$")
_ASSIGN = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*) = (?P<value>.+?)\s*$")


@dataclass(frozen=True)
class Tunable:
    """One declared tunable."""

    name: str
    default: Any
    choices: tuple[Any, ...]
    value: Any  # the value currently assigned in the file
    line: int  # 0-based index of the assignment line


def declaration(name: str, default: Any, choices: tuple[Any, ...] | list[Any]) -> str:
    """The two lines declaring a tunable, as they appear in a candidate file."""
    if default not in choices:
        raise ValueError(f"default {default!r} of tunable {name} is not among {list(choices)!r}")
    return f"# tunable: {name} = {default!r} in {list(choices)!r}\n{name} = {default!r}\n"


def parse_tunables(source: str) -> tuple[Tunable, ...]:
    """Every tunable declared in ``source``; raises CudarwinError on a malformed one."""
    lines = source.splitlines()
    found: list[Tunable] = []
    for k, line in enumerate(lines):
        m = _DECL.match(line)
        if not m:
            continue
        a = _ASSIGN.match(lines[k + 1]) if k + 1 < len(lines) else None
        if a is None or a["name"] != m["name"]:
            raise CudarwinError(f"tunable {m['name']} must be followed by `{m['name']} = <value>`", line=k + 2)
        try:
            choices = tuple(ast.literal_eval(m["choices"]))
            default = ast.literal_eval(m["default"])
            value = ast.literal_eval(a["value"])
        except (ValueError, SyntaxError) as err:
            raise CudarwinError(f"tunable {m['name']}: values must be Python literals ({err})", line=k + 1) from None
        found.append(Tunable(m["name"], default, choices, value, k + 1))
    return tuple(found)


def set_tunables(source: str, values: dict[str, Any]) -> str:
    """``source`` with the given tunables' assignment lines rewritten."""
    lines = source.splitlines(keepends=True)
    declared = {t.name: t for t in parse_tunables(source)}
    for name, value in values.items():
        t = declared.get(name)
        if t is None:
            raise CudarwinError(f"no tunable named {name} in the candidate")
        if value not in t.choices:
            raise CudarwinError(f"tunable {name}: {value!r} is not one of {list(t.choices)!r}")
        end = "\n" if lines[t.line].endswith("\n") else ""
        lines[t.line] = f"{name} = {value!r}{end}"
    return "".join(lines)


def variants(candidate: Candidate, n: int, seed: int = 0) -> list[Candidate]:
    """Up to ``n`` distinct candidates that differ from ``candidate`` in their
    tunables: first every single-tunable change (nearest values first), then
    random combinations. Each carries its tunable values and the parent id."""
    tunables = parse_tunables(candidate.source)
    current = {t.name: t.value for t in tunables}
    seen = {tuple(sorted(current.items()))}
    picks: list[dict[str, Any]] = []
    singles = []
    for order, t in enumerate(tunables):
        idx = t.choices.index(t.value) if t.value in t.choices else 0
        singles += [(abs(k - idx), order, t.name, c) for k, c in enumerate(t.choices)]
    for _, _, name, c in sorted(singles, key=lambda s: s[:2]):
        _offer(picks, seen, {**current, name: c})
    rng = random.Random(seed)
    for _ in range(20 * n):
        if len(picks) >= n or not tunables:
            break
        _offer(picks, seen, {t.name: rng.choice(t.choices) for t in tunables})
    out = []
    for values in picks[:n]:
        source = set_tunables(candidate.source, values)
        out.append(replace(candidate, source=source, proposer="autotune", parents=(candidate.id,),
                           tunables=tuple(sorted(values.items())), note="tunable variant"))
    return out


def _offer(picks: list[dict[str, Any]], seen: set[tuple[tuple[str, Any], ...]], values: dict[str, Any]) -> None:
    key = tuple(sorted(values.items()))
    if key not in seen:
        seen.add(key)
        picks.append(values)
