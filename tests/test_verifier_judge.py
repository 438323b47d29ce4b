"""The verifier's judging as pure functions: no worker process, no GPU.

Every Reason an observation can lead to is produced here from a hand-made
observation, next to the clean observation that must pass, and a reply the
driver cannot decode is shown to end as a verdict.
"""

from __future__ import annotations

import io

import pytest
import torch

from cudarwin.runner.protocol import encode, read_reply, reply_bytes
from cudarwin.types import CompileReport, Policy, Reason, ReasonItem, Stage, Status, Timing
from cudarwin.verifier.inputs import InputRecipe, Variant
from cudarwin.verifier.judge import (
    Rules, TrialOutcome, correctness_reasons, judge_compile, judge_load, judge_timed, judge_trial, roofline_flags,
    side_stream_reason,
)
from cudarwin.verifier.observations import (
    WORKER_FAULTS, CheckedCall, Fault, GuardFindings, LoadObservation, OutputIssue, RunObservation, TimeObservation,
)
from cudarwin.verifier.verdict import build_evaluation, shape_results

GPU = Rules(policy=Policy.STRICT, needs_kernel=True)
CPU_OK = Rules(policy=Policy.TORCH_OK, needs_kernel=False)
SHAPES = [dict(n=8), dict(n=5)]
RAN = (("relu", 1),)


def _ref(recipe: InputRecipe) -> torch.Tensor:
    """A stand-in reference: relu of the inputs the recipe denotes (rolled as the worker rolls them)."""
    x = torch.randn(8, generator=torch.Generator().manual_seed(recipe.seed % 1000))
    return torch.roll(x, recipe.roll).relu()


def _expected(recipe: InputRecipe):
    ref = _ref(recipe)
    return ref, ref.double()


def _trial(obs: RunObservation, rules: Rules = GPU, listed: bool = True, out_ref=None, recipe=None) -> TrialOutcome:
    recipe = recipe or InputRecipe(0, 7)
    ref = _ref(recipe) if out_ref is None else out_ref
    shape = SHAPES[recipe.shape_index] if listed else dict(n=9)
    return judge_trial(obs, ref, ref.double(), recipe, shape, listed, rules)


def _honest(recipe=None, **guards) -> RunObservation:
    recipe = recipe or InputRecipe(0, 7)
    return RunObservation(guards=GuardFindings(launches=RAN, **guards), outputs=_ref(recipe).clone())


def _codes(reasons) -> list[Reason]:
    return [r.code for r in reasons]


# ----------------------------------------------------------------------------- loading


def test_clean_load_reports_the_import_time():
    v = judge_load(LoadObservation(import_s=0.25), "sm_90", seconds=9.0)
    assert v.reasons == () and v.compile == CompileReport(True, "sm_90", 0.25)


def test_compile_error_is_judged_at_the_compile_stage_with_its_log():
    v = judge_load(LoadObservation(Fault(Reason.COMPILE_ERROR, "k.cu(3): error: x undefined")), "sm_90", seconds=1.5)
    assert _codes(v.reasons) == [Reason.COMPILE_ERROR] and v.stage is Stage.COMPILE
    assert v.compile == CompileReport(False, "sm_90", 1.5, log="k.cu(3): error: x undefined")


@pytest.mark.parametrize("code", sorted(WORKER_FAULTS - {Reason.COMPILE_ERROR}, key=lambda r: r.value))
def test_load_faults_keep_their_code_and_traceback(code):
    v = judge_load(LoadObservation(Fault(code, "it broke", "Traceback: line 3", fatal=True)), "cpu", 0.1)
    assert v.reasons == (ReasonItem(code, "it broke\nTraceback: line 3"),) and v.stage is Stage.LOAD
    assert v.compile is None


def test_tampering_at_import_is_rejected():
    v = judge_load(LoadObservation(tamper=("time.perf_counter was replaced",)), "cpu", 0.1)
    assert _codes(v.reasons) == [Reason.TAMPERING] and "perf_counter" in v.reasons[0].message
    assert v.compile is not None and v.compile.ok  # it compiled; it cheated


# ----------------------------------------------------------------------------- one correctness call


def test_honest_call_passes_and_records_its_kernels():
    o = _trial(_honest())
    assert (o.fatal, o.problems, o.kernels) == ((), (), ("relu",)) and o.max_abs == 0.0


