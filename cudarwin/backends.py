"""Run backends: the ``Evaluator`` protocol the search depends on, and the
registry that picks an implementation (``runner.backend``).

The search (``cudarwin.agent``) sees an evaluator only through this
protocol, so it never imports the runner's internals, and a backend that
runs the same evaluation elsewhere (a Ray cluster) plugs in by name. The
built-in ``local`` backend is ``cudarwin.runner.Evaluator``: one isolated
worker per candidate on this machine's GPUs (or CPU).

A backend is a callable ``factory(config: EvalConfig, **options) ->
Evaluator``; ``options`` are the keys of ``runner.<backend name>`` in the
config when that group exists (e.g. ``runner.ray.address``). A third-party
backend declares an entry point in the group ``cudarwin.backends``.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from cudarwin.registry import Registry
from cudarwin.types import Candidate, Device, Evaluation, GpuInfo, Task, Timing

BACKENDS = Registry("run backend", "cudarwin.backends", {"local": "cudarwin.runner:Evaluator"}, setting="runner.backend")


class EvalSettings(Protocol):
    """What the search reads of an evaluator's configuration."""

    device: Device | str  # where candidates run (a Device, or its string)
    baselines: tuple[str, ...]  # baseline modes measured: "eager", "compile"


@runtime_checkable
class Evaluator(Protocol):
    """Judges and times candidates; a context manager that releases its workers on exit."""

    config: EvalSettings
    gpu: GpuInfo | None  # the GPU evaluations run on, ceilings included; None without one

    def evaluate(self, task: Task, candidate: Candidate) -> Evaluation:
        """The full pipeline for one candidate. Blocking, thread-safe, never raises
        for a bad candidate: every fault is a verdict."""
        ...

    def baseline(self, task: Task, shape_index: int, mode: str) -> Timing | None:
        """The ``mode`` ("eager" or "compile") timing of one shape, measured once
        and then stored; None when it cannot be measured."""
        ...

    def missing_compile(self, tasks: list[Task]) -> list[tuple[Task, list[int]]]:
        """The tasks' shapes whose torch.compile baseline is not measured yet."""
        ...

    def precompile(self, work: list[tuple[Task, list[int]]], jobs: int) -> int:
        """Compile those baselines, ``jobs`` at a time; returns how many succeeded."""
        ...

    def close(self) -> None: ...

    def __enter__(self) -> Evaluator: ...

    def __exit__(self, *exc: object) -> None: ...

