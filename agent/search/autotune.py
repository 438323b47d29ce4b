"""Autotune: vary the declared tunables of the best candidate, without an LLM call."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from cudarwin.agent.proposer import Scored
from cudarwin.agent.search.context import SearchContext
from cudarwin.agent.search.translate import first_correct
from cudarwin.agent.tunables import neighbours
from cudarwin.types import Candidate


def tuned_variants(parent: Scored, seen: set[str], limit: int) -> list[Candidate]:
    """Up to ``limit`` unseen one-step variants of ``parent``'s tunables."""
    out = []
    for source, values in neighbours(parent.candidate.source):
        candidate = Candidate(source, proposer="autotune", parents=(parent.candidate.id,), tunables=values)
        if candidate.id not in seen and all(c.id != candidate.id for c in out):
            out.append(candidate)
        if len(out) >= limit:
            break
    return out


async def autotune_step(ctx: SearchContext, parent: Scored, limit: int, *, generation: int = 0, island: int = 0) -> list[Scored]:
    """Evaluate up to ``limit`` variants of ``parent`` concurrently. The caller
    adds them to ``ctx.seen`` at its next barrier."""
    variants = tuned_variants(parent, ctx.seen, limit)

    async def one(candidate: Candidate) -> Scored:
        ctx.store.add_candidate(candidate, task=ctx.task.name, generation=generation, island=island, model="autotune")
        ctx.stats.proposals += 1
        outcome = await ctx.evals.evaluate(ctx.task, candidate)
        ctx.stats.count(outcome.evaluation)
        return Scored(candidate, outcome.evaluation)

    results = list(await asyncio.gather(*(one(c) for c in variants)))
    for scored in results:
        ctx.offer(scored)
    return results


@dataclass
class Autotune:
    """Get a correct version (translate + repair), then hill-climb its tunables."""

    rounds: int = 5
    per_round: int = 4
    samples: int = 1
    turns: int = 3
    name: str = "autotune"

    async def run(self, ctx: SearchContext) -> None:
        await first_correct(ctx, self.samples, self.turns)
        for round_ in range(1, self.rounds + 1):
            if ctx.best is None or ctx.stopped:
                return
            before = ctx.best.candidate.id
            tried = await autotune_step(ctx, ctx.best, self.per_round, generation=round_)
            if not tried:
                return  # nothing left to try
            ctx.seen.update(s.candidate.id for s in tried)
            ctx.settle()
            if ctx.best.candidate.id == before and not tuned_variants(ctx.best, ctx.seen, 1):
                return
