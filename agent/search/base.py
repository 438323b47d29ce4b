"""Search strategies: what to ask for next, given what has been measured.

A strategy is any object with ``async run(ctx: SearchContext) -> None``;
the config picks one with Hydra's ``_target_`` (``cudarwin/conf/search/*.yaml``),
so a new strategy is a class and a YAML file, with no edit here.
"""

from __future__ import annotations

import hashlib
import random
from typing import Any, Mapping, Protocol

from cudarwin.agent.search.context import SearchContext
from cudarwin.types import CudarwinError


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
    """Instantiate the strategy named by ``cfg._target_`` with the other keys."""
    from hydra.utils import instantiate

    if "_target_" not in cfg:
        raise CudarwinError("the search config has no _target_", hint="use search=evolve, search=translate, ...")
    try:
        return instantiate(cfg, _convert_="all")
    except Exception as err:  # Hydra wraps import and signature errors
        raise CudarwinError(f"cannot build the search strategy {cfg['_target_']!r}: {err}", hint="check the search.* keys") from None
