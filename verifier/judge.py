"""Judging: observations and reference outputs in, reasons out.

Pure functions, one per thing the worker can observe (loading, a correctness
call, a timing loop) plus the decisions that need several of them: a
candidate right on some shapes only, work that escaped the timed window, a
time below the physical floor. Nothing here starts a process or needs a
GPU; the runner gathers the observations and the references and asks.

The reasons keep the order in which the stages find them, and every fault a
worker reports (or a reply that could not be decoded, ``FORGED_RESULT``)
becomes a ``ReasonItem`` like any other finding.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from cudarwin.types import CompileReport, Policy, Reason, ReasonItem, Shape, Stage, Timing
from cudarwin.verifier.compare import compare
from cudarwin.verifier.inputs import InputRecipe, Variant
from cudarwin.verifier.observations import (
    CheckedCall, Fault, GuardFindings, LoadObservation, RunObservation, TimeObservation,
)

# (native-dtype reference, float64 reference) of one recipe, computed by the driver
Expected = Callable[[InputRecipe], tuple[Any, Any]]


@dataclass(frozen=True)
class Rules:
    """What judging one candidate depends on besides the observations."""

    policy: Policy = Policy.STRICT
    needs_kernel: bool = True  # a custom kernel must run on every call (GPU evaluations)
    atol: float | None = None  # the task's tolerances; None: the dtype's default
    rtol: float | None = None
    side_stream_gap_ms: float = 0.05  # device busy this long after the end event: hidden work
    roofline_margin: float = 0.8  # faster than this fraction of the floor is flagged


def fault_reason(fault: Fault, where: str = "", shape_index: int | None = None) -> ReasonItem:
    """A worker's fault as a reason, its traceback included."""
    return ReasonItem(fault.code, f"{where}: {fault.detail}" if where else fault.detail, shape_index)


# ----------------------------------------------------------------------------- loading


@dataclass(frozen=True)
class LoadVerdict:
    reasons: tuple[ReasonItem, ...]
    stage: Stage  # COMPILE for a compile error, else LOAD
    compile: CompileReport | None


def judge_load(obs: LoadObservation, arch: str, seconds: float) -> LoadVerdict:
    """Importing the candidate: ``seconds`` is how long the load request took (a compile error's time)."""
    fault = obs.fault
    if fault is not None and fault.code is Reason.COMPILE_ERROR:
        report = CompileReport(False, arch, seconds, log=fault.message)
        return LoadVerdict((ReasonItem(fault.code, fault.message),), Stage.COMPILE, report)
    if fault is not None:
        return LoadVerdict((fault_reason(fault),), Stage.LOAD, None)
    report = CompileReport(True, arch, obs.import_s)
    if obs.tamper:
        return LoadVerdict((ReasonItem(Reason.TAMPERING, "importing the candidate changed: " + "; ".join(obs.tamper)),),
                           Stage.LOAD, report)
    return LoadVerdict((), Stage.LOAD, report)


def judge_compile(report: CompileReport, policy: Policy) -> tuple[ReasonItem, ...]:
    """The compile-only path: a failed compile, or (strict) no CUDA source at all."""
    if not report.ok:
        # sources after a failing import line were never seen: that is the import's fault
        code = Reason.IMPORT_ERROR if report.log.startswith("import failed") else Reason.COMPILE_ERROR
        return (ReasonItem(code, report.log),)
    if report.sources == 0 and policy is Policy.STRICT:
        return (ReasonItem(Reason.NO_CUSTOM_KERNEL, "the candidate compiles no CUDA source (load_cuda or load_inline)"),)
    return ()


# ----------------------------------------------------------------------------- correctness


