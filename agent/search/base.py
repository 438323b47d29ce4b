"""Search strategies: what to ask for next, given what has been measured.

A strategy is any object with ``async run(ctx: SearchContext) -> None``;
``search._target_`` names an entry of :data:`STRATEGIES` (or an import path)
and the group's other keys are its constructor's arguments
(``cudarwin/conf/search/*.yaml``). A third-party strategy is a class and an
entry point in the group ``cudarwin.strategies``, with no edit here.
"""

from __future__ import annotations

import hashlib
import random
from typing import Any, Mapping, Protocol

from cudarwin.agent.search.context import SearchContext
from cudarwin.registry import Registry
from cudarwin.types import CudarwinError

STRATEGIES = Registry(
    "search strategy",
    "cudarwin.strategies",
    {
        "evolve": "cudarwin.agent.search.evolve:Evolve",
        "translate": "cudarwin.agent.search.translate:Translate",
        "repair": "cudarwin.agent.search.translate:Repair",
        "autotune": "cudarwin.agent.search.autotune:Autotune",
    },
    setting="search._target_",
)


class Strategy(Protocol):
    name: str

    async def run(self, ctx: SearchContext) -> None:
        """Search one task until done, the budget is spent or ``ctx.stopped``."""
        ...


def rng_for(ctx: SearchContext, *parts: object) -> random.Random:
    """A random stream fixed by the run seed, the task and ``parts``: the same
    decisions on a resumed run, whatever order coroutines finish in."""
    text = ":".join(str(p) for p in (ctx.seed, ctx.task.name, *parts))
    return random.Random(int(hashlib.sha256(text.encode()).hexdigest()[:16], 16))


def make_strategy(cfg: Mapping[str, Any]) -> Strategy:
    """The strategy named by ``cfg._target_``, made with the other keys."""
    params = dict(cfg)
    name = params.pop("_target_", None)
    if not name:
        raise CudarwinError("the search config has no _target_", hint=f"use search=evolve, search=translate, ... ({', '.join(STRATEGIES.names())})")
    cls = STRATEGIES.load(str(name))
    try:
        return cls(**params)
    except TypeError as err:  # an unknown or missing key
        raise CudarwinError(f"cannot build the search strategy {name!r}: {err}", hint="check the search.* keys") from None
