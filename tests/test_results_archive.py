"""The run archive: round trips, resume, versioning, crash safety, concurrent readers."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures" / "results"
sys.path.insert(0, str(FIXTURES))

from synthetic_run import SPECS_A, Spec, build_run_a, candidate_source, evaluation, task  # noqa: E402

from cudarwin.results import Archive, LLMCallRecord, load  # noqa: E402
from cudarwin.results import schema  # noqa: E402
from cudarwin.types import Candidate, CudarwinError, Evaluation, Reason  # noqa: E402


def test_round_trip_of_every_record(tmp_path: Path) -> None:
    ids = build_run_a(tmp_path)
    with Archive.open(tmp_path) as arch:
        evals = arch.evaluations("relu")
        assert [e.candidate_id for e in evals] == [ids["r1"], ids["r2"], ids["r3"]]
        for spec, got in zip(SPECS_A[:3], evals):
            want = evaluation(spec, ids[spec.key])
            assert got == Evaluation.from_dict(want.to_dict())
            assert got.to_dict() == want.to_dict()
        cand = arch.candidate("relu", ids["r2"])
        assert cand is not None and cand.id == ids["r2"]
        assert cand.parents == (ids["r1"],) and cand.tunables == (("block", 256),) and cand.note == "try r2"
        assert [c.id for c in arch.candidates("softmax")] == [ids["s1"], ids["s2"]]
        assert arch.config_yaml == "model: model-a\npolicy: strict\n"
        assert arch.meta()["schema_version"] == str(schema.SCHEMA_VERSION)
    assert (tmp_path / "config.yaml").read_text() == "model: model-a\npolicy: strict\n"


def test_round_trip_of_a_bare_rejection(tmp_path: Path) -> None:
    from cudarwin.types import Policy, ReasonItem, Stage, Status, Verdict

    bare = Evaluation(task="relu", candidate_id="abc", policy=Policy.TORCH_OK, device="cpu",
                      verdict=Verdict(Status.REJECTED, (ReasonItem(Reason.SYNTAX_ERROR, "line 3: bad"),), Stage.STATIC))
    with Archive.create(tmp_path, "") as arch:  # no task, no candidate, no shapes, no compile report
        arch.add_evaluation(bare)
        assert arch.evaluations("relu") == [bare]
        assert arch.has_evaluation("relu", "abc") and arch.best("relu") is None
    row = load(tmp_path).evaluations.iloc[0]
    assert (row.status, row.stage, row.policy, row.fitness) == ("rejected", "static", "torch-ok", 0.0)


def test_device_is_an_enum_stored_as_its_string(tmp_path: Path) -> None:
    """Configs, JSON and archives keep the plain strings; the code gets a Device back."""
    import json

    from cudarwin.types import Device, Policy, Stage, Status, Verdict

    evs = [Evaluation(task="relu", candidate_id=f"c{i}", policy=Policy.TORCH_OK, device=d,
                      verdict=Verdict(Status.REJECTED, (), Stage.STATIC)) for i, d in enumerate(("cuda", "cpu", "none"))]
    assert [e.device for e in evs] == [Device.CUDA, Device.CPU, Device.NONE]
    assert json.loads(json.dumps(evs[0].to_dict()))["device"] == "cuda" and f"{evs[1].device}" == "cpu"
    with Archive.create(tmp_path, "") as arch:
        for ev in evs:
            arch.add_evaluation(ev)
        assert [e.device for e in arch.evaluations("relu")] == [Device.CUDA, Device.CPU, Device.NONE]
    assert list(load(tmp_path).evaluations.device) == ["cuda", "cpu", "none"]
    with sqlite3.connect(tmp_path / "archive.sqlite") as db:
        assert {r[0] for r in db.execute("SELECT DISTINCT typeof(device) FROM evaluations")} == {"text"}
    with pytest.raises(ValueError):
        Evaluation(task="relu", candidate_id="x", policy=Policy.TORCH_OK, device="tpu", verdict=evs[0].verdict)


def test_best_skips_rejected_and_findings(tmp_path: Path) -> None:
    ids = build_run_a(tmp_path)
    with Archive.open(tmp_path) as arch:
        cand, ev = arch.best("relu")  # type: ignore[misc]
        assert cand.id == ids["r2"] and ev.fitness == pytest.approx(2.5)
        # s2 claims 50x but is flagged BEYOND_ROOFLINE: s1 (1.2x) is the best
        cand, ev = arch.best("softmax")  # type: ignore[misc]
        assert cand.id == ids["s1"] and ev.fitness == pytest.approx(1.2)
        assert arch.best("layernorm") is None
        assert arch.best("no-such-task") is None


def test_resume_skips_known_work(tmp_path: Path) -> None:
    ids = build_run_a(tmp_path)
    with Archive.open(tmp_path) as arch:
        assert arch.has_evaluation("relu", ids["r1"])
        assert not arch.has_evaluation("relu", "0" * 16)
        assert not arch.has_evaluation("softmax", ids["r1"])
        arch.add_task(task("relu"))  # same file again: a no-op
        again = arch.add_candidate(Candidate(candidate_source("r1"), proposer="other"), task="relu")
        assert again == ids["r1"] and len(arch.candidates("relu")) == 3
        assert arch.candidate("relu", ids["r1"]).proposer == "llm:model-a"  # type: ignore[union-attr]
        changed = replace(task("relu"), source="import torch  # edited\n")
        with pytest.raises(CudarwinError, match="changed since this run started"):
            arch.add_task(changed)


def test_llm_cache(tmp_path: Path) -> None:
    build_run_a(tmp_path)
    with Archive.open(tmp_path) as arch:
        hit = arch.cached_llm_reply("h-r2")
        assert hit is not None and hit.reply.startswith("```python") and not hit.cache_hit
        assert hit.messages[1] == {"role": "user", "content": "Optimize relu"}
        assert hit.total_tokens == 1500
        assert arch.cached_llm_reply("h-fail") is None  # failed calls are not a cache
        assert arch.cached_llm_reply("unknown") is None
        rec = LLMCallRecord.from_messages([{"role": "user", "content": "x"}], request_hash="new", model="m", reply="y")
        arch.add_llm_call(rec)
        assert arch.cached_llm_reply("new") == rec
        assert len(arch.llm_calls("relu")) == 4  # three calls and one cache hit


def test_notes(tmp_path: Path) -> None:
    with Archive.create(tmp_path, "") as arch:
        arch.add_note("matmul", "no_proposal", "op matmul not supported")
        notes = arch.notes()
        assert [(n.task, n.kind, n.message) for n in notes] == [("matmul", "no_proposal", "op matmul not supported")]
        assert arch.notes("relu") == []


def test_create_refuses_existing_archive(tmp_path: Path) -> None:
    Archive.create(tmp_path, "").close()
    with pytest.raises(CudarwinError, match="already has an archive"):
        Archive.create(tmp_path, "")


def test_open_errors_name_the_problem(tmp_path: Path) -> None:
    with pytest.raises(CudarwinError, match="no such run folder"):
        Archive.open(tmp_path / "missing")
    with pytest.raises(CudarwinError, match="no archive.sqlite"):
        Archive.open(tmp_path)
    (tmp_path / "archive.sqlite").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(CudarwinError, match="archive"):
        Archive.open(tmp_path)
    with pytest.raises(CudarwinError):
        load(tmp_path)


def _set_version(run_dir: Path, version: int) -> None:
    conn = sqlite3.connect(run_dir / "archive.sqlite")
    with conn:
        conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(version),))
    conn.close()


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    build_run_a(tmp_path)
    _set_version(tmp_path, schema.SCHEMA_VERSION + 1)
    with pytest.raises(CudarwinError, match="newer than this cudarwin"):
        Archive.open(tmp_path)
    with pytest.raises(CudarwinError, match="upgrade cudarwin"):
        load(tmp_path)


def test_older_schema_is_migrated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    build_run_a(tmp_path)
    current = schema.SCHEMA_VERSION

    def add_column(conn: sqlite3.Connection) -> None:
        conn.execute("ALTER TABLE notes ADD COLUMN severity TEXT NOT NULL DEFAULT 'info'")

    monkeypatch.setattr(schema, "SCHEMA_VERSION", current + 1)
    monkeypatch.setattr(schema, "MIGRATIONS", {current: add_column})
    run = load(tmp_path)  # read-only: migrated in a private copy, file untouched
    assert len(run.evaluations) == len(SPECS_A)
    conn = sqlite3.connect(tmp_path / "archive.sqlite")
    assert conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == str(current)
    conn.close()
    with Archive.open(tmp_path) as arch:  # read-write: migrated in place
        assert arch.meta()["schema_version"] == str(current + 1)
        arch.add_note("relu", "k", "m")
    def broken(conn: sqlite3.Connection) -> None:
        conn.execute("ALTER TABLE notes ADD COLUMN half_done TEXT")
        raise RuntimeError("migration bug")

    _set_version(tmp_path, current)
    monkeypatch.setattr(schema, "MIGRATIONS", {current: broken})
    with pytest.raises(RuntimeError, match="migration bug"):
        Archive.open(tmp_path)
    conn = sqlite3.connect(tmp_path / "archive.sqlite")
    assert "half_done" not in [r[1] for r in conn.execute("PRAGMA table_info(notes)")]  # rolled back
    conn.close()
    monkeypatch.setattr(schema, "MIGRATIONS", {})
    with pytest.raises(CudarwinError, match="too old to migrate"):
        Archive.open(tmp_path)


def test_readonly_archive_refuses_writes(tmp_path: Path) -> None:
    build_run_a(tmp_path)
    with Archive.open(tmp_path, readonly=True) as arch:
        assert len(arch.evaluations("relu")) == 3
        with pytest.raises(CudarwinError, match="read-only"):
            arch.add_note("relu", "k", "m")
        with pytest.raises(CudarwinError, match="read-only"):
            arch.add_task(task("matmul"))


def test_failed_batch_leaves_nothing(tmp_path: Path) -> None:
    with Archive.create(tmp_path, "") as arch:
        arch.add_task(task("relu"))
        with pytest.raises(RuntimeError):
            with arch.batch():
                cid = arch.add_candidate(Candidate(candidate_source("x")), task="relu")
                arch.add_evaluation(evaluation(Spec("relu", "x", 0, times=((2.0, 1.0, 1.0, None),)), cid))
                raise RuntimeError("evaluator died")
        assert arch.candidates("relu") == [] and arch.evaluations("relu") == []
        arch.add_note("relu", "k", "after the failed batch, writes still work")
        assert len(arch.notes()) == 1


def test_threads_share_one_writer(tmp_path: Path) -> None:
    with Archive.create(tmp_path, "") as arch:
        arch.add_task(task("relu"))

        def work(t: int) -> None:
            for i in range(20):
                cid = arch.add_candidate(Candidate(candidate_source(f"t{t}_{i}")), task="relu", island=t)
                arch.add_evaluation(evaluation(Spec("relu", f"t{t}_{i}", 0, times=((2.0, 1.0, 1.0, None),)), cid))

        threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert len(arch.candidates("relu")) == 80 and len(arch.evaluations("relu")) == 80


# ---------------------------------------------------------------------------- other processes

_WRITER = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, {fixtures!r})
    from synthetic_run import Spec, candidate_source, evaluation, task
    from cudarwin.results import Archive
    from cudarwin.types import Candidate
    arch = Archive.open({run_dir!r}) if {resume!r} else Archive.create({run_dir!r}, "")
    arch.add_task(task("relu"))

    def add(key, shapes):
        cid = arch.add_candidate(Candidate(candidate_source(key)), task="relu")
        arch.add_evaluation(evaluation(Spec("relu", key, 0, times=((2.0, 1.0, 1.5, None),) * shapes), cid))

    mode = {mode!r}
    if mode == "hold":
        for i in range(3):
            add(f"done{{i}}", 2)
        with arch.batch():
            add("partial", 2)
            print("IN_TRANSACTION", flush=True)
            time.sleep(60)
    else:
        print("WRITING", flush=True)
        i = 0
        while True:
            with arch.batch():
                add(f"{{mode}}{{i}}", 8)
            i += 1
    """
)