def guard_reasons(g: GuardFindings, shape_index: int | None, rules: Rules) -> tuple[ReasonItem, ...]:
    """What the worker's guards found around one call or timing loop (``shape_index`` None: the hidden shape)."""
    i = shape_index
    out: list[ReasonItem] = []
    if g.tamper:
        out.append(ReasonItem(Reason.TAMPERING, "; ".join(g.tamper), i))
    if g.background:
        out.append(ReasonItem(Reason.BACKGROUND_WORK, g.background, i))
    if g.issue is not None:
        out.append(ReasonItem(g.issue.code, g.issue.message, i))
    if g.mutated:
        out.append(ReasonItem(Reason.INPUT_MUTATED, "the call changed its input tensors", i))
    if g.compute_ops and rules.policy is Policy.STRICT:
        names = ", ".join(f"{k} x{v}" for k, v in sorted(g.compute_ops))
        out.append(ReasonItem(Reason.TORCH_COMPUTE, f"torch ops did arithmetic under the strict policy: {names}", i))
    if rules.needs_kernel and g.launches is not None and not any(v for _, v in g.launches):
        where = "a hidden shape" if i is None else f"shape {i}"
        out.append(ReasonItem(Reason.NO_CUSTOM_KERNEL, f"no custom kernel ran on {where}", i))
    return tuple(out)


@dataclass(frozen=True)
class TrialOutcome:
    """One correctness trial judged: what stops the stage, what is wrong, how far off it was."""

    shape_index: int  # into the listed shapes, then the hidden one
    listed: bool  # False for the hidden shape
    fatal: tuple[ReasonItem, ...] = ()  # a fault or a guard finding: no further trial runs
    problems: tuple[ReasonItem, ...] = ()  # wrong values: the other shapes are still tried
    max_abs: float | None = None  # finite errors only
    max_rel: float | None = None
    kernels: tuple[str, ...] = ()  # custom kernels that ran


def judge_trial(obs: RunObservation, ref: Any, ref64: Any, recipe: InputRecipe, shape: Shape, listed: bool,
                rules: Rules) -> TrialOutcome:
    """One correctness call against the reference pair computed from pristine inputs."""
    i = recipe.shape_index
    if obs.fault is not None:
        return TrialOutcome(i, listed, fatal=(fault_reason(obs.fault, f"shape {i}", i),))
    fatal = guard_reasons(obs.guards, i if listed else None, rules)
    if fatal:
        return TrialOutcome(i, listed, fatal=fatal)
    cmp = compare(obs.outputs, ref, ref64, atol=rules.atol, rtol=rules.rtol, shape_index=i if listed else None)
    where = f"shape {i} {dict(shape)}" if listed else f"a hidden shape {shape} (not in SHAPES)"
    problems = tuple(ReasonItem(p.code, f"{where}, {recipe.variant.value} inputs: {p.message}", p.shape_index)
                     for p in cmp.problems)
    finite = math.isfinite(cmp.max_abs_err)
    return TrialOutcome(
        i, listed, problems=problems,
        max_abs=cmp.max_abs_err if finite else None, max_rel=cmp.max_rel_err if finite else None,
        kernels=tuple(k for k, v in (obs.guards.launches or ()) if v),
    )


def correctness_reasons(outcomes: Sequence[TrialOutcome], n_listed: int) -> tuple[ReasonItem, ...]:
    """The correctness stage's reasons: up to the first fatal trial, else every problem,
    and ``SHAPE_SPECIALIZED`` when some listed shapes passed while others (or the hidden one) failed."""
    problems: list[ReasonItem] = []
    for o in outcomes:
        if o.fatal:
            return (*problems, *o.fatal)
        problems.extend(o.problems)
    if problems:
        failed_listed = {o.shape_index for o in outcomes if o.listed and o.problems}
        passed = [k for k in range(n_listed) if k not in failed_listed]
        failed: list[int | str] = sorted(failed_listed)
        if any(o.problems for o in outcomes if not o.listed):
            failed.append("hidden")
        if passed:
            problems.append(ReasonItem(Reason.SHAPE_SPECIALIZED, f"correct on shapes {passed} but wrong on shapes {failed}"))
    return tuple(problems)


