"""Declaring tunables in generated candidates, and tunable variants.

A candidate declares each tunable as two module-level lines::

    # tunable: BLOCK = 256 in [64, 128, 256, 512]
    BLOCK = 256

The comment names the tunable, its default and the allowed values (a Python
list literal); the assignment below it holds the value in use, from which the
file builds its NVRTC ``-D`` options and launch configuration. Autotuning
(``cudarwin.agent.tunables``, used by the autotune strategy) rewrites only
the assignment, with one of the listed values.
"""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any

from cudarwin.agent.tunables import declared_tunables, set_tunable
from cudarwin.types import Candidate


def declaration(name: str, default: Any, choices: tuple[Any, ...] | list[Any]) -> str:
    """The two lines declaring a tunable, as they appear in a candidate file."""
    if default not in choices:
        raise ValueError(f"default {default!r} of tunable {name} is not among {list(choices)!r}")
    return f"# tunable: {name} = {default!r} in {list(choices)!r}\n{name} = {default!r}\n"


def variants(candidate: Candidate, n: int, seed: int = 0) -> list[Candidate]:
    """Up to ``n`` distinct candidates differing from ``candidate`` only in
    tunable values: single changes first (values next to the current one
    before far ones), then random combinations drawn with ``seed``. Each
    records its tunable values and its parent's id."""
    tunables = declared_tunables(candidate.source)
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
        source = candidate.source
        for name, value in values.items():
            if value != current[name]:
                source = set_tunable(source, name, value)
        out.append(replace(candidate, source=source, proposer="autotune", parents=(candidate.id,),
                           tunables=tuple(sorted(values.items())), note="tunable variant"))
    return out


def _offer(picks: list[dict[str, Any]], seen: set[tuple[tuple[str, Any], ...]], values: dict[str, Any]) -> None:
    key = tuple(sorted(values.items()))
    if key not in seen:
        seen.add(key)
        picks.append(values)
