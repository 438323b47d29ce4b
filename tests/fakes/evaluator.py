"""A fake evaluator for fast search tests: the verdict is written in the
candidate's source as a marker assignment (code, not a comment, so that
candidates differing only in it have different ids).

    FAKE = "accept 2.5"        accepted, 2.5x over eager on every shape
    FAKE = "compile_error"     rejected at compile, with a compiler log
    FAKE = "mismatch"          rejected at correctness, with errors per shape
    FAKE = "cheat"             rejected: SHAPE_SPECIALIZED
A source without a marker is rejected as a runtime error.

It implements ``cudarwin.backends.Evaluator`` (a test checks that), with
no GPU and no baselines to measure.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field

from cudarwin.types import (
    Candidate, CompileReport, Device, Evaluation, GpuInfo, Policy, Reason, ReasonItem, ShapeResult, Stage, Status, Task, Timing,
    Verdict,
)

_MARK = re.compile(r"FAKE = \"(\w+)(?:\s+([\d.]+))?\"")


def _timing(ms: float) -> Timing:
    return Timing(ms, ms, ms, ms, ms, 0.0, 10, method="wall_clock")


@dataclass(frozen=True)
class FakeConfig:
    device: Device = Device.CPU
    baselines: tuple[str, ...] = ("eager",)


@dataclass
class FakeEvaluator:
    device: Device = Device.CPU
    gpu: GpuInfo | None = None  # no GPU to describe: prompts show placeholders
    calls: list[tuple[str, str]] = field(default_factory=list)  # (task, candidate id), in order
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def config(self) -> FakeConfig:
        return FakeConfig(self.device)

    def __enter__(self) -> "FakeEvaluator":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        pass

    def baseline(self, task: Task, shape_index: int, mode: str) -> Timing | None:
        return None

    def missing_compile(self, tasks: list[Task]) -> list[tuple[Task, list[int]]]:
        return []

    def precompile(self, work: list[tuple[Task, list[int]]], jobs: int) -> int:
        return 0

    def evaluate(self, task: Task, candidate: Candidate) -> Evaluation:
        with self._lock:
            self.calls.append((task.name, candidate.id))
        m = _MARK.search(candidate.source)
        kind = m.group(1) if m else "none"
        # A tunable variant is faster when BLOCK is larger, so autotuning has something to find.
        block = re.search(r"^BLOCK = (\d+)", candidate.source, re.MULTILINE)
        bonus = int(block.group(1)) / 256 if block else 1.0
        base = dict(task=task.name, candidate_id=candidate.id, policy=Policy.TORCH_OK, device=self.device)
        if kind == "accept":
            speed = float(m.group(2) or 1.0) * bonus
            shapes = tuple(
                ShapeResult(i, s, 0.0, 0.0, 3, candidate=_timing(1.0 / speed), eager=_timing(1.0), floor_ms=0.01)
                for i, s in enumerate(task.shapes)
            )
            return Evaluation(verdict=Verdict(Status.ACCEPTED), shapes=shapes, **base)
        if kind == "compile_error":
            log = "kernel.cu(4): error: identifier \"blockIdxx\" is undefined\n1 error detected"
            reason = ReasonItem(Reason.COMPILE_ERROR, "NVRTC failed")
            return Evaluation(verdict=Verdict(Status.REJECTED, (reason,), Stage.COMPILE), compile=CompileReport(False, "sm_90", 0.01, log=log), **base)
        if kind == "mismatch":
            shapes = tuple(ShapeResult(i, s, max_abs_err=0.5, max_rel_err=40.0, trials=1) for i, s in enumerate(task.shapes))
            reason = ReasonItem(Reason.MISMATCH, "values outside tolerance", 0)
            return Evaluation(verdict=Verdict(Status.REJECTED, (reason,), Stage.CORRECTNESS), shapes=shapes, **base)
        if kind == "cheat":
            reason = ReasonItem(Reason.SHAPE_SPECIALIZED, "correct on the headline shape only", 1)
            return Evaluation(verdict=Verdict(Status.REJECTED, (reason,), Stage.CORRECTNESS), **base)
        reason = ReasonItem(Reason.RUNTIME_ERROR, "forward raised")
        return Evaluation(verdict=Verdict(Status.REJECTED, (reason,), Stage.CORRECTNESS), **base)


def fake_backend(config, **options) -> FakeEvaluator:
    """A run backend (``runner.backend=fakes.evaluator:fake_backend``): the
    fake evaluator on the config's device; ``options`` are ``runner.<name>``."""
    return FakeEvaluator(device=Device(config.device))
