"""The one place an ``Evaluation`` is made: the verdict, the per-shape record, the rest.

Both the full pipeline (``runner/evaluator.py``) and the compile-only path
(``runner/checks.py``) end here, so an accepted or rejected candidate looks
the same whichever way it was judged.
"""

from __future__ import annotations

from typing import Mapping, Sequence

from cudarwin.types import (
    CompileReport, Evaluation, Policy, ReasonItem, Shape, ShapeResult, Stage, Status, Timing, Verdict,
)
from cudarwin.verifier.judge import TrialOutcome


def verdict(reasons: Sequence[ReasonItem], stage: Stage | None) -> Verdict:
    """Rejected by ``stage`` if there is any reason, else accepted (and no stage)."""
    if reasons:
        return Verdict(Status.REJECTED, tuple(reasons), stage)
    return Verdict(Status.ACCEPTED, (), None)


def shape_results(
    shapes: Sequence[Shape],
    trials: Sequence[TrialOutcome],
    timings: Mapping[int, Timing],
    baselines: Mapping[tuple[int, str], Timing | None],
    floors: Sequence[float | None],
) -> tuple[ShapeResult, ...]:
    """Per listed shape: the worst errors over its judged trials, its kernels, timings and floor."""
    out = []
    for i, shape in enumerate(shapes):
        judged = [t for t in trials if t.listed and t.shape_index == i and not t.fatal]
        errors = [t for t in judged if t.max_abs is not None]
        out.append(ShapeResult(
            index=i, shape=dict(shape),
            max_abs_err=max([0.0, *(t.max_abs for t in errors)]) if judged else None,
            max_rel_err=max([0.0, *(t.max_rel for t in errors)]) if judged else None,
            trials=len(judged), candidate=timings.get(i),
            eager=baselines.get((i, "eager")), compiled=baselines.get((i, "compile")),
            kernels_ran=tuple(sorted({k for t in judged for k in t.kernels})),
            floor_ms=floors[i] if i < len(floors) else None,
        ))
    return tuple(out)


def build_evaluation(
    *,
    task: str,
    candidate_id: str,
    policy: Policy,
    device: str,
    reasons: Sequence[ReasonItem] = (),
    stage: Stage | None = None,
    gpu: str = "",
    shapes: Sequence[ShapeResult] = (),
    compile: CompileReport | None = None,
    stage_seconds: Sequence[tuple[str, float]] = (),
    flags: Sequence[ReasonItem] = (),
    env: Sequence[tuple[str, str]] = (),
) -> Evaluation:
    """The pipeline's output; ``stage`` is the stage that found ``reasons`` (ignored when there are none)."""
    return Evaluation(
        task=task, candidate_id=candidate_id, verdict=verdict(reasons, stage), policy=policy, device=device,
        gpu=gpu, shapes=tuple(shapes), compile=compile, stage_seconds=tuple(stage_seconds), flags=tuple(flags),
        env=tuple(env),
    )
