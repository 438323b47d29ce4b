"""The search loop end to end with the fake server and a fake evaluator (fast)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from cudarwin.agent.optimize import run_optimize
from cudarwin.config import compose_config, load_saved_config
from cudarwin.results import Archive
from fakes.evaluator import FakeEvaluator
from fakes.openai_server import FakeOpenAIServer, Scripted
from fakes.scripts import TASK_TEMPLATE, TRANSLATE, Scripter

NAMES = sorted(TRANSLATE)


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    folder = tmp_path / "suite"
    folder.mkdir()
    for k, name in enumerate(NAMES, start=2):
        (folder / f"{name}.py").write_text(TASK_TEMPLATE.format(k=k))
    return folder


def config(server: FakeOpenAIServer, suite: Path, run_dir: Path, *extra: str):
    return compose_config(
        [
            "llm=openai",
            f"llm.base_url={server.base_url}",
            "llm.api_key_env=null",
            "llm.model=fake-coder",
            "llm.price.input=1.0",
            "llm.price.output=2.0",
            "llm.timeout=1.0",
            "llm.retry.base_delay=0.01",
            "runner.device=cpu",
            f"suite.name={suite}",
            f"run_dir={run_dir}",
            "progress=plain",
            "report=false",
            *extra,
        ]
    )


def run(cfg, evaluator: FakeEvaluator):
    return run_optimize(cfg, evaluator_factory=lambda _: evaluator, out=io.StringIO())


def best(run_dir: Path) -> dict[str, tuple[str, float]]:
    with Archive.open(run_dir, readonly=True) as archive:
        out = {}
        for name in NAMES:
            found = archive.best(name)
            out[name] = (found[0].id, found[1].fitness) if found else ("", 0.0)
        return out


def user_turns(server: FakeOpenAIServer, task: str) -> list[str]:
    """The last user message of each request for ``task``."""
    return [b["messages"][-1]["content"] for b in server.requests if f"# Task `{task}`" in b["messages"][1]["content"]]


def test_repair_scenarios_and_replay(suite: Path, tmp_path: Path):
    transient = {
        "t_correct": [Scripted("slow down", status=429, headers={"Retry-After": "0"})],
        "t_compile": [Scripted("late", delay=1.5)],
    }
    with FakeOpenAIServer(Scripter(transient)) as server:
        evaluator = FakeEvaluator()
        result = run(config(server, suite, tmp_path / "run", "search=repair"), evaluator)
        first_requests = len(server.requests)

        scores = best(tmp_path / "run")
        assert scores["t_correct"][1] == pytest.approx(1.5)
        assert scores["t_compile"][1] == pytest.approx(2.0)
        assert scores["t_wrong"][1] == pytest.approx(1.2)
        assert scores["t_cheat"][1] == pytest.approx(1.1)  # the verified one, not the cheat
        assert scores["t_nocode"][1] == pytest.approx(1.3)
        assert scores["t_edit"][1] == pytest.approx(1.4)
        stats = {s.task: s for s in result.stats}
        assert stats["t_cheat"].rejected == 1 and stats["t_cheat"].accepted == 1
        assert stats["t_nocode"].no_proposal == 1 and stats["t_edit"].no_proposal == 1

        # the feedback reached the model, and nothing was skipped silently
        assert "is undefined" in user_turns(server, "t_compile")[-1]
        assert "max abs error 0.5" in user_turns(server, "t_wrong")[-1]
        assert "shape_specialized" in user_turns(server, "t_cheat")[-1]
        assert "contained no code" in user_turns(server, "t_nocode")[-1]
        assert "edit 1 of 1" in user_turns(server, "t_edit")[-1] and "complete file" in user_turns(server, "t_edit")[-1]

        # cost counted: 100 prompt + 50 completion tokens per answered call at $1/$2 per million
        answered = 1 + 2 + 2 + 2 + 2 + 3
        assert result.usage.calls == answered
        assert result.usage.cost_usd == pytest.approx(answered * (100 * 1.0 + 50 * 2.0) / 1e6)
        with Archive.open(tmp_path / "run", readonly=True) as archive:
            assert sum(c.cost_usd for c in archive.llm_calls() if not c.cache_hit) == pytest.approx(result.usage.cost_usd)
            # every reply that became a candidate is linked to it (trajectory export relies on it)
            linked = {c.candidate_id for c in archive.llm_calls() if c.candidate_id}
            candidate_ids = {c.id for t in scores for c in archive.candidates(t)}
            assert candidate_ids and candidate_ids <= linked

        # the same run again: no HTTP call, no evaluation, same result
        again_eval = FakeEvaluator()
        again = run(config(server, suite, tmp_path / "run", "search=repair"), again_eval)
        assert len(server.requests) == first_requests
        assert again.http_calls == 0 and again_eval.calls == []
        assert best(tmp_path / "run") == scores


class Killed(BaseException):
    """Stands in for the process being killed."""


class KillAfter(FakeEvaluator):
    def __init__(self, n: int):
        super().__init__()
        self.n = n

    def evaluate(self, task, candidate):
        if len(self.calls) >= self.n:
            raise Killed()
        return super().evaluate(task, candidate)


EVOLVE = ("search=evolve", "search.generations=3", "search.islands=2", "search.per_island=2", "search.migration_interval=2", "suite.tasks=[t_correct,t_compile]")


def test_evolve_improves_and_a_killed_run_resumes_to_the_same_result(suite: Path, tmp_path: Path):
    with FakeOpenAIServer(Scripter()) as server:
        reference = FakeEvaluator()
        run(config(server, suite, tmp_path / "ref", *EVOLVE), reference)
        ref_best = best(tmp_path / "ref")
        # evolution and autotuning beat the first correct versions (1.5 and 2.0)
        assert ref_best["t_correct"][1] > 1.5 and ref_best["t_compile"][1] > 2.0
        assert len(reference.calls) == len(set(reference.calls))  # nothing evaluated twice

        killed = KillAfter(len(reference.calls) // 2)
        with pytest.raises(Killed):
            run(config(server, suite, tmp_path / "run", *EVOLVE), killed)
        resumed = FakeEvaluator()
        cfg = load_saved_config(tmp_path / "run")  # what `resume=RUN_DIR` does; only the evaluator is swapped
        cfg.resume = str(tmp_path / "run")
        run(cfg, resumed)
        assert best(tmp_path / "run") == ref_best
        done_before = set(killed.calls[: killed.n])
        assert not done_before & set(resumed.calls)  # finished evaluations kept
        assert sorted(killed.calls[: killed.n] + resumed.calls) == sorted(reference.calls)
        # cached LLM calls replayed: no request paid twice, and as many paid as without the kill
        with Archive.open(tmp_path / "run", readonly=True) as run_archive, Archive.open(tmp_path / "ref", readonly=True) as ref_archive:
            paid = [c.request_hash for c in run_archive.llm_calls() if not c.cache_hit]
            assert len(paid) == len(set(paid))
            assert sorted(paid) == sorted(c.request_hash for c in ref_archive.llm_calls() if not c.cache_hit)


def test_call_budget_ends_the_run_cleanly(suite: Path, tmp_path: Path):
    with FakeOpenAIServer(Scripter()) as server:
        result = run(config(server, suite, tmp_path / "run", "search=repair", "llm.budget.max_calls=3", "parallel_tasks=1"), FakeEvaluator())
    assert len(server.requests) == 3
    assert any("max_calls=3" in s.stopped for s in result.stats)
    with Archive.open(tmp_path / "run", readonly=True) as archive:
        assert any(n.kind == "stopped" for n in archive.notes())
    assert sum(s.accepted for s in result.stats) >= 1  # what was found before is kept


def test_duplicates_are_rejected_before_evaluation(suite: Path, tmp_path: Path):
    same = Scripted('```python\nFAKE = "mismatch"\nclass ModelNew: pass\n```')
    with FakeOpenAIServer(lambda body: same) as server:
        evaluator = FakeEvaluator()
        result = run(config(server, suite, tmp_path / "run", "search=repair", "suite.tasks=[t_wrong]"), evaluator)
    stats = result.stats[0]
    assert len(evaluator.calls) == 1 and stats.duplicates == 3
    assert "identical to an earlier candidate" in server.requests[-1]["messages"][-1]["content"]


def test_review_flags_new_best(suite: Path, tmp_path: Path):
    def script(body):
        if "VERDICT" in body["messages"][0]["content"]:
            return Scripted("VERDICT: FLAG\nIt hard-codes the size.")
        return Scripter()(body)

    with FakeOpenAIServer(script) as server:
        run(config(server, suite, tmp_path / "run", "search=translate", "suite.tasks=[t_correct]", "review.enabled=true", "review.reject=true"), FakeEvaluator())
    with Archive.open(tmp_path / "run", readonly=True) as archive:
        assert archive.best("t_correct") is None
        assert any(n.kind == "review_flagged" for n in archive.notes("t_correct"))
        (ev,) = archive.evaluations("t_correct")
        assert not ev.accepted and "review_flagged" in [r.code.value for r in ev.flags]
