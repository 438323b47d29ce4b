"""Small runner pieces without a worker: the evaluation config and input-set sizing."""

from __future__ import annotations

from pathlib import Path

import pytest

from cudarwin.runner import EvalConfig
from cudarwin.runner.references import input_bytes, input_sets
from cudarwin.tasks import load_task
from cudarwin.types import CudarwinError

RELU = load_task(Path(__file__).parent / "fixtures" / "check" / "relu_task.py")


def test_an_unknown_baseline_mode_is_a_clear_config_error():
    with pytest.raises(CudarwinError, match="runner.eval.baselines takes"):
        EvalConfig(device="cpu", baselines=("eager", "triton"))
    assert EvalConfig(device="cpu", baselines=()).baselines == ()


def test_rotating_input_sets_fit_the_memory_budget_but_never_drop_below_two():
    nbytes = input_bytes(RELU, 0)
    assert nbytes == 64 * 48 * 4  # one float32 input of the headline shape
    assert input_sets(RELU, 0, wanted=3, budget_bytes=1 << 30) == 3
    assert input_sets(RELU, 0, wanted=3, budget_bytes=2 * nbytes) == 2
    assert input_sets(RELU, 0, wanted=3, budget_bytes=1) == 2  # rotation needs two sets
