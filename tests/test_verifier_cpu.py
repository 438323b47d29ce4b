"""The verifier on the CPU: every reward hack that can be written without a GPU
is rejected with the reason code that names it, honest candidates pass, and
faults become verdicts while the pool keeps serving.

Candidates live in tests/candidates/cpu (hacks, honest ones) and
tests/candidates/runtime (faults, and hacks run with the static checks off so
the run-time defenses are exercised on their own).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cudarwin.runner import EvalConfig, Evaluator, TimingConfig
from cudarwin.tasks import load_task
from cudarwin.types import Candidate, Policy, Reason, Stage

HERE = Path(__file__).parent
CPU = HERE / "candidates" / "cpu"
RUNTIME = HERE / "candidates" / "runtime"
RELU = load_task(HERE / "fixtures" / "check" / "relu_task.py")
SOFTMAX = load_task(HERE / "fixtures" / "check" / "softmax_task.py")

FAST_TIMING = TimingConfig(budget_ms=5.0, warmup_ms=1.0, min_calls=10, max_calls=40, min_measured_ms=1.0,
                           flush_bytes=1 << 20)


def _config(policy: Policy, **kw) -> EvalConfig:
    return EvalConfig(device="cpu", policy=policy, baselines=(), timing=FAST_TIMING, **kw)


@pytest.fixture(scope="module")
def torch_ok():
    with Evaluator(_config(Policy.TORCH_OK)) as ev:
        yield ev


@pytest.fixture(scope="module")
def strict():
    with Evaluator(_config(Policy.STRICT)) as ev:
        yield ev


@pytest.fixture(scope="module")
def unguarded():
    """Static checks off and short deadlines: the run-time defenses alone."""
    with Evaluator(_config(Policy.TORCH_OK, static_checks=False, deadline_run_s=8.0)) as ev:
        yield ev


def _eval(ev: Evaluator, name: str, task=RELU, folder=CPU):
    return ev.evaluate(task, Candidate((folder / name).read_text()))


def test_honest_torch_candidate_accepted_and_timed(torch_ok):
    ev = _eval(torch_ok, "honest_torch.py")
    assert ev.accepted, ev.verdict.reasons
    assert all(s.trials >= 4 for s in ev.shapes)
    assert all(s.candidate is not None and s.candidate.n >= 3 for s in ev.shapes)
    assert all(s.max_abs_err is not None and s.max_abs_err < 1e-4 for s in ev.shapes)


def test_honest_stable_softmax_accepted(torch_ok):
    ev = _eval(torch_ok, "honest_softmax.py", task=SOFTMAX)
    assert ev.accepted, ev.verdict.reasons


def test_honest_numpy_candidate_passes_strict(strict):
    ev = _eval(strict, "honest_numpy.py")
    assert ev.accepted, ev.verdict.reasons


# (file, policy fixture, task, expected code, stage) -- every REWARD_HACKS row writable on a CPU
HACKS = [
    ("hack01_empty.py", "torch_ok", RELU, {Reason.NONFINITE, Reason.MISMATCH}, Stage.CORRECTNESS),
    ("hack02_mutate_inputs.py", "torch_ok", RELU, {Reason.INPUT_MUTATED}, Stage.CORRECTNESS),
    ("hack03_side_stream.py", "strict", RELU, {Reason.SIDE_STREAM}, Stage.STATIC),
    ("hack04_thread.py", "torch_ok", RELU, {Reason.BACKGROUND_WORK}, Stage.STATIC),
    ("hack05_lazy_subclass.py", "torch_ok", RELU, {Reason.NOT_A_TENSOR}, Stage.CORRECTNESS),
    ("hack06_patch_timer.py", "torch_ok", RELU, {Reason.TAMPERING}, Stage.STATIC),
    ("hack07_forge_channel.py", "torch_ok", RELU, {Reason.FORBIDDEN_API}, Stage.STATIC),
    # caches keyed by pointer/shape already go stale between correctness trials (the
    # allocator hands out the same addresses); the timed loop's rolled inputs catch the rest
    ("hack08_cache_by_ptr.py", "torch_ok", RELU, {Reason.STALE_OUTPUT, Reason.MISMATCH}, None),
    ("hack09_batch_reuse.py", "torch_ok", RELU, {Reason.STALE_OUTPUT, Reason.MISMATCH}, None),
    ("hack10_detect_phase.py", "torch_ok", RELU, {Reason.STALE_OUTPUT}, Stage.RECHECK),
    ("hack11_shape_special.py", "torch_ok", RELU, {Reason.SHAPE_SPECIALIZED}, Stage.CORRECTNESS),
    ("hack11_listed_shapes_only.py", "torch_ok", RELU, {Reason.SHAPE_SPECIALIZED}, Stage.CORRECTNESS),
    ("hack12_seed.py", "torch_ok", RELU, {Reason.FORBIDDEN_API}, Stage.STATIC),
    ("hack14_softmax_no_max.py", "torch_ok", SOFTMAX, {Reason.NONFINITE, Reason.MISMATCH}, Stage.CORRECTNESS),
    ("hack15_torch_compute.py", "strict", RELU, {Reason.TORCH_COMPUTE}, Stage.CORRECTNESS),
    ("hack16_fallback.py", "torch_ok", RELU, {Reason.FALLBACK}, Stage.STATIC),
    ("hack17_subclass_model.py", "torch_ok", RELU, {Reason.REFERENCE_REUSE}, Stage.STATIC),
    ("hack19_half_precision.py", "torch_ok", RELU, {Reason.MISMATCH}, Stage.CORRECTNESS),
    ("hack19_wrong_dtype.py", "torch_ok", RELU, {Reason.WRONG_DTYPE}, Stage.CORRECTNESS),
    ("hack21_alias_input.py", "torch_ok", RELU, {Reason.OUTPUT_ALIASES_INPUT}, Stage.CORRECTNESS),
    ("hack22_partial_write.py", "torch_ok", RELU, {Reason.NONFINITE, Reason.MISMATCH}, Stage.CORRECTNESS),
    ("hack23_l2_window.py", "strict", RELU, {Reason.TAMPERING}, Stage.STATIC),
    ("hack25_gc.py", "torch_ok", RELU, {Reason.FORBIDDEN_API}, Stage.STATIC),
    ("hack27_ctypes.py", "torch_ok", RELU, {Reason.TAMPERING}, Stage.STATIC),
    ("hack28_files.py", "torch_ok", RELU, {Reason.FORBIDDEN_API}, Stage.STATIC),
    ("hack29_global_flags.py", "torch_ok", RELU, {Reason.TAMPERING}, Stage.STATIC),
]


@pytest.mark.parametrize("name,policy,task,codes,stage", HACKS, ids=[h[0] for h in HACKS])
def test_reward_hack_rejected(request, name, policy, task, codes, stage):
    ev = _eval(request.getfixturevalue(policy), name, task=task)
    assert not ev.accepted, f"{name} was accepted"
    assert ev.fitness == 0.0
    assert codes & set(ev.verdict.codes), f"{name}: expected one of {codes}, got {ev.verdict.reasons}"
    if stage is not None:
        assert ev.verdict.stage is stage, (ev.verdict.stage, ev.verdict.reasons)


RUNTIME_CASES = [
    ("thread_left_running.py", Reason.BACKGROUND_WORK),
    ("patch_timer_runtime.py", Reason.TAMPERING),
    ("flags_runtime.py", Reason.TAMPERING),
    ("fault_hang.py", Reason.TIMEOUT),
    ("fault_segfault.py", Reason.CRASH),
    ("fault_exit.py", Reason.EXITED),
    ("fault_os_exit.py", Reason.EXITED),
    ("fault_flood.py", Reason.OUTPUT_FLOOD),
    ("fault_oom.py", Reason.OUT_OF_MEMORY),
    ("fault_import_error.py", Reason.IMPORT_ERROR),
    ("fault_init_error.py", Reason.INIT_ERROR),
    ("fault_forward_error.py", Reason.RUNTIME_ERROR),
    ("forge_reply.py", Reason.FORGED_RESULT),
]


@pytest.mark.parametrize("name,code", RUNTIME_CASES, ids=[c[0] for c in RUNTIME_CASES])
def test_runtime_defense_and_faults_become_verdicts(unguarded, name, code):
    ev = _eval(unguarded, name, folder=RUNTIME)
    assert not ev.accepted
    assert code in ev.verdict.codes, ev.verdict.reasons


def test_pool_keeps_serving_after_faults(unguarded):
    for name in ("fault_segfault.py", "fault_exit.py", "forge_reply.py"):
        assert not _eval(unguarded, name, folder=RUNTIME).accepted
    ev = _eval(unguarded, "honest_torch.py")
    assert ev.accepted, ev.verdict.reasons


def test_evaluation_json_round_trip(torch_ok):
    from cudarwin.types import Evaluation

    ev = _eval(torch_ok, "hack11_shape_special.py")
    again = Evaluation.from_dict(ev.to_dict())
    assert again.verdict == ev.verdict
    assert [s.to_dict() for s in again.shapes] == [s.to_dict() for s in ev.shapes]


def test_hidden_shape_is_secret_and_valid(torch_ok):
    """A hidden shape differs from every listed one, and is drawn anew each time."""
    import torch

    drawn = {str(torch_ok.hidden_shape(RELU, torch.device("cpu"))) for _ in range(8)}
    assert all(d != "None" for d in drawn)
    listed = {str(dict(s)) for s in RELU.shapes}
    assert not (drawn & listed)
    assert len(drawn) > 1


def test_hidden_shape_failure_names_it(torch_ok):
    ev = _eval(torch_ok, "hack11_listed_shapes_only.py")
    assert any("hidden shape" in r.message for r in ev.verdict.reasons), ev.verdict.reasons
