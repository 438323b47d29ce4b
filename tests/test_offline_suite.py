"""The offline proposer on the task suite, on CPU: every supported task's
candidate passes the static checks and compiles with NVRTC for sm_90, its
plan agrees with the reference (IR interpreter, smallest shape), and every
other task gets a "no proposal" with a reason."""

from __future__ import annotations

import functools
import inspect

import pytest
import torch

from cudarwin.agent.offline import NoProposal, Proposed, propose_offline
from cudarwin.agent.offline.interpret import run_plan
from cudarwin.tasks import import_task, load_suite, make_inputs, make_model, smallest_shape_index
from cudarwin.types import Policy
from cudarwin.verifier.static import check_source
from fakes.record import compile_generated

TASKS = {t.name: t for t in load_suite("full").tasks}

# Tasks the offline proposer must handle; a regression here is a lost capability.
SUPPORTED_STRICT = {
    "gelu", "mish", "fused_bias_silu_mul", "layernorm", "rmsnorm", "adaln_modulate", "residual_rmsnorm",
    "softmax", "log_softmax", "logsumexp", "sum_rows", "max_cols", "log_bessel_iv", "rope",
    "groupnorm", "causal_masked_softmax", "cross_entropy", "kl_div_distill", "triplet_margin",
}
SUPPORTED_TORCH_OK = SUPPORTED_STRICT | {"linear_gelu_layernorm", "causal_conv1d", "conv2d_relu_groupnorm", "swiglu_mlp"}


@functools.lru_cache(maxsize=None)
def _proposal(name: str, policy: str):
    return propose_offline(TASKS[name], policy)


def test_suite_is_there():
    assert SUPPORTED_TORCH_OK <= set(TASKS)


@pytest.mark.parametrize("name", sorted(TASKS))
def test_strict_supported_set_and_reasons(name):
    result = _proposal(name, "strict")
    if name in SUPPORTED_STRICT:
        assert isinstance(result, Proposed), getattr(result, "reason", "")
    else:
        assert isinstance(result, NoProposal)
        assert result.reason.startswith("no proposal: ") and len(result.reason) > 20


@pytest.mark.parametrize("name", sorted(SUPPORTED_TORCH_OK))
def test_candidate_compiles_and_passes_static_checks(name):
    result = _proposal(name, "torch-ok")
    assert isinstance(result, Proposed)
    policy = Policy.STRICT if name in SUPPORTED_STRICT else Policy.TORCH_OK
    report = check_source(result.candidate.source, policy=policy)
    assert report.ok, report.reasons
    report = compile_generated(result.candidate.source, arch="sm_90")
    assert report.ok and report.kernels, report.log


@pytest.mark.parametrize("name", sorted(SUPPORTED_TORCH_OK))
def test_plan_agrees_with_reference(name):
    task = TASKS[name]
    result = _proposal(name, "torch-ok")
    module = import_task(task)
    shape = task.shapes[smallest_shape_index(task)]
    model = make_model(module, shape)
    inputs = make_inputs(module, shape, seed=7)
    with torch.no_grad():
        expected = model(*inputs)
    names = list(inspect.signature(module.Model.forward).parameters)[1:]
    got = run_plan(result.plan, model, names, inputs)
    exp = expected if isinstance(expected, (tuple, list)) else [expected]
    out = got if isinstance(got, (tuple, list)) else [got]
    for e, g in zip(exp, out, strict=True):
        assert g.shape == e.shape
        torch.testing.assert_close(g, e, atol=task.meta.atol or 1e-4, rtol=task.meta.rtol or 1e-4)


def test_candidate_keeps_reference_init_and_signature():
    source = _proposal("layernorm", "strict").candidate.source
    assert "def __init__(self, d: int, eps: float = 1e-5):" in source
    assert "self.weight = nn.Parameter(" in source
    assert "def forward(self, x: torch.Tensor):" in source
    assert "class Model(" not in source