@pytest.mark.parametrize("code", sorted(WORKER_FAULTS, key=lambda r: r.value))
def test_worker_faults_end_the_stage(code):
    o = _trial(RunObservation(Fault(code, "boom", "tb")), recipe=InputRecipe(1, 3))
    assert o.fatal == (ReasonItem(code, "shape 1: boom\ntb", 1),)


@pytest.mark.parametrize("guards,code", [
    (dict(tamper=("torch.cuda.Event.elapsed_time was replaced",)), Reason.TAMPERING),
    (dict(background="1 Python thread(s) left running"), Reason.BACKGROUND_WORK),
    (dict(issue=OutputIssue(Reason.NOT_A_TENSOR, "output 0 is a Lazy")), Reason.NOT_A_TENSOR),
    (dict(issue=OutputIssue(Reason.OUTPUT_ALIASES_INPUT, "output 0 shares memory")), Reason.OUTPUT_ALIASES_INPUT),
    (dict(mutated=True), Reason.INPUT_MUTATED),
    (dict(compute_ops=(("mm", 1), ("add", 2))), Reason.TORCH_COMPUTE),
])
def test_each_guard_finding_is_fatal(guards, code):
    o = _trial(_honest(**guards))
    assert _codes(o.fatal) == [code] and o.fatal[0].shape_index == 0


def test_guard_findings_keep_their_order():
    g = dict(tamper=("a was replaced",), background="2 child process(es) running", mutated=True,
             issue=OutputIssue(Reason.NOT_A_TENSOR, "x"), compute_ops=(("add", 1),))
    assert _codes(_trial(_honest(**g)).fatal) == [
        Reason.TAMPERING, Reason.BACKGROUND_WORK, Reason.NOT_A_TENSOR, Reason.INPUT_MUTATED, Reason.TORCH_COMPUTE]


def test_torch_compute_is_allowed_under_torch_ok():
    o = _trial(_honest(compute_ops=(("add", 2),)), Rules(policy=Policy.TORCH_OK))
    assert o.fatal == () and "add x2" in _trial(_honest(compute_ops=(("add", 2),))).fatal[0].message


def test_no_custom_kernel_on_the_gpu_only():
    silent = RunObservation(guards=GuardFindings(launches=(("relu", 0),)), outputs=_ref(InputRecipe(0, 7)))
    assert _codes(_trial(silent).fatal) == [Reason.NO_CUSTOM_KERNEL]
    assert "a hidden shape" in _trial(silent, listed=False).fatal[0].message
    assert _trial(silent, CPU_OK).fatal == ()


@pytest.mark.parametrize("outputs,code", [
    (lambda r: r + 1.0, Reason.MISMATCH),
    (lambda r: torch.full_like(r, float("nan")), Reason.NONFINITE),
    (lambda r: r[:4], Reason.WRONG_SHAPE),
    (lambda r: r.half(), Reason.WRONG_DTYPE),
    (lambda r: [r, r], Reason.WRONG_SHAPE),
])
def test_wrong_values_are_problems_not_fatal(outputs, code):
    recipe = InputRecipe(1, 11, Variant.WIDE)
    o = _trial(RunObservation(guards=GuardFindings(launches=RAN), outputs=outputs(_ref(recipe))), recipe=recipe)
    assert o.fatal == () and _codes(o.problems) == [code]
    assert o.problems[0].message.startswith("shape 1 {'n': 5}, wide inputs: ")


def test_hidden_shape_problems_name_the_shape():
    o = _trial(RunObservation(guards=GuardFindings(launches=RAN), outputs=_ref(InputRecipe(0, 7)) - 1), listed=False)
    assert o.problems[0].message.startswith("a hidden shape {'n': 9} (not in SHAPES)")
    assert o.problems[0].shape_index is None


# ----------------------------------------------------------------------------- the correctness stage


def _bad(i, listed=True):
    return TrialOutcome(i, listed, problems=(ReasonItem(Reason.MISMATCH, f"shape {i} wrong", i),), max_abs=1.0)


def test_right_on_some_shapes_only_is_shape_specialized():
    reasons = correctness_reasons([TrialOutcome(0, True), _bad(1)], n_listed=2)
    assert _codes(reasons) == [Reason.MISMATCH, Reason.SHAPE_SPECIALIZED]
    assert reasons[-1].message == "correct on shapes [0] but wrong on shapes [1]"


