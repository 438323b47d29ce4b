"""On a GPU: the verifier accepts every hand-written suite solution and rejects
every planted-bug sibling (see ``test_solutions_compile`` for the catalogue).

Run with ``pytest -m gpu tests/test_solutions_gpu.py``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cudarwin.types import Candidate, Stage
from test_solutions_compile import SOLVED_TASKS, SUITE, candidate_path

pytestmark = pytest.mark.gpu


@pytest.fixture(scope="module")
def evaluator() -> Iterator[object]:
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU")
    from cudarwin.runner import EvalConfig, Evaluator, TimingConfig

    # short timing and the eager baseline only: this checks verdicts and that fitness is positive
    timing = TimingConfig(budget_ms=20.0, warmup_ms=5.0, min_measured_ms=5.0)
    with Evaluator(EvalConfig(device="cuda", baselines=("eager",), timing=timing)) as ev:
        yield ev


def _evaluate(evaluator, task_name: str, variant: str):
    from cudarwin.tasks import load_task

    task = load_task(SUITE / f"{task_name}.py")
    source = candidate_path(task_name, variant).read_text()
    return evaluator.evaluate(task, Candidate(source=source, note=f"{task_name}.{variant}"))


def _why(evaluation) -> str:
    data = evaluation.to_dict()
    return f"stage={data['stage']} reasons={data['reasons']}"


@pytest.mark.parametrize("task_name", SOLVED_TASKS)
def test_solution_is_accepted(evaluator, task_name: str) -> None:
    evaluation = _evaluate(evaluator, task_name, "solution")
    assert evaluation.accepted, f"{task_name}.solution.py rejected: {_why(evaluation)}"
    assert evaluation.fitness > 0.0


@pytest.mark.parametrize("task_name", SOLVED_TASKS)
def test_wrong_sibling_is_rejected_for_correctness(evaluator, task_name: str) -> None:
    evaluation = _evaluate(evaluator, task_name, "wrong")
    assert not evaluation.accepted, f"{task_name}.wrong.py was accepted; its planted bug went unnoticed"
    # The bugs are numerical, not static: the sibling must pass the static checks,
    # compile and load, and be caught by comparing what it computes.
    assert evaluation.verdict.stage in (Stage.CORRECTNESS, Stage.RECHECK), _why(evaluation)
