"""Evolution: islands of elites, parents by fitness with an exploration share,
inspirations side by side, periodic migration, and autotuning of tunables.

Each generation's proposals and evaluations run concurrently; the elites are
updated at the end of the generation in a fixed order, so the choices of the
next generation (and of a resumed run) do not depend on which answer arrived
first.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from cudarwin.agent.proposer import Mode, Scored
from cudarwin.agent.search.autotune import autotune_step
from cudarwin.agent.search.base import rng_for
from cudarwin.agent.search.chain import ChainResult, run_chain
from cudarwin.agent.search.context import SearchContext, make_request
from cudarwin.agent.search.elites import Elites
from cudarwin.agent.search.translate import first_correct


async def _nothing() -> list[Scored]:
    return []


@dataclass
class Evolve:
    generations: int = 10
    islands: int = 2
    per_island: int = 2  # proposals per island per generation
    archive_size: int = 8  # elites kept per island
    exploration: float = 0.2  # share of parents chosen uniformly
    inspirations: int = 2
    migration_interval: int = 3  # generations between migrations (0 = never)
    repair_turns: int = 2
    init_samples: int = 2  # translate conversations in generation 0
    autotune_per_generation: int = 2  # tunable variants of the best per generation
    name: str = "evolve"

    async def run(self, ctx: SearchContext) -> None:
        elites = Elites(self.islands, self.archive_size)
        seeds = await first_correct(ctx, self.init_samples, self.repair_turns, island_of=lambda i: i % self.islands)
        self._absorb(ctx, elites, [(i % self.islands, r) for i, r in enumerate(seeds)])
        if ctx.stats.proposals and ctx.stats.proposals == ctx.stats.no_proposal:
            # every first request was declined without a problem to fix (e.g. the offline
            # proposer cannot handle an op): asking again each generation gets the same answer
            ctx.stop("no proposal")
            return
        for generation in range(1, self.generations + 1):
            if ctx.stopped:
                return
            await self._generation(ctx, elites, generation)
            if self.migration_interval and generation % self.migration_interval == 0:
                elites.migrate()

    async def _generation(self, ctx: SearchContext, elites: Elites, generation: int) -> None:
        islands = [island for island in range(self.islands) for _ in range(self.per_island)]
        chains = [self._slot(ctx, elites, generation, island, slot) for slot, island in enumerate(islands)]
        # Autotuning needs no LLM: its evaluations keep the GPUs busy while the chains wait for answers.
        best = elites.best()
        tune = self.autotune_per_generation if best is not None and not ctx.stopped else 0
        tuning = autotune_step(ctx, best, tune, generation=generation) if tune else _nothing()
        *results, tuned = await asyncio.gather(*chains, tuning)
        self._absorb(ctx, elites, list(zip(islands, results)))
        ctx.seen.update(s.candidate.id for s in tuned)
        for scored in tuned:
            elites.add(0, scored)
        ctx.settle()

    async def _slot(self, ctx: SearchContext, elites: Elites, generation: int, island: int, index: int) -> ChainResult:
        slot = index % self.per_island
        rng = rng_for(ctx, "evolve", generation, island, slot)
        parent = elites.choose_parent(island, rng, self.exploration)
        conversation = f"{ctx.task.name}/g{generation}/i{island}/s{slot}"
        # A distinct sample index per slot: identical prompts in two slots must not share a cached answer.
        common = dict(generation=generation, island=island, sample_index=generation * 10_000 + island * 100 + slot, conversation=conversation)
        if parent is None:  # nothing correct yet: keep trying to translate
            request = make_request(ctx, Mode.TRANSLATE, **common)
        else:
            request = make_request(ctx, Mode.IMPROVE, parent=parent, inspirations=elites.inspirations(parent, self.inspirations), **common)
        return await run_chain(ctx, request, self.repair_turns)

    def _absorb(self, ctx: SearchContext, elites: Elites, results: list[tuple[int, ChainResult]]) -> None:
        for island, result in results:
            ctx.seen.update(s.candidate.id for s in result.evaluated)
            for scored in result.evaluated:
                elites.add(island, scored)
