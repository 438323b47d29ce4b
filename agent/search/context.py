"""What a search strategy works with for one task, and what it reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from cudarwin.agent.evaluation import EvalService
from cudarwin.agent.proposer import Mode, ProposalRequest, Proposer, Scored
from cudarwin.agent.store import RunStore
from cudarwin.types import Device, Evaluation, GpuInfo, Policy, ShapeResult, Task


@dataclass
class TaskStats:
    """Counters shown by the progress view and stored in the summary."""

    task: str
    proposals: int = 0
    no_proposal: int = 0  # answers without a usable candidate
    duplicates: int = 0  # exact duplicates rejected before evaluation
    evaluated: int = 0
    accepted: int = 0
    rejected: int = 0
    best_fitness: float = 0.0
    best_id: str = ""
    stopped: str = ""  # why the search ended early, if it did
    done: bool = False
    propose_s: float = 0.0  # time spent waiting for the proposer (LLM answers)
    search_s: float = 0.0  # wall time of this task's search, start to end

    def count(self, evaluation: Evaluation) -> None:
        self.evaluated += 1
        if evaluation.accepted:
            self.accepted += 1
        else:
            self.rejected += 1


@dataclass
class SearchContext:
    """One task's search: the proposer, the evaluations, and shared state."""

    task: Task
    proposer: Proposer
    evals: EvalService
    store: RunStore
    policy: Policy = Policy.STRICT
    device: Device = Device.CUDA
    hardware: GpuInfo = GpuInfo()  # the GPU prompts describe (unused on the CPU)
    seed: int = 0
    stats: TaskStats = field(init=False)
    seen: set[str] = field(default_factory=set)  # candidate ids proposed before the current generation
    best: Scored | None = None
    baselines: tuple[ShapeResult, ...] = ()  # shown in prompts; changed only by settle()
    _measured: tuple[ShapeResult, ...] = ()
    on_update: Callable[[TaskStats], None] = lambda stats: None

    def __post_init__(self) -> None:
        self.device = Device(self.device)
        self.stats = TaskStats(self.task.name)

    @property
    def stopped(self) -> bool:
        return bool(self.stats.stopped)

    def settle(self) -> None:
        """Between generations: let prompts show baselines measured so far.
        Never mid-generation, so prompts do not depend on which evaluation
        finished first (a resumed run must send the very same prompts)."""
        if self._measured and not any(b.eager is not None for b in self.baselines):
            self.baselines = self._measured

    def stop(self, reason: str) -> None:
        if not self.stats.stopped:
            self.stats.stopped = reason
            self.store.add_note(self.task.name, "stopped", reason)
        self.on_update(self.stats)

    def offer(self, scored: Scored) -> None:
        """Track the best accepted candidate and the measured baselines."""
        ev = scored.evaluation
        if ev is None or not ev.accepted:
            return
        if any(s.eager is not None for s in ev.shapes) and not self._measured:
            self._measured = tuple(
                ShapeResult(s.index, s.shape, eager=s.eager, compiled=s.compiled, floor_ms=s.floor_ms) for s in ev.shapes
            )
        # Ties go to the smaller id, so concurrent arrivals cannot change the outcome.
        if self.best is None or (scored.fitness, self.best.candidate.id) > (self.best.fitness, scored.candidate.id):
            self.best = scored
            self.stats.best_fitness = scored.fitness
            self.stats.best_id = scored.candidate.id
        self.on_update(self.stats)


def make_request(ctx: SearchContext, mode: Mode, **fields: object) -> ProposalRequest:
    """A request for this task filled with the context's policy, device,
    hardware, baselines and seed."""
    return ProposalRequest(
        task=ctx.task,
        mode=mode,
        policy=ctx.policy,
        device=ctx.device,
        hardware=ctx.hardware,
        baselines=ctx.baselines,
        seed=ctx.seed,
        **fields,  # type: ignore[arg-type]
    )
