"""The offline proposer's candidates on a GPU: numerically right on every
task shape (also with extreme tunable values), and accepted by the verifier.

Run with ``pytest -m gpu tests/test_offline_gpu.py``.
"""

from __future__ import annotations

import types

import pytest
import torch

from cudarwin.agent.offline import Proposed, propose_offline
from cudarwin.agent.tunables import set_tunable
from cudarwin.tasks import import_task, load_suite, make_inputs, make_model
from cudarwin.types import Candidate, Policy

pytestmark = pytest.mark.gpu

FULL = {t.name: t for t in load_suite("full").tasks}
QUICK = [t.name for t in load_suite("quick").tasks]


# The suite tasks the offline proposer handles (kept equal to tests/test_offline_suite.py).
SUPPORTED = sorted({
    "gelu", "mish", "fused_bias_silu_mul", "layernorm", "rmsnorm", "adaln_modulate", "residual_rmsnorm",
    "softmax", "log_softmax", "logsumexp", "sum_rows", "max_cols", "log_bessel_iv", "rope",
    "groupnorm", "causal_masked_softmax", "cross_entropy", "kl_div_distill", "triplet_margin",
    "linear_gelu_layernorm", "causal_conv1d",
    "conv2d_relu_groupnorm",
    "swiglu_mlp",
})


def _load(source: str, name: str) -> types.ModuleType:
    module = types.ModuleType(name)
    exec(compile(source, f"<{name}>", "exec"), module.__dict__)  # noqa: S102 - generated candidate
    return module


def _run_all_shapes(name: str, source: str) -> None:
    task = FULL[name]
    ref_module = import_task(task)
    cand = _load(source, f"offline_{name}")
    for index, shape in enumerate(task.shapes):
        model = make_model(ref_module, shape, device="cuda")
        new = cand.ModelNew(*ref_module.get_init_inputs(**shape)).cuda()
        new.load_state_dict(model.state_dict())
        inputs = make_inputs(ref_module, shape, seed=11 + index, device="cuda")
        with torch.no_grad():
            expected = model(*inputs)
            got = new(*inputs)
        torch.cuda.synchronize()
        exp = expected if isinstance(expected, (tuple, list)) else [expected]
        out = got if isinstance(got, (tuple, list)) else [got]
        for e, g in zip(exp, out, strict=True):
            torch.testing.assert_close(g, e, atol=task.meta.atol or 1e-4, rtol=task.meta.rtol or 1e-4,
                                       msg=lambda m: f"{name} shape {dict(shape)}: {m}")
        del model, new, inputs, expected, got
        torch.cuda.empty_cache()


@pytest.mark.parametrize("name", SUPPORTED)
def test_default_candidate_matches_reference_on_every_shape(name):
    _run_all_shapes(name, propose_offline(FULL[name], "torch-ok").candidate.source)


EXTREMES = [
    {"VEC": 1, "BLOCK": 64},
    {"VEC": 2, "BLOCK": 1024, "BLOCKS_PER_SM": 2},
    {"THREADS_PER_ROW": 8, "CACHE": 0},
    {"THREADS_PER_ROW": 32, "ROWS_PER_BLOCK": 8, "CACHE": 32},
    {"THREADS_PER_ROW": 1024, "CACHE": 1},
    {"THREADS_PER_ROW": 64, "CACHE": 2},
    {"BLOCK": 64, "UNROLL": 1},
]


@pytest.mark.parametrize("values", EXTREMES, ids=lambda v: ",".join(f"{k}={x}" for k, x in v.items()))
@pytest.mark.parametrize("name", ["gelu", "fused_bias_silu_mul", "rope", "layernorm", "softmax", "logsumexp",
                                  "max_cols", "residual_rmsnorm", "adaln_modulate", "groupnorm",
                                  "causal_masked_softmax", "kl_div_distill", "triplet_margin"])
def test_tunable_extremes_stay_correct(name, values):
    source = propose_offline(FULL[name], "strict").candidate.source
    applied = False
    for key, value in values.items():
        if f"\n{key} = " in source:
            source = set_tunable(source, key, value)
            applied = True
    if not applied:
        pytest.skip("these tunables belong to another kernel kind")
    _run_all_shapes(name, source)


@pytest.mark.parametrize("name", QUICK)
def test_quick_suite_candidates_are_accepted(name):
    from cudarwin.runner import EvalConfig, Evaluator, TimingConfig

    result = propose_offline(FULL[name], "strict")
    if not isinstance(result, Proposed):
        assert result.reason.startswith("no proposal: ")
        return
    timing = TimingConfig(budget_ms=20.0, warmup_ms=5.0, min_measured_ms=5.0)
    with Evaluator(EvalConfig(device="cuda", policy=Policy.STRICT, baselines=("eager",), timing=timing)) as ev:
        evaluation = ev.evaluate(FULL[name], Candidate(source=result.candidate.source, proposer="offline"))
    assert evaluation.accepted, evaluation.verdict.reasons


@pytest.mark.parametrize("name", ["linear_gelu_layernorm", "causal_conv1d", "conv2d_relu_groupnorm", "swiglu_mlp"])
def test_torch_ok_epilogue_is_accepted(name):
    from cudarwin.runner import EvalConfig, Evaluator, TimingConfig

    result = propose_offline(FULL[name], "torch-ok")
    assert isinstance(result, Proposed)
    # verdicts only: the eager baseline and short timing (torch.compile baselines take minutes)
    timing = TimingConfig(budget_ms=20.0, warmup_ms=5.0, min_measured_ms=5.0)
    with Evaluator(EvalConfig(device="cuda", policy=Policy.TORCH_OK, baselines=("eager",), timing=timing)) as ev:
        evaluation = ev.evaluate(FULL[name], result.candidate)
    assert evaluation.accepted, evaluation.verdict.reasons
