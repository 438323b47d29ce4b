"""Suites: named or folder collections of task files, and their reference solutions.

A suite is a folder of task files, searched recursively (a KernelBench
``level1/`` folder is a suite). Three suites are built in, over the folder
``tasks/suite/`` shipped with cudarwin:

- ``full``: every task under ``tasks/suite/``;
- ``papers``: tasks under ``tasks/suite/papers/`` or whose ``META`` category is ``"papers"``;
- ``quick``: the task stems listed in ``tasks/suite/quick.txt`` (one per line, ``#`` comments).

Not every ``.py`` file is a task. Skipped: names starting with ``_``, names
with a second dot (``softmax.solution.py`` is the honest hand-written
``ModelNew`` for ``softmax.py``; ``softmax.wrong.py`` a deliberately wrong
one), and anything inside a ``solutions/`` folder.

A named suite takes precedence over a same-named path; write ``./full`` for a
folder called ``full``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from cudarwin.tasks.loader import load_task
from cudarwin.types import Task, TaskError

SUITE_DIR = Path(__file__).resolve().parent / "suite"
QUICK_LIST = "quick.txt"
SOLUTIONS_FOLDER = "solutions"


@dataclass(frozen=True)
class SuiteLoad:
    """The tasks of a suite that loaded, and one error per file that did not."""

    name: str  # the suite name or path as given
    tasks: list[Task] = field(default_factory=list)
    errors: list[TaskError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def by_name(self) -> dict[str, Task]:
        return {t.name: t for t in self.tasks}


@dataclass(frozen=True)
class SuiteInfo:
    """A built-in suite, for listings."""

    name: str
    description: str


_BUILTIN: dict[str, str] = {
    "full": "every task under tasks/suite/",
    "papers": "tasks from papers (tasks/suite/papers/ or META category 'papers')",
    "quick": f"a fast subset, listed in tasks/suite/{QUICK_LIST}",
}


def list_suites() -> tuple[SuiteInfo, ...]:
    """The built-in suite names with a one-line description each."""
    return tuple(SuiteInfo(name, text) for name, text in _BUILTIN.items())


def load_suite(name_or_path: str | Path) -> SuiteLoad:
    """Load a built-in suite by name, a folder of task files, or one task file.

    Files that fail to load are reported in ``errors``; the others still load.
    Raises ``TaskError`` only when the argument names neither a suite nor an
    existing path.
    """
    name = str(name_or_path)
    if name in _BUILTIN and not isinstance(name_or_path, Path):
        return _BUILTIN_LOADERS[name](name)
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        return _load_files(name, task_files(path))
    if path.is_file():
        return _load_files(name, [path])
    suites = ", ".join(_BUILTIN)
    raise TaskError(f"no suite or path named {name!r}", hint=f"give a folder, a .py file, or one of: {suites}")


def is_task_file(path: Path) -> bool:
    """Whether ``path`` (a .py file) is a task rather than a solution or helper."""
    return (
        path.suffix == ".py"
        and not path.name.startswith("_")
        and "." not in path.stem
        and SOLUTIONS_FOLDER not in path.parent.parts
    )


def task_files(folder: Path) -> list[Path]:
    """Task files under ``folder``, recursively, sorted; hidden and ``_`` folders skipped."""
    root = folder.resolve()
    found = []
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).parts[:-1]
        if any(p.startswith((".", "_")) or p == SOLUTIONS_FOLDER for p in parts):
            continue
        if is_task_file(path):
            found.append(path)
    return found


def solutions_for(task: Task) -> list[Path]:
    """Honest reference solutions of ``task``: ``<stem>.solution[.<label>].py``
    next to it or in a sibling ``solutions/`` folder."""
    return _siblings(task, "solution")


def wrong_for(task: Task) -> list[Path]:
    """Deliberately wrong solutions of ``task`` (``<stem>.wrong[.<label>].py``),
    each of which the verifier must reject."""
    return _siblings(task, "wrong")


def _siblings(task: Task, kind: str) -> list[Path]:
    stem = task.path.stem
    found: set[Path] = set()
    for folder in (task.path.parent, task.path.parent / SOLUTIONS_FOLDER):
        for pattern in (f"{stem}.{kind}.py", f"{stem}.{kind}.*.py"):
            found.update(p for p in folder.glob(pattern) if p.is_file())
    return sorted(found)


def _load_files(suite: str, files: list[Path]) -> SuiteLoad:
    loaded = SuiteLoad(suite)
    seen: dict[str, Path] = {}
    for path in files:
        try:
            task = load_task(path, suite=suite)
        except TaskError as err:
            loaded.errors.append(err)
            continue
        if task.name in seen:
            loaded.errors.append(
                TaskError(f"task name {task.name!r} is also used by {seen[task.name]}", path=path, hint="rename one")
            )
            continue
        seen[task.name] = task.path
        loaded.tasks.append(task)
    return loaded


def _load_full(name: str) -> SuiteLoad:
    return _load_files(name, task_files(SUITE_DIR) if SUITE_DIR.is_dir() else [])


def _load_papers(name: str) -> SuiteLoad:
    # A file's category is known only once it loads, so errors from the whole
    # suite folder are reported: a broken file might be a paper task.
    full = _load_full(name)
    papers_dir = SUITE_DIR / "papers"
    tasks = [t for t in full.tasks if t.meta.category == "papers" or papers_dir in t.path.parents]
    return SuiteLoad(name, tasks, full.errors)


def _load_quick(name: str) -> SuiteLoad:
    listing = SUITE_DIR / QUICK_LIST
    if not listing.is_file():
        return SuiteLoad(name, [], [TaskError("the quick suite's list is missing", path=listing)])
    by_stem: dict[str, Path] = {}
    for path in task_files(SUITE_DIR):
        by_stem.setdefault(path.stem, path)
    files, errors = [], []
    for number, raw in enumerate(listing.read_text(encoding="utf-8").splitlines(), start=1):
        entry = raw.split("#", 1)[0].strip()
        if not entry:
            continue
        path = by_stem.get(entry) or _relative_task(entry)
        if path is None:
            errors.append(TaskError(f"no task named {entry!r} under {SUITE_DIR}", path=listing, line=number))
        elif path not in files:
            files.append(path)
    loaded = _load_files(name, files)
    return SuiteLoad(name, loaded.tasks, errors + loaded.errors)


def _relative_task(entry: str) -> Path | None:
    """An entry written as a path relative to the suite folder (``norm/softmax``)."""
    path = (SUITE_DIR / entry).with_suffix(".py") if not entry.endswith(".py") else SUITE_DIR / entry
    return path if path.is_file() and is_task_file(path) else None


_BUILTIN_LOADERS: dict[str, Callable[[str], SuiteLoad]] = {
    "full": _load_full,
    "papers": _load_papers,
    "quick": _load_quick,
}
