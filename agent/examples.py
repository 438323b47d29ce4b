"""Worked examples for prompts: accepted solutions of related suite tasks.

A task's own solution is never shown (that would hand over the answer); a
solution of another task of the same category is.
"""

from __future__ import annotations

from pathlib import Path

from cudarwin.types import Task

_SUFFIX = ".solution"


def _suite_dir() -> Path:
    from cudarwin.tasks.suites import SUITE_DIR

    return SUITE_DIR


def _task_stem(solution: Path) -> str:
    return solution.name.split(".", 1)[0]


def example_files(task: Task) -> list[Path]:
    """Solution files of other tasks in the task's category, sorted."""
    folders = {task.path.parent, _suite_dir() / task.meta.category}
    found: set[Path] = set()
    for folder in folders:
        if folder.is_dir():
            found.update(folder.glob(f"*{_SUFFIX}.py"))
            found.update(folder.glob(f"*{_SUFFIX}.*.py"))
            found.update((folder / "solutions").glob(f"*{_SUFFIX}*.py"))
    return sorted(p for p in found if _task_stem(p) != task.name and p.is_file())


def worked_example(task: Task) -> tuple[str, str] | None:
    """(task name, solution source) of a same-category task, or None."""
    files = example_files(task)
    if not files:
        return None
    chosen = files[0]
    return _task_stem(chosen), chosen.read_text(encoding="utf-8")
