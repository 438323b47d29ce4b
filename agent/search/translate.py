"""Translate and repair: get a first correct version of the task."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from cudarwin.agent.proposer import Mode
from cudarwin.agent.search.chain import ChainResult, run_chain
from cudarwin.agent.search.context import SearchContext, make_request


async def first_correct(ctx: SearchContext, samples: int, turns: int, *, generation: int = 0, island_of=lambda i: 0) -> list[ChainResult]:
    """Run ``samples`` independent translate conversations concurrently,
    each with up to ``turns`` repair turns."""

    async def one(i: int) -> ChainResult:
        request = make_request(
            ctx, Mode.TRANSLATE, generation=generation, island=island_of(i), sample_index=generation * 10_000 + i,
            conversation=f"{ctx.task.name}/g{generation}/translate{i}",
        )
        return await run_chain(ctx, request, turns)

    results = await asyncio.gather(*(one(i) for i in range(max(1, samples))))
    for r in results:
        ctx.seen.update(s.candidate.id for s in r.evaluated)
    ctx.settle()
    return list(results)


@dataclass
class Translate:
    """A first correct version: ``samples`` one-shot attempts, no feedback turns."""

    samples: int = 1
    turns: int = 0
    name: str = "translate"

    async def run(self, ctx: SearchContext) -> None:
        await first_correct(ctx, self.samples, self.turns)


@dataclass
class Repair(Translate):
    """Translate with up to ``turns`` feedback turns (compile log, mismatch summary)."""

    turns: int = 3
    name: str = "repair"
