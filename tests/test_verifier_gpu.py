"""The verifier on a GPU: CUDA candidates through load_cuda, the GPU-only
reward hacks, CUDA faults, timing and baselines. Run with ``pytest -m gpu``."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.gpu

from cudarwin.runner import EvalConfig, Evaluator, TimingConfig  # noqa: E402
from cudarwin.tasks import load_task  # noqa: E402
from cudarwin.types import Candidate, Policy, Reason, Stage  # noqa: E402

HERE = Path(__file__).parent
GPU = HERE / "candidates" / "gpu"
CPU = HERE / "candidates" / "cpu"
RELU = load_task(HERE / "fixtures" / "check" / "relu_task.py")
BOGUS = load_task(HERE / "fixtures" / "check" / "relu_bogus_floor.py")
TIMING = TimingConfig(budget_ms=20.0, warmup_ms=5.0, min_measured_ms=5.0)


def _evaluator(policy=Policy.STRICT, **kw):
    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU")
    return Evaluator(EvalConfig(device="cuda", policy=policy, timing=TIMING, **kw))


@pytest.fixture(scope="module")
def strict(tmp_path_factory):
    with _evaluator(baseline_dir=tmp_path_factory.mktemp("bl")) as ev:
        yield ev


@pytest.fixture(scope="module")
def torch_ok(tmp_path_factory):
    with _evaluator(Policy.TORCH_OK, baselines=("eager",), baseline_dir=tmp_path_factory.mktemp("bl")) as ev:
        yield ev


@pytest.fixture(scope="module")
def unguarded(tmp_path_factory):
    with _evaluator(static_checks=False, baselines=(), deadline_run_s=20.0,
                    baseline_dir=tmp_path_factory.mktemp("bl")) as ev:
        yield ev


def _eval(ev, name, task=RELU, folder=GPU):
    return ev.evaluate(task, Candidate((folder / name).read_text()))


def test_honest_kernel_accepted_with_timings_and_baselines(strict):
    ev = _eval(strict, "honest_relu.py")
    assert ev.accepted, ev.verdict.reasons
    for s in ev.shapes:
        assert s.kernels_ran == ("scale_bias_relu",)
        assert s.candidate and s.candidate.method == "cuda_events" and s.candidate.median_ms > 0
        assert s.eager is not None and s.compiled is not None
    assert ev.speedup_eager and ev.speedup_eager > 0
    assert ev.compile is not None and ev.compile.ok


def test_fast_math_within_tolerance_accepted(strict):
    ev = _eval(strict, "honest_fast_math.py")
    assert ev.accepted, ev.verdict.reasons


@pytest.mark.parametrize("name,codes,policy", [
    ("torch_in_strict.py", {Reason.TORCH_COMPUTE}, "strict"),
    ("ghost_kernel.py", {Reason.NO_CUSTOM_KERNEL}, "torch_ok"),
    ("half_written.py", {Reason.NONFINITE, Reason.MISMATCH}, "strict"),
    ("compile_error.py", {Reason.COMPILE_ERROR}, "strict"),
])
def test_gpu_hacks_rejected(request, name, codes, policy):
    ev = _eval(request.getfixturevalue(policy), name)
    assert not ev.accepted
    assert codes & set(ev.verdict.codes), ev.verdict.reasons


def test_compile_error_carries_log(strict):
    ev = _eval(strict, "compile_error.py")
    assert ev.verdict.stage is Stage.COMPILE
    assert "undefined_name" in ev.verdict.reasons[0].message


def test_side_stream_caught_by_wall_clock(unguarded):
    ev = _eval(unguarded, "side_stream.py")
    assert not ev.accepted
    assert Reason.SIDE_STREAM in ev.verdict.codes, ev.verdict.reasons


def test_cuda_faults_become_verdicts_and_pool_keeps_serving(unguarded):
    ev = _eval(unguarded, "illegal_address.py")
    assert Reason.CUDA_ERROR in ev.verdict.codes, ev.verdict.reasons
    ev = _eval(unguarded, "kernel_hang.py")
    assert Reason.TIMEOUT in ev.verdict.codes, ev.verdict.reasons
    ev = _eval(unguarded, "honest_relu.py")
    assert ev.accepted, ev.verdict.reasons


@pytest.mark.parametrize("name", ["hack08_cache_by_ptr.py", "hack10_detect_phase.py", "hack21_alias_input.py",
                                  "hack02_mutate_inputs.py", "hack05_lazy_subclass.py"])
def test_cpu_hacks_also_rejected_on_gpu(torch_ok, name):
    ev = _eval(torch_ok, name, folder=CPU)
    assert not ev.accepted, name


def test_beyond_roofline_is_flagged_not_ranked(strict):
    ev = _eval(strict, "honest_relu.py", task=BOGUS)
    assert ev.accepted
    assert Reason.BEYOND_ROOFLINE in [f.code for f in ev.flags]
    assert ev.fitness == 0.0


def test_kernelbench_load_inline_candidate_accepted(strict):
    """A KernelBench-style candidate (torch's load_inline, built with nvcc in the worker)."""
    ev = _eval(strict, "kernelbench_inline.py")
    assert ev.accepted, ev.verdict.reasons
    assert all("inline:scale_bias_relu" in s.kernels_ran for s in ev.shapes)


def test_outputs_reach_the_driver_through_ipc(strict):
    from cudarwin.runner.ipc import STATS

    before = STATS["taken"]
    ev = _eval(strict, "honest_relu.py")
    assert ev.accepted, ev.verdict.reasons
    assert strict.ipc and not strict.ipc_error
    # every correctness trial's output and every timed check came through IPC
    assert STATS["taken"] - before >= sum(s.trials for s in ev.shapes)


def test_lying_ipc_descriptor_cannot_make_the_driver_read_past_it(tmp_path):
    """The worker claims 65536x the bytes it owns: the driver refuses to map past the
    allocation, falls back to the socket for good, and keeps judging correctly."""
    with _evaluator(static_checks=False, baselines=(), baseline_dir=tmp_path) as ev:
        lying = _eval(ev, "lying_ipc.py")
        assert not ev.ipc and "reaches byte" in ev.ipc_error
        # judged on the bytes sent over the socket; patching the harness's export is tampering
        assert Reason.TAMPERING in lying.verdict.codes, lying.verdict.reasons
        honest = _eval(ev, "honest_relu.py")
        assert honest.accepted, honest.verdict.reasons