def _start_writer(run_dir: Path, mode: str, resume: bool = False) -> subprocess.Popen[str]:
    code = _WRITER.format(fixtures=str(FIXTURES), run_dir=str(run_dir), mode=mode, resume=resume)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip() in ("IN_TRANSACTION", "WRITING"), f"writer failed to start: {line!r}"
    return proc


def _kill(proc: subprocess.Popen[str]) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL


def _integrity_ok(run_dir: Path) -> bool:
    conn = sqlite3.connect(run_dir / "archive.sqlite")
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()


def test_sigkill_mid_transaction_keeps_committed_rows(tmp_path: Path) -> None:
    proc = _start_writer(tmp_path, "hold")
    _kill(proc)
    assert _integrity_ok(tmp_path)
    with Archive.open(tmp_path) as arch:
        sources = {c.source for c in arch.candidates("relu")}
        assert sources == {candidate_source(f"done{i}") for i in range(3)}
        assert len(arch.evaluations("relu")) == 3
        partial = Candidate(candidate_source("partial")).id
        assert not arch.has_evaluation("relu", partial)
    run = load(tmp_path)
    assert len(run.shapes) == 6


def _wait_for_evaluations(run_dir: Path, more_than: int, timeout: float = 30.0) -> None:
    """Wait until the writer has committed more than ``more_than`` evaluations."""
    deadline = time.monotonic() + timeout
    while len(load(run_dir).evaluations) <= more_than:
        assert time.monotonic() < deadline, "the writer committed nothing"
        time.sleep(0.05)