# ----------------------------------------------------------------------------- timing


@dataclass(frozen=True)
class TimedVerdict:
    reasons: tuple[ReasonItem, ...]
    stage: Stage  # RECHECK when a timed call's output was wrong, else TIMING


def judge_timed(obs: TimeObservation, shape_index: int, seeds: Sequence[int], expected: Expected,
                rules: Rules) -> TimedVerdict:
    """One shape's timing loop: faults, guards, the checked calls' outputs, then the tail.

    ``seeds`` are the rotating sets' seeds; ``expected(recipe)`` computes the
    reference of a checked call (only as far as needed: the first wrong
    output ends the check).
    """
    i = shape_index
    if obs.fault is not None:
        return TimedVerdict((fault_reason(obs.fault, f"shape {i} while timing", i),), Stage.TIMING)
    bad = guard_reasons(obs.guards, i, rules)
    if bad:
        return TimedVerdict(bad, Stage.TIMING)
    for item in obs.checked:
        stale = checked_call_reason(item, i, seeds, expected, rules)
        if stale is not None:
            return TimedVerdict((stale,), Stage.RECHECK)
    tail = side_stream_reason(obs.event_ms, obs.tail_ms, i, rules.side_stream_gap_ms)
    return TimedVerdict((tail,) if tail else (), Stage.TIMING)


def checked_call_reason(item: CheckedCall, shape_index: int, seeds: Sequence[int], expected: Expected,
                        rules: Rules) -> ReasonItem | None:
    """A timed call's output against the reference of the input set it ran on (#8, #9, #10, #31)."""
    i = shape_index
    if not 0 <= item.set < len(seeds):
        return ReasonItem(Reason.FORGED_RESULT, f"timed call {item.call}: there is no input set {item.set}", i)
    if item.issue is not None:
        return ReasonItem(item.issue.code, f"timed call {item.call}: {item.issue.message}", i)
    ref, ref64 = expected(InputRecipe(i, seeds[item.set], Variant.NORMAL, item.roll))
    cmp = compare(item.outputs, ref, ref64, atol=rules.atol, rtol=rules.rtol, shape_index=i)
    if cmp.ok:
        return None
    detail = "; ".join(p.message for p in cmp.problems)
    return ReasonItem(Reason.STALE_OUTPUT, f"shape {i}: the output of timed call {item.call} was wrong ({detail}): "
                      "results cached, batched or deferred across calls", i)


def side_stream_reason(event_ms: Sequence[float], tail_ms: Sequence[float], shape_index: int,
                       gap_ms: float) -> ReasonItem | None:
    """Work that escaped the timed stream (#3): the device stayed busy after the end event.

    Hidden work shows as a tail that is large in absolute terms and next to
    the timed span; honest long kernels see only host wake-up jitter, a small
    fraction of it.
    """
    tail, timed = _median(tail_ms), _median(event_ms)
    if tail > max(gap_ms, 0.1 * timed):
        return ReasonItem(Reason.SIDE_STREAM, f"shape {shape_index}: the device stayed busy {tail:.3f} ms after the "
                          f"end event (timed {timed:.3f} ms): work escaped the timed stream", shape_index)
    return None


def roofline_flags(timings: Sequence[Timing | None], floors: Sequence[float | None],
                   margin: float) -> tuple[ReasonItem, ...]:
    """Shapes timed below ``margin`` x their physical floor (#24): findings, not results."""
    flags = []
    for i, (t, floor) in enumerate(zip(timings, floors)):
        if floor and t and t.median_ms < margin * floor:
            flags.append(ReasonItem(
                Reason.BEYOND_ROOFLINE,
                f"shape {i}: {t.median_ms:.4f} ms is below the physical floor {floor:.4f} ms "
                f"({floor / t.median_ms:.1f}x): a finding, not a result", i))
    return tuple(flags)


def _median(xs: Sequence[float]) -> float:
    return statistics.median(xs) if xs else 0.0