def test_right_on_listed_shapes_only_is_shape_specialized():
    reasons = correctness_reasons([TrialOutcome(0, True), TrialOutcome(1, True), _bad(2, listed=False)], 2)
    assert reasons[-1] == ReasonItem(Reason.SHAPE_SPECIALIZED, "correct on shapes [0, 1] but wrong on shapes ['hidden']")


def test_wrong_everywhere_is_not_specialized_and_fatal_keeps_earlier_problems():
    assert _codes(correctness_reasons([_bad(0), _bad(1)], 2)) == [Reason.MISMATCH, Reason.MISMATCH]
    fatal = TrialOutcome(1, True, fatal=(ReasonItem(Reason.CUDA_ERROR, "illegal address", 1),))
    assert _codes(correctness_reasons([_bad(0), fatal, _bad(1)], 2)) == [Reason.MISMATCH, Reason.CUDA_ERROR]
    assert correctness_reasons([TrialOutcome(0, True), TrialOutcome(1, True)], 2) == ()


# ----------------------------------------------------------------------------- timing


SEEDS = (101, 202)


def _timed(checked=None, tail=0.001, event=0.5, **kw) -> TimeObservation:
    if checked is None:
        checked = (CheckedCall(3, 1, 1, None, _ref(InputRecipe(0, SEEDS[1], Variant.NORMAL, 1))),)
    return TimeObservation(event_ms=(event,) * 5, tail_ms=(tail,) * 5, warmup_calls=2, checked=checked, **kw)


def _judge_timed(obs, rules=GPU):
    return judge_timed(obs, 0, SEEDS, _expected, rules)


def test_honest_timing_passes_without_counting_launches():
    assert _judge_timed(_timed()).reasons == ()


def test_timing_faults_and_guards_are_judged_at_the_timing_stage():
    v = _judge_timed(TimeObservation(Fault(Reason.CUDA_ERROR, "illegal address", fatal=True)))
    assert v.reasons == (ReasonItem(Reason.CUDA_ERROR, "shape 0 while timing: illegal address", 0),)
    assert v.stage is Stage.TIMING
    for g, code in ((GuardFindings(tamper=("x was replaced",)), Reason.TAMPERING),
                    (GuardFindings(background="1 new OS thread(s) after the call"), Reason.BACKGROUND_WORK)):
        v = _judge_timed(_timed(guards=g))
        assert _codes(v.reasons) == [code] and v.stage is Stage.TIMING


def test_a_wrong_timed_output_is_stale():
    stale = CheckedCall(3, 1, 1, None, _ref(InputRecipe(0, SEEDS[1], Variant.NORMAL, 0)))  # the unrolled set
    v = _judge_timed(_timed(checked=(stale,)))
    assert _codes(v.reasons) == [Reason.STALE_OUTPUT] and v.stage is Stage.RECHECK
    assert "timed call 3" in v.reasons[0].message


def test_a_timed_output_that_is_no_tensor_is_rejected_at_recheck():
    lazy = CheckedCall(7, 0, 3, OutputIssue(Reason.NOT_A_TENSOR, "output 0 is a Lazy"))
    v = _judge_timed(_timed(checked=(lazy,)))
    assert v.reasons == (ReasonItem(Reason.NOT_A_TENSOR, "timed call 7: output 0 is a Lazy", 0),)
    assert v.stage is Stage.RECHECK


def test_a_checked_call_on_a_set_that_was_never_sent_is_forged():
    v = _judge_timed(_timed(checked=(CheckedCall(3, 5, 0, None, None),)))
    assert _codes(v.reasons) == [Reason.FORGED_RESULT]


def test_work_after_the_end_event_is_a_side_stream():
    v = _judge_timed(_timed(tail=0.3, event=0.5))
    assert _codes(v.reasons) == [Reason.SIDE_STREAM] and v.stage is Stage.TIMING
    # an honest long kernel: host wake-up jitter, small next to the timed span
    assert side_stream_reason([20.0] * 3, [0.2] * 3, 0, gap_ms=0.05) is None
    assert side_stream_reason([0.01] * 3, [0.04] * 3, 0, gap_ms=0.05) is None


# ----------------------------------------------------------------------------- flags, compile-only, the builder


def _timing(ms: float) -> Timing:
    return Timing(ms, ms, ms, ms, ms, 0.0, 10)


