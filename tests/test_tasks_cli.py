"""`cudarwin tasks list` / `cudarwin tasks validate`: output and exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest

from cudarwin.cli import main
from cudarwin.tasks import suites

FIXTURES = Path(__file__).parent / "fixtures" / "tasks"


def test_list_folder_with_a_bad_file_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["tasks", "list", str(FIXTURES / "folder")])
    out, err = capsys.readouterr()
    assert code == 2
    assert "relu" in out and "elementwise" in out and "n=64" in out
    assert "5 task(s)" in out
    assert "broken.py:7: syntax error" in err


def test_list_good_folder_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tasks", "list", str(FIXTURES / "kernelbench")]) == 0
    out = capsys.readouterr().out
    assert "40_LayerNorm" in out and "(fixed)" in out and "suites:" not in out


def test_list_default_shows_suites(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(suites, "SUITE_DIR", (FIXTURES / "kernelbench").resolve())
    code = main(["tasks", "list"])
    out = capsys.readouterr().out
    assert code == 0
    assert "3 task(s) in full" in out
    assert "suites:" in out and "papers" in out and "quick" in out


def test_list_unknown_target_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tasks", "list", "no_such_suite"]) == 2
    assert "no suite or path named 'no_such_suite'" in capsys.readouterr().err


def test_validate_good_folder_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tasks", "validate", str(FIXTURES / "kernelbench")]) == 0
    out = capsys.readouterr().out
    assert out.count("OK    ") == 3 and "3 admitted, 0 failed, 0 bad file(s)" in out


def test_validate_ill_posed_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tasks", "validate", str(FIXTURES / "illposed" / "ignores_input.py")]) == 1
    assert "FAIL  ignores_input: shape 0 {}: output does not depend on input 1" in capsys.readouterr().out


def test_validate_bad_file_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tasks", "validate", str(FIXTURES / "bad" / "get_inputs_raises.py")]) == 2
    out = capsys.readouterr().out
    assert "ERROR get_inputs_raises:" in out and "get_inputs_raises.py:11:" in out


def test_validate_all_shapes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tasks", "validate", str(FIXTURES / "good" / "masked_embedding.py"), "--all-shapes"]) == 0
    assert "(shape 0,1," in capsys.readouterr().out


def test_validate_cuda_without_gpu_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert main(["tasks", "validate", str(FIXTURES / "kernelbench"), "--device", "cuda"]) == 2
    assert "no CUDA GPU" in capsys.readouterr().err


@pytest.mark.gpu
def test_validate_on_gpu(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tasks", "validate", str(FIXTURES / "kernelbench"), "--device", "cuda"]) == 0
    assert capsys.readouterr().out.count("OK    ") == 3
