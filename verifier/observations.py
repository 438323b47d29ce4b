"""What a worker observed, as typed values: the input of the verifier's judging.

The worker (``runner/worker.py``) loads, runs and times a candidate under the
guards of ``verifier.guards`` and reports what it saw as these frozen
dataclasses; ``runner/protocol.py`` carries them across the process boundary
and decodes them back, validating every field. The verifier then judges them
(``verifier/judge.py``) without knowing how they travelled: this module
imports nothing from the runner.

An observation either carries a ``fault`` (the call raised, the candidate
could not be imported...) and nothing else, or it carries what was measured.
Reason codes are ``Reason`` values, never strings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cudarwin.types import Reason

# Faults a worker may report; any other code on the channel is not the harness's.
WORKER_FAULTS = frozenset({
    Reason.COMPILE_ERROR, Reason.IMPORT_ERROR, Reason.NO_MODELNEW, Reason.REFERENCE_REUSE, Reason.INIT_ERROR,
    Reason.RUNTIME_ERROR, Reason.CUDA_ERROR, Reason.OUT_OF_MEMORY, Reason.EXITED, Reason.OUTPUT_FLOOD,
})
# What ``guards.check_output`` may find wrong with an output.
OUTPUT_ISSUES = frozenset({Reason.NOT_A_TENSOR, Reason.OUTPUT_ALIASES_INPUT})


@dataclass(frozen=True)
class Fault:
    """A request the worker could not complete."""

    code: Reason  # one of WORKER_FAULTS (FORGED_RESULT when the reply itself was bad)
    message: str
    traceback: str = ""  # the last frames, for the candidate's author
    fatal: bool = False  # the worker cannot go on (CUDA context broken, exit called)

    @property
    def detail(self) -> str:
        """The message with its traceback, as a verdict shows it."""
        return f"{self.message}\n{self.traceback}" if self.traceback else self.message


@dataclass(frozen=True)
class OutputIssue:
    """Why an output is not acceptable before its values are even compared."""

    code: Reason  # one of OUTPUT_ISSUES
    message: str


@dataclass(frozen=True)
class GuardFindings:
    """What the worker's guards saw around one call or one timing loop (empty when clean)."""

    tamper: tuple[str, ...] = ()  # watched functions replaced, global flags changed since the snapshot
    background: str | None = None  # threads or child processes left running, described
    mutated: bool = False  # the call changed its input tensors
    compute_ops: tuple[tuple[str, int], ...] = ()  # aten compute ops counted (strict policy), with counts
    launches: tuple[tuple[str, int], ...] | None = None  # custom kernel launches; None: not counted
    issue: OutputIssue | None = None  # the output is not a plain tensor, or aliases an input


@dataclass(frozen=True)
class LoadObservation:
    """Importing the candidate (or preparing a baseline model)."""

    fault: Fault | None = None
    import_s: float = 0.0  # wall time of the import (NVRTC compiles happen here)
    tamper: tuple[str, ...] = ()  # what importing changed among the watched functions and flags


@dataclass(frozen=True)
class RunObservation:
    """One correctness call."""

    fault: Fault | None = None
    guards: GuardFindings = GuardFindings()
    outputs: Any = None  # host tensors, scalars, or IPC descriptors; None when the guards refused them
    elapsed_s: float = 0.0


@dataclass(frozen=True)
class CheckedCall:
    """A timed call whose output the driver checks: which input set it ran on, and what it returned."""

    call: int  # index of the call in the timing loop (warm-up included)
    set: int  # which rotating input set
    roll: int  # how far that set's contents were rolled
    issue: OutputIssue | None = None
    outputs: Any = None


@dataclass(frozen=True)
class TimeObservation:
    """One timing loop on one shape."""

    fault: Fault | None = None
    event_ms: tuple[float, ...] = ()  # per timed call
    tail_ms: tuple[float, ...] = ()  # per timed call: device busy after the end event
    warmup_calls: int = 0
    checked: tuple[CheckedCall, ...] = ()  # the hidden checks, then the last call
    guards: GuardFindings = GuardFindings()  # launches are not counted inside the timed loop
    method: str = "cuda_events"  # or "wall_clock"


Observation = LoadObservation | RunObservation | TimeObservation
