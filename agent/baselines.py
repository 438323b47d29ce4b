"""Baseline timings and roofline floors per shape for the first prompts,
before any candidate has been timed."""

from __future__ import annotations

from cudarwin.backends import Evaluator
from cudarwin.runner.hardware import floor_ms
from cudarwin.types import GpuInfo, ShapeResult, Task


def roofline_floor_ms(task: Task, shape_index: int, hw: GpuInfo) -> float | None:
    """max(flops / peak, bytes / bandwidth) in ms from the task's META, or None."""
    return floor_ms(task.meta.flops, task.meta.bytes, dict(task.shapes[shape_index]), hw.bandwidth, hw.peak_flops)


def initial_baselines(evaluator: Evaluator, task: Task, hw: GpuInfo, modes: tuple[str, ...] = ("eager", "compile")) -> tuple[ShapeResult, ...]:
    """Per shape: the evaluator's baselines (measured once, then stored by the
    runner) and the roofline floor. Blocking: call it from a worker thread."""
    out = []
    for i, shape in enumerate(task.shapes):
        timings = {}
        for mode in modes:
            try:
                timings[mode] = evaluator.baseline(task, i, mode)
            except Exception:  # a baseline that cannot be measured only leaves the prompt without it
                timings[mode] = None
        out.append(ShapeResult(i, shape, eager=timings.get("eager"), compiled=timings.get("compile"), floor_ms=roofline_floor_ms(task, i, hw)))
    return tuple(out)
