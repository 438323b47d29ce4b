"""Suites: folders, single files, built-in names, and reference solutions."""

from __future__ import annotations

from pathlib import Path

import pytest

from cudarwin.tasks import suites
from cudarwin.tasks.suites import SuiteLoad, list_suites, load_suite, solutions_for, task_files, wrong_for
from cudarwin.types import TaskError

FIXTURES = Path(__file__).parent / "fixtures" / "tasks"
FOLDER = FIXTURES / "folder"
ALL = ["gated_act", "gelu_paper", "relu", "silu", "standardize"]


@pytest.fixture()
def suite_dir(monkeypatch: pytest.MonkeyPatch) -> Path:
    """Make the fixture folder stand in for tasks/suite/."""
    monkeypatch.setattr(suites, "SUITE_DIR", FOLDER.resolve())
    return FOLDER.resolve()


def names(loaded: SuiteLoad) -> list[str]:
    return sorted(t.name for t in loaded.tasks)


def test_folder_skips_solutions_helpers_and_reports_the_bad_file() -> None:
    loaded = load_suite(FOLDER)
    assert names(loaded) == ALL
    assert len(loaded.errors) == 1 and not loaded.ok
    err = loaded.errors[0]
    assert err.path == str((FOLDER / "broken.py").resolve()) and err.line == 7
    assert "syntax error" in str(err)
    assert all(t.suite == str(FOLDER) for t in loaded.tasks)


def test_task_files_rules() -> None:
    found = [p.relative_to(FOLDER.resolve()).as_posix() for p in task_files(FOLDER)]
    assert found == [
        "broken.py",
        "elementwise/relu.py",
        "elementwise/silu.py",
        "norm/gated_act.py",
        "norm/standardize.py",
        "papers/gelu_paper.py",
    ]


def test_single_file() -> None:
    loaded = load_suite(str(FOLDER / "elementwise" / "relu.py"))
    assert names(loaded) == ["relu"] and loaded.ok


def test_unknown_suite_is_an_error() -> None:
    with pytest.raises(TaskError, match="no suite or path named 'nonesuch'.*full, papers, quick"):
        load_suite("nonesuch")


def test_full_suite(suite_dir: Path) -> None:
    loaded = load_suite("full")
    assert names(loaded) == ALL
    assert all(t.suite == "full" for t in loaded.tasks)
    assert len(loaded.errors) == 1


def test_papers_suite_by_folder_or_category(suite_dir: Path) -> None:
    assert names(load_suite("papers")) == ["gated_act", "gelu_paper"]


def test_quick_suite_reads_its_list(suite_dir: Path) -> None:
    loaded = load_suite("quick")
    assert names(loaded) == ["relu", "standardize"]
    assert len(loaded.errors) == 1  # the broken file is not listed, so not loaded
    err = loaded.errors[0]
    assert err.line == 5 and "missing_task" in str(err) and err.path.endswith("quick.txt")


def test_quick_suite_without_a_list(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(suites, "SUITE_DIR", tmp_path)
    loaded = load_suite("quick")
    assert loaded.tasks == [] and "list is missing" in str(loaded.errors[0])


def test_path_object_named_like_a_suite_is_a_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "relu.py").write_text((FOLDER / "elementwise" / "relu.py").read_text())
    assert names(load_suite(Path("full"))) == ["relu"]
    assert names(load_suite("./full")) == ["relu"]


def test_duplicate_names_are_reported(tmp_path: Path) -> None:
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "relu.py").write_text((FOLDER / "elementwise" / "relu.py").read_text())
    loaded = load_suite(tmp_path)
    assert names(loaded) == ["relu"]
    assert len(loaded.errors) == 1 and "also used by" in str(loaded.errors[0])


def test_solutions_and_wrong_siblings() -> None:
    loaded = load_suite(FOLDER).by_name()
    relu, standardize, silu = loaded["relu"], loaded["standardize"], loaded["silu"]
    assert [p.name for p in solutions_for(relu)] == ["relu.solution.masked.py", "relu.solution.py"]
    assert [p.name for p in wrong_for(relu)] == ["relu.wrong.py"]
    assert [p.relative_to(FOLDER.resolve()).as_posix() for p in solutions_for(standardize)] == [
        "norm/solutions/standardize.solution.py"
    ]
    assert [p.name for p in wrong_for(standardize)] == ["standardize.wrong.py"]
    assert solutions_for(silu) == [] and wrong_for(silu) == []


def test_list_suites() -> None:
    assert [s.name for s in list_suites()] == ["full", "papers", "quick"]
    assert all(s.description for s in list_suites())
