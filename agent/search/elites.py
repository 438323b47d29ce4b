"""The elite archive of one task: the best accepted candidates per island."""

from __future__ import annotations

import random

from cudarwin.agent.proposer import Scored


class Elites:
    """Top ``size`` accepted candidates on each of ``islands`` islands."""

    def __init__(self, islands: int, size: int):
        self.size = max(1, size)
        self.islands: list[list[Scored]] = [[] for _ in range(max(1, islands))]

    def add(self, island: int, scored: Scored) -> bool:
        """Keep ``scored`` if accepted and among the island's best; True if kept."""
        if scored.evaluation is None or not scored.evaluation.accepted:
            return False
        pool = self.islands[island % len(self.islands)]
        if any(s.candidate.id == scored.candidate.id for s in pool):
            return False
        pool.append(scored)
        # Stable sort: ties keep arrival order, so runs are reproducible.
        pool.sort(key=lambda s: -s.fitness)
        del pool[self.size :]
        return scored in pool

    def members(self, island: int | None = None) -> list[Scored]:
        if island is not None:
            return list(self.islands[island % len(self.islands)])
        merged = sorted((s for pool in self.islands for s in pool), key=lambda s: -s.fitness)
        out, ids = [], set()
        for s in merged:
            if s.candidate.id not in ids:
                ids.add(s.candidate.id)
                out.append(s)
        return out

    def best(self) -> Scored | None:
        everyone = self.members()
        return everyone[0] if everyone else None

    def choose_parent(self, island: int, rng: random.Random, exploration: float) -> Scored | None:
        """Fitness-proportional choice on the island; with probability
        ``exploration`` a uniform choice from all islands instead."""
        pool = self.members(island) or self.members()
        if not pool:
            return None
        if rng.random() < exploration:
            return rng.choice(self.members())
        weights = [max(s.fitness, 1e-6) for s in pool]
        return rng.choices(pool, weights=weights, k=1)[0]

    def inspirations(self, parent: Scored, k: int) -> tuple[Scored, ...]:
        """The ``k`` best others across islands (different from the parent)."""
        return tuple(s for s in self.members() if s.candidate.id != parent.candidate.id)[:k]

    def migrate(self) -> None:
        """Ring migration: each island's best joins the next island."""
        bests = [pool[0] if pool else None for pool in self.islands]
        for i, best in enumerate(bests):
            if best is not None:
                self.add((i + 1) % len(self.islands), best)
