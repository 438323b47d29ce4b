"""The Proposer protocol: whatever produces candidate files for a task.

A search strategy builds a :class:`ProposalRequest` (what to ask for, with the
parent, inspirations and feedback it has) and hands it to a proposer; the
proposer answers with :class:`Proposal` values, each carrying a candidate or a
note saying why there is none. The LLM proposer (``cudarwin.agent.llm``) and
the offline proposer (``cudarwin.agent.offline``) both implement it.

Proposers never evaluate: the search does that, so a proposer is free to be
slow, remote or wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Protocol, runtime_checkable

from cudarwin.types import Candidate, Device, Evaluation, GpuInfo, Policy, ShapeResult, Task


class Mode(str, Enum):
    """What a request asks for."""

    TRANSLATE = "translate"  # a first correct version of the reference
    REPAIR = "repair"  # fix the parent, using the feedback of the last attempt(s)
    IMPROVE = "improve"  # a faster version of a correct parent (evolution)


@dataclass(frozen=True)
class Scored:
    """A candidate with its evaluation (None while not yet evaluated)."""

    candidate: Candidate
    evaluation: Evaluation | None = None

    @property
    def fitness(self) -> float:
        return self.evaluation.fitness if self.evaluation is not None else 0.0


@dataclass(frozen=True)
class Attempt:
    """One earlier turn of a repair conversation, to be reported back.

    ``problem`` holds what went wrong before evaluation (a reply without code,
    an edit that did not apply, a truncated reply); ``evaluation`` what the
    evaluator said about the candidate that was extracted.
    """

    reply: str  # the proposer's raw answer ("" for proposers without text)
    candidate: Candidate | None = None
    evaluation: Evaluation | None = None
    problem: str = ""


@dataclass(frozen=True)
class ProposalRequest:
    """Everything a proposer may use to write the next candidate(s)."""

    task: Task
    mode: Mode
    policy: Policy = Policy.STRICT
    device: Device = Device.CUDA  # CPU: torch-level candidates are acceptable
    parent: Scored | None = None  # None for TRANSLATE
    inspirations: tuple[Scored, ...] = ()  # other elites, best first
    history: tuple[Attempt, ...] = ()  # earlier turns of this conversation, oldest first
    hardware: GpuInfo = GpuInfo()  # the target GPU (ignored on the CPU)
    baselines: tuple[ShapeResult, ...] = ()  # eager/compile timings and floor per shape, if measured
    count: int = 1  # how many proposals are wanted
    generation: int = 0
    island: int = 0
    seed: int = 0  # for proposers that sample; the same request and seed give the same answer
    sample_index: int = 0  # distinguishes repeated identical requests (part of the LLM cache key)
    conversation: str = ""  # names the exchange this request belongs to (for records)

    def __post_init__(self) -> None:
        object.__setattr__(self, "device", Device(self.device))


@dataclass(frozen=True)
class Proposal:
    """One answer: a candidate, or ``candidate=None`` with a note saying why."""

    candidate: Candidate | None
    note: str = ""  # rationale, or why there is no candidate
    proposer: str = ""  # e.g. "offline", "llm:gpt-4.1"
    reply: str = ""  # the raw text answer, kept for the next repair turn
    problem: str = ""  # parse problem to report back (edit did not apply, no code, truncated)
    usage: tuple[tuple[str, float], ...] = field(default=(), compare=False)  # tokens, cost
    call_key: str = ""  # the LLM request that produced this answer (links archive rows)

    @property
    def ok(self) -> bool:
        return self.candidate is not None


@runtime_checkable
class Proposer(Protocol):
    """Produces candidates for a request. Implementations must be safe to call
    concurrently from one event loop; an optional ``async aclose()`` releases
    what they hold."""

    name: str

    async def propose(self, request: ProposalRequest) -> list[Proposal]:
        """Return up to ``request.count`` proposals (at least one, possibly a
        "no proposal" note); never raise for a bad model answer."""
        ...


async def close_proposer(proposer: Proposer) -> None:
    """Call the proposer's optional ``async aclose()`` (connections, files)."""
    closer = getattr(proposer, "aclose", None)
    if closer is not None:
        await closer()