def test_sigkill_at_any_moment_keeps_evaluations_whole(tmp_path: Path) -> None:
    proc = _start_writer(tmp_path, "loop")
    _wait_for_evaluations(tmp_path, 3)
    time.sleep(0.1)  # kill at an arbitrary point of the loop
    _kill(proc)
    assert _integrity_ok(tmp_path)
    run = load(tmp_path)
    assert len(run.evaluations) > 0
    # every evaluation landed with all of its shape rows, or not at all
    assert (run.shapes.groupby("eval_id").size() == 8).all()
    assert set(run.shapes.eval_id) == set(run.evaluations.eval_id)
    assert set(run.evaluations.candidate_id) == set(run.candidates.candidate_id)
    proc = _start_writer(tmp_path, "again", resume=True)  # the run resumes on the same archive
    _wait_for_evaluations(tmp_path, len(run.evaluations))
    _kill(proc)
    assert len(load(tmp_path).evaluations) > len(run.evaluations)


def test_readers_while_a_process_writes(tmp_path: Path) -> None:
    proc = _start_writer(tmp_path, "loop")
    try:
        _wait_for_evaluations(tmp_path, 0)
        counts = []
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            run = load(tmp_path)
            assert (run.shapes.groupby("eval_id").size() == 8).all()
            counts.append(len(run.evaluations))
        assert counts == sorted(counts) and counts[-1] > counts[0]
    finally:
        _kill(proc)


def test_flags_are_stored_as_codes(tmp_path: Path) -> None:
    build_run_a(tmp_path)
    run = load(tmp_path)
    flagged = run.evaluations[run.evaluations.flag_codes != ""]
    assert list(flagged.flag_codes) == [Reason.BEYOND_ROOFLINE.value]
    assert not flagged.ranked.any() and flagged.accepted.all()
    rejected = run.evaluations[run.evaluations.reason_codes == "mismatch"]
    assert list(rejected.reason_messages) == ["mismatch: mismatch on shape 0"]