def test_faster_than_the_floor_is_flagged():
    flags = roofline_flags([_timing(0.05), _timing(1.0), None, _timing(0.01)], [0.1, 0.1, 0.1, None], margin=0.8)
    assert _codes(flags) == [Reason.BEYOND_ROOFLINE] and flags[0].shape_index == 0 and "2.0x" in flags[0].message


@pytest.mark.parametrize("report,policy,codes", [
    (CompileReport(False, "sm_90", 0.1, log="k.cu(1): error"), Policy.STRICT, [Reason.COMPILE_ERROR]),
    (CompileReport(False, "sm_90", 0.1, log="import failed: NameError"), Policy.STRICT, [Reason.IMPORT_ERROR]),
    (CompileReport(True, "sm_90", 0.1, sources=0), Policy.STRICT, [Reason.NO_CUSTOM_KERNEL]),
    (CompileReport(True, "sm_90", 0.1, sources=0), Policy.TORCH_OK, []),
    (CompileReport(True, "sm_90", 0.1, sources=2), Policy.STRICT, []),
])
def test_compile_only_judging(report, policy, codes):
    assert _codes(judge_compile(report, policy)) == codes


def test_one_builder_for_accepted_and_rejected():
    ok = build_evaluation(task="t", candidate_id="c", policy=Policy.STRICT, device="cuda", stage=Stage.TIMING)
    assert ok.verdict.status is Status.ACCEPTED and ok.verdict.stage is None
    bad = build_evaluation(task="t", candidate_id="c", policy=Policy.STRICT, device="cuda",
                           reasons=(ReasonItem(Reason.MISMATCH, "x"),), stage=Stage.CORRECTNESS)
    assert bad.verdict.stage is Stage.CORRECTNESS and bad.fitness == 0.0


def test_shape_results_count_judged_trials_only():
    trials = [TrialOutcome(0, True, max_abs=1e-6, max_rel=0.1, kernels=("a",)),
              TrialOutcome(0, True, max_abs=None, kernels=("b",)),  # a non-finite error: counted, no error
              TrialOutcome(1, True, fatal=(ReasonItem(Reason.CRASH, "x"),), kernels=("c",)),
              TrialOutcome(2, False, max_abs=5.0)]  # the hidden shape has no row
    rows = shape_results(SHAPES, trials, {0: _timing(1.0)}, {(0, "eager"): _timing(2.0)}, [0.5, None])
    assert [(r.trials, r.max_abs_err, r.kernels_ran) for r in rows] == [(2, 1e-6, ("a", "b")), (0, None, ())]
    assert rows[0].speedup_eager == 2.0 and rows[0].floor_ms == 0.5 and rows[1].candidate is None


# ----------------------------------------------------------------------------- undecodable replies


def test_a_malformed_reply_becomes_a_forged_result_verdict():
    good = reply_bytes("run", "n1", _honest())
    assert _trial(read_reply(good, "run", "n1")).fatal == ()
    forged = _trial(read_reply(good, "run", "another nonce"))
    assert _codes(forged.fatal) == [Reason.FORGED_RESULT]
    wire = torch.load(io.BytesIO(good), weights_only=True)
    wire["guards"]["issue"] = {"code": "not_a_thing", "message": "x"}  # a code the harness never sends
    unknown = _trial(read_reply(encode(wire), "run", "n1")).fatal
    assert _codes(unknown) == [Reason.FORGED_RESULT] and "'not_a_thing' is not a Reason code" in unknown[0].message
    timed = judge_timed(read_reply(b"garbage", "time", "n1"), 0, SEEDS, _expected, GPU)
    assert _codes(timed.reasons) == [Reason.FORGED_RESULT]
    assert _codes(judge_load(read_reply(b"", "load", "n1"), "cpu", 0.0).reasons) == [Reason.FORGED_RESULT]


# ----------------------------------------------------------------------------- layers


def _imports(folder: str) -> set[str]:
    import ast
    from pathlib import Path

    names = set()
    for path in (Path(__file__).parent.parent / folder).glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module)
            elif isinstance(node, ast.Import):
                names.update(a.name for a in node.names)
    return names


def test_the_verifier_judges_without_the_runner_and_the_runner_never_reaches_up():
    assert not {m for m in _imports("verifier") if m.startswith(("cudarwin.runner", "cudarwin.agent", "cudarwin.results"))}
    assert not {m for m in _imports("runner") if m.startswith(("cudarwin.agent", "cudarwin.results"))}
