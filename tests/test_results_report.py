"""Leaderboard numbers, report files, export and the report/export commands, on synthetic archives."""

from __future__ import annotations

import csv
import json
import math
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "results"))

from synthetic_run import EXPECTED_A, EXPECTED_B, TASKS, build_run_a, build_run_b  # noqa: E402

from cudarwin.cli import main  # noqa: E402
from cudarwin.results import Archive, load  # noqa: E402
from cudarwin.results.export import export_best, export_trajectories  # noqa: E402
from cudarwin.results.leaderboard import (  # noqa: E402
    fast_p,
    findings,
    geomean,
    lineage,
    progress,
    summarize,
    task_results,
)
from cudarwin.results.report import write_report  # noqa: E402
from cudarwin.types import Candidate  # noqa: E402


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    root = tmp_path_factory.mktemp("runs")
    ids_a = build_run_a(root / "model-a")
    ids_b = build_run_b(root / "offline")
    return {"a": root / "model-a", "b": root / "offline", "ids_a": ids_a, "ids_b": ids_b, "root": root}


@pytest.fixture(scope="module")
def report(runs: dict, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    return write_report([runs["a"], runs["b"]], tmp_path_factory.mktemp("report"), title="Synthetic runs")


def _close(got: str, want: float | None) -> bool:
    if want is None:
        return got == ""
    return math.isclose(float(got), want, rel_tol=1e-5)


def _csv_rows(path: Path) -> dict[tuple[str, str], dict[str, str]]:
    with path.open() as fh:
        return {(r["run"], r["task"]): r for r in csv.DictReader(fh)}


def test_leaderboard_csv_cell_by_cell(runs: dict, report) -> None:  # type: ignore[no-untyped-def]
    rows = _csv_rows(report.csv)
    assert len(rows) == 2 * len(TASKS)
    for run, expected, ids in (("model-a", EXPECTED_A, runs["ids_a"]), ("offline", EXPECTED_B, runs["ids_b"])):
        for task in TASKS:
            row = rows[(run, task)]
            best_key = expected["best"][task]
            assert row["policy"] == "strict"
            assert row["solved"] == str(best_key is not None)
            assert row["best_candidate"] == (ids[best_key] if best_key else "")
            assert _close(row["speedup_eager"], expected["speedup_eager"][task]), (run, task, row)
            for column in ("speedup_compile", "roofline_fraction"):
                if column in expected:
                    assert _close(row[column], expected[column][task]), (run, task, column, row)
    relu = rows[("model-a", "relu")]
    assert (relu["candidate_ms"], relu["eager_ms"], relu["compile_ms"]) == ("2", "5", "3")  # headline shape
    assert (relu["generation"], relu["candidates"], relu["evaluated"], relu["accepted"]) == ("1", "3", "3", "2")
    assert _close(relu["candidate_spread"], 0.04)  # (p80 - p20) / median
    assert rows[("model-a", "softmax")]["findings"] == "1"
    assert _close(rows[("model-a", "relu")]["cost_usd"], 0.03)
    assert rows[("offline", "matmul")]["candidates"] == "0"


@pytest.mark.parametrize("which", ["a", "b"])
def test_fast_p_and_geomeans(runs: dict, which: str) -> None:
    expected = EXPECTED_A if which == "a" else EXPECTED_B
    (summary,) = summarize(load(runs[which]))
    assert summary.policy == "strict" and summary.tasks == 4
    for p, share in expected["fast_p"].items():
        assert summary.fast(p) == pytest.approx(share), p
    assert summary.geomean_eager == pytest.approx(expected["geomean_eager"])
    assert summary.geomean_eager_all == pytest.approx(expected["geomean_eager_all"])
    if "geomean_compile" in expected:
        assert summary.geomean_compile == pytest.approx(expected["geomean_compile"])
    assert summary.cost_usd == pytest.approx(expected["cost_usd"])


def test_fast_p_definition() -> None:
    speedups = [2.0, 1.0, None, 0.5, 3.0]
    solved = [True, True, False, True, True]
    assert fast_p(speedups, solved, 0.0) == pytest.approx(4 / 5)
    assert fast_p(speedups, solved, 1.0) == pytest.approx(2 / 5)  # strictly faster: 1.0x is not
    assert fast_p(speedups, solved, 2.0) == pytest.approx(1 / 5)
    assert fast_p([], [], 1.0) == 0.0
    assert geomean([2.0, 8.0, None]) == pytest.approx(4.0)
    assert geomean([None]) is None


def test_findings_are_reported_not_ranked(runs: dict, report) -> None:  # type: ignore[no-untyped-def]
    md = report.markdown.read_text()
    findings = md.split("## Findings")[1].split("## Definitions")[0]
    assert "softmax" in findings and "beyond_roofline" in findings and "50.00x" in findings
    assert runs["ids_a"]["s2"][:8] in findings
    assert "50.00x" not in md.split("## Findings")[0]  # never in a ranked table


def test_markdown_shows_policy_with_every_number(report) -> None:  # type: ignore[no-untyped-def]
    md = report.markdown.read_text()
    summary = md.split("## Summary")[1].split("##")[0]
    assert "| model-a | strict | 4 | 3 | 75% | 50% | 25% | 25% | 1.14x | 0.84x | 1.32x |" in summary
    assert "| offline | strict | 4 | 2 | 50% | 50% | 50% | 25% | 2.19x | 1.55x | 1.48x |" in summary
    assert "| task | model-a (strict) | offline (strict) |" in md
    assert "| relu | 2.50x | 3.00x |" in md
    assert "## model-a (strict)" in md and "## offline (strict)" in md
    tables = re.findall(r"(?:^\|.*\n)+", md, flags=re.M)
    with_numbers = [t for t in tables if re.search(r"\d\.\d\dx", t)]
    assert len(with_numbers) == 5  # summary, side by side, two runs, findings
    for t in with_numbers:
        header = t.splitlines()[0]
        assert "| policy |" in header or "(strict)" in header, header


def test_html_is_self_contained(report) -> None:  # type: ignore[no-untyped-def]
    page = report.html.read_text()
    assert "<link" not in page and "@import" not in page and "url(" not in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "https://" not in page
    svgs = re.findall(r"<svg.*?</svg>", page, flags=re.S)
    assert len(svgs) >= 6  # fast_p, per-task, progress, cost + sparklines
    for svg in svgs:
        ET.fromstring(svg)  # every chart is well-formed XML
    for heading in ("Summary", "fast_p", "Runs side by side", "Leaderboard", "Fitness over generations",
                    "Cost vs speedup", "Lineage of the best kernels", "Findings", "Rejections", "Notes"):  # fmt: skip
        assert f">{heading}</h2>" in page, heading
    assert "offline proposer: op matmul not supported" in page
    assert page.count('class="pill strict"') >= 4


def test_lineage_and_progress(runs: dict) -> None:
    run = load(runs["a"])
    ids = runs["ids_a"]
    chain = lineage(run, "relu", ids["r3"])
    assert [s.candidate_id for s in chain] == [ids["r1"], ids["r2"], ids["r3"]]
    assert [s.status for s in chain] == ["rejected", "accepted", "accepted"]
    assert chain[0].reason_codes == "mismatch" and chain[1].speedup_eager == pytest.approx(2.5)
    prog = progress(run, "strict")
    overall = prog[prog.task == "*"].set_index("generation").best_so_far
    assert overall[0] == pytest.approx((1.2 * 1.0 * 1.0 * 1.0) ** 0.25)  # gen 0: softmax 1.2, matmul slower
    assert overall[2] == pytest.approx(EXPECTED_A["geomean_eager_all"])  # last point = summary


def test_empty_run_reports(tmp_path: Path) -> None:
    Archive.create(tmp_path / "empty", "").close()
    files = write_report([tmp_path / "empty"], tmp_path / "out")
    assert "no LLM cost recorded" in files.html.read_text()
    assert files.csv.read_text().startswith("run,policy,task")
    (summary,) = summarize(load(tmp_path / "empty"))
    assert summary.tasks == 0 and summary.fast(0.0) == 0.0 and summary.geomean_eager is None


def test_several_policies_are_kept_apart(tmp_path: Path) -> None:
    from synthetic_run import SPECS_B, evaluation, task

    from cudarwin.types import Policy

    with Archive.create(tmp_path, "") as arch:
        arch.add_task(task("relu"))
        spec = SPECS_B[0]
        cid = arch.add_candidate(Candidate("x = 1\n"), task="relu")
        arch.add_evaluation(evaluation(spec, cid))
        arch.add_evaluation(evaluation(spec, cid, policy=Policy.TORCH_OK))
    rows = task_results(load(tmp_path))
    assert [(r.policy, r.task) for r in rows] == [("strict", "relu"), ("torch-ok", "relu")]
    kernels = export_best(tmp_path, tmp_path / "best")
    assert sorted(k.path.name for k in kernels) == ["relu.strict.py", "relu.torch-ok.py"]


def test_review_flags_are_findings_even_when_rejected(tmp_path: Path) -> None:
    from synthetic_run import Spec, evaluation, task

    from cudarwin.types import Reason, Stage

    with Archive.create(tmp_path, "") as arch:
        arch.add_task(task("relu"))
        cid = arch.add_candidate(Candidate("x = 2\n"), task="relu")
        arch.add_evaluation(evaluation(Spec("relu", "x", 0, rejected=Reason.REVIEW_FLAGGED, stage=Stage.STATIC), cid))
        cid2 = arch.add_candidate(Candidate("x = 3\n"), task="relu")
        arch.add_evaluation(evaluation(Spec("relu", "y", 0, times=((2.0, 1.0, 1.0, None),),
                                            flags=(Reason.REVIEW_FLAGGED,)), cid2))  # fmt: skip
    run = load(tmp_path)
    found = findings(run)
    assert [(x.candidate_id, x.status, x.codes) for x in found] == [
        (cid, "rejected", "review_flagged"), (cid2, "accepted", "review_flagged")]  # fmt: skip
    assert "review_flagged on shape 0" in found[0].messages
    (row,) = task_results(run)
    assert not row.solved and row.findings == 1


def test_export_best(runs: dict, tmp_path: Path) -> None:
    kernels = export_best(runs["a"], tmp_path)
    assert sorted(k.task for k in kernels) == ["matmul", "relu", "softmax"]
    relu = (tmp_path / "relu.py").read_text()
    assert relu.startswith("# cudarwin: best verified kernel for task 'relu'")
    assert "2.50x vs eager, 1.50x vs torch.compile" in relu and "class ModelNew" in relu
    assert Candidate(relu).id == runs["ids_a"]["r2"]  # the header is comments only: same candidate
    compile(relu, "relu.py", "exec")
    readme = (tmp_path / "README.md").read_text()
    assert "## relu (strict)" in readme and "| 1 | `{\"n\": 1000}` | 4 | 10 | 6 | 2.50x | 1.50x | 50% |" in readme
    assert not (tmp_path / "layernorm.py").exists()


def test_export_trajectories(runs: dict, tmp_path: Path) -> None:
    n = export_trajectories(runs["a"], tmp_path / "t.jsonl")
    rows = [json.loads(line) for line in (tmp_path / "t.jsonl").read_text().splitlines()]
    assert n == len(rows) == 10
    ids = runs["ids_a"]
    by_cand = {r["candidate_id"]: r for r in rows if not r["cache_hit"] and r["candidate_id"]}
    assert by_cand[ids["r2"]]["verdict"] == "accepted" and by_cand[ids["r2"]]["reward"] == pytest.approx(2.5)
    assert by_cand[ids["r1"]]["verdict"] == "rejected" and by_cand[ids["r1"]]["reward"] == 0.0
    assert by_cand[ids["r1"]]["reason_codes"] == ["mismatch"]
    assert by_cand[ids["s2"]]["verdict"] == "finding" and by_cand[ids["s2"]]["reward"] == 0.0
    failed = [r for r in rows if r["request_hash"] == "h-fail"][0]
    assert failed["verdict"] == "no_candidate" and failed["error"] == "no code block in reply"
    assert rows[0]["messages"][0] == {"role": "system", "content": "You write CUDA kernels."}
    assert rows[0]["reply"].startswith("```python")


def test_trajectories_link_calls_to_candidates(tmp_path: Path) -> None:
    from synthetic_run import Spec, candidate_source, evaluation, task

    from cudarwin.results import LLMCallRecord

    with Archive.create(tmp_path, "") as arch:
        arch.add_task(task("relu"))
        for key in ("u1", "u2", "u3"):  # recorded before the reply was parsed: no candidate id
            arch.add_llm_call(LLMCallRecord.from_messages([{"role": "user", "content": key}], request_hash=key,
                              model="m", task="relu", reply=f"Here:\n```python\n{candidate_source(key)}```\n"))
        for key in ("u1", "u2"):
            cid = arch.add_candidate(Candidate(candidate_source(key)), task="relu")
            arch.add_evaluation(evaluation(Spec("relu", key, 0, times=((3.0, 1.0, 1.0, None),)), cid))
        arch.link_llm_call("u2", cid)
    assert export_trajectories(tmp_path, tmp_path / "t.jsonl") == 3
    rows = {r["request_hash"]: r for r in map(json.loads, (tmp_path / "t.jsonl").read_text().splitlines())}
    assert rows["u1"]["candidate_id"] == Candidate(candidate_source("u1")).id  # found in the reply's code block
    assert rows["u1"]["reward"] == pytest.approx(3.0)
    assert rows["u2"]["candidate_id"] == cid and rows["u2"]["verdict"] == "accepted"  # linked explicitly
    assert rows["u3"]["verdict"] == "no_candidate"


def test_report_command(runs: dict, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(runs["a"]), str(runs["b"]), "--out", str(tmp_path / "r")]) == 0
    assert {p.name for p in (tmp_path / "r").iterdir()} == {"leaderboard.md", "leaderboard.csv", "report.html"}
    assert "report.html" in capsys.readouterr().out
    assert main(["report", str(runs["b"])]) == 0
    assert (runs["b"] / "report" / "report.html").is_file()


def test_a_sweep_folder_stands_for_its_runs(runs: dict, tmp_path: Path) -> None:
    files = write_report([runs["root"]], tmp_path)
    assert {row["run"] for row in csv.DictReader(files.csv.open())} == {"model-a", "offline"}


def test_commands_reject_bad_run_dirs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no such run folder" in err and "missing" in err
    assert main(["export", str(tmp_path), "--best", str(tmp_path / "b")]) == 2
    assert "no archive.sqlite" in capsys.readouterr().err
    assert main(["export", str(tmp_path)]) == 2
    assert "nothing to export" in capsys.readouterr().err


def test_export_command(runs: dict, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--best", str(tmp_path / "best"), "--trajectories", str(tmp_path / "t.jsonl")]
    assert main(["export", str(runs["a"]), *args]) == 0
    out = capsys.readouterr().out
    assert "wrote 3 kernels" in out and "wrote 10 LLM turns" in out
