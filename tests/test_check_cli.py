"""``cudarwin check`` end to end: exit codes, --json, --compile-only, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cudarwin.cli import main

HERE = Path(__file__).parent
TASK = HERE / "fixtures" / "check" / "relu_task.py"
GPU = HERE / "candidates" / "gpu"
CPU = HERE / "candidates" / "cpu"


def test_compile_only_accepts_a_good_kernel(capsys):
    rc = main(["check", str(TASK), str(GPU / "honest_relu.py"), "--compile-only", "--arch", "sm_90", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0, out
    assert out["status"] == "accepted" and out["compile"]["ok"] and out["compile"]["arch"] == "sm_90"


def test_compile_only_reports_the_nvrtc_log(capsys):
    rc = main(["check", str(TASK), str(GPU / "compile_error.py"), "--compile-only", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 1 and out["status"] == "rejected"
    assert out["reasons"][0]["code"] == "compile_error"
    assert "undefined_name" in out["reasons"][0]["message"]


def test_compile_only_runs_static_checks_first(capsys):
    rc = main(["check", str(TASK), str(CPU / "hack27_ctypes.py"), "--compile-only", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 1 and out["stage"] == "static"
    assert {r["code"] for r in out["reasons"]} >= {"tampering"}


def test_strict_compile_only_needs_a_kernel(capsys):
    rc = main(["check", str(TASK), str(CPU / "honest_torch.py"), "--compile-only", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 1 and out["reasons"][0]["code"] == "no_custom_kernel"


def test_cpu_check_json_has_per_shape_numbers(capsys):
    rc = main(["check", str(TASK), str(CPU / "honest_torch.py"), "--device", "cpu", "--json", "--no-compile-baseline"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0, out["reasons"]
    assert out["status"] == "accepted" and out["policy"] == "torch-ok"
    for shape in out["shapes"]:
        assert shape["max_abs_err"] is not None
        assert shape["candidate"]["median_ms"] > 0 and shape["eager"]["median_ms"] > 0
        assert shape["speedup_eager"] > 0


def test_cpu_check_human_table_and_rejection(capsys):
    rc = main(["check", str(TASK), str(CPU / "hack22_partial_write.py"), "--device", "cpu", "--no-compile-baseline"])
    out = capsys.readouterr().out
    assert rc == 1
    assert "REJECTED" in out and ("[nonfinite]" in out or "[mismatch]" in out)


def test_missing_candidate_is_bad_input(capsys):
    rc = main(["check", str(TASK), "/nonexistent/cand.py", "--device", "cpu"])
    assert rc == 2
    assert "candidate file not found" in capsys.readouterr().err


def test_bad_task_is_bad_input(tmp_path, capsys):
    bad = tmp_path / "bad_task.py"
    bad.write_text("import torch\nclass Model(:\n")
    rc = main(["check", str(bad), str(CPU / "honest_torch.py"), "--device", "cpu"])
    assert rc == 2
    assert "bad_task.py:2" in capsys.readouterr().err


def test_no_gpu_gives_a_clear_message(capsys):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    rc = main(["check", str(TASK), str(GPU / "honest_relu.py")])
    err = capsys.readouterr().err
    assert rc == 2 and "no CUDA GPU" in err and "--device cpu" in err and "--compile-only" in err


def test_baseline_command_writes_the_store(tmp_path, capsys):
    """``cudarwin baseline`` on the CPU: a table per task and a JSON store that the evaluator reads."""
    rc = main(["baseline", str(HERE / "fixtures" / "check" / "relu_task.py"), "--device", "cpu",
               "--modes", "eager", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert rc == 0
    assert "relu_task" in out and "wrote" in out
    data = json.loads((tmp_path / "cpu.json").read_text())
    keys = [k for k in data["timings"] if k.startswith("relu_task|")]
    assert len(keys) == 3 and all("|eager|" in k for k in keys)
    assert all(data["timings"][k]["median_ms"] > 0 for k in keys)


def test_unavailable_baseline_is_not_measured_again(tmp_path, capsys):
    """A compile baseline recorded as n/a (its compile timed out) is skipped, not retried for hours."""
    from cudarwin.runner import EvalConfig, Evaluator
    from cudarwin.tasks import load_task

    task = load_task(HERE / "fixtures" / "check" / "relu_task.py")
    with Evaluator(EvalConfig(device="cpu", baselines=("eager",), baseline_dir=tmp_path)) as ev:
        ev.store.put_unavailable(task, 0, "compile", "torch.compile took over 150 s")
        assert ev.baseline(task, 0, "compile") is None
        assert ev.baselines.kept_worker is None and not ev.baselines.started  # no worker was even started
        assert ev.store.unavailable(task, 0, "compile") == "torch.compile took over 150 s"
        assert ev.store.unavailable(task, 0, "eager") is None
        # the eager baselines of two tasks come from one reused baseline worker
        assert ev.baseline(task, 0, "eager").median_ms > 0
        kept = ev.baselines.kept_worker
        other = load_task(HERE / "fixtures" / "check" / "softmax_task.py")
        assert ev.baseline(other, 0, "eager").median_ms > 0
        assert kept is not None and ev.baselines.kept_worker is kept
        ev.store.save()
    data = json.loads((tmp_path / "cpu.json").read_text())
    assert any(v == {"unavailable": "torch.compile took over 150 s"} for v in data["timings"].values())
