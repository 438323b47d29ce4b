"""``cudarwin tasks list`` and ``cudarwin tasks validate``.

Exit codes: 0 all good; 1 a task failed admission (``validate``); 2 a task
file could not be loaded or run, or the arguments were bad.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Sequence

from cudarwin.tasks.admission import check_admission
from cudarwin.tasks.suites import SuiteLoad, list_suites, load_suite
from cudarwin.types import CudarwinError, ExitCode, Task, TaskError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``tasks`` command and its ``list`` / ``validate`` subcommands."""
    tasks = subparsers.add_parser("tasks", help="list and validate task suites")
    sub = tasks.add_subparsers(dest="tasks_command", metavar="SUBCOMMAND", required=True)

    lister = sub.add_parser("list", help="list the tasks of a suite, folder or file")
    lister.add_argument("target", nargs="?", default=None, metavar="PATH_OR_SUITE", help="default: full")
    lister.set_defaults(handler=run_list)

    validate = sub.add_parser("validate", help="load tasks and check that each is well-posed")
    validate.add_argument("target", metavar="PATH_OR_SUITE")
    validate.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    validate.add_argument("--all-shapes", action="store_true", help="check every shape, not only the smallest")
    validate.set_defaults(handler=run_validate)


# --------------------------------------------------------------------------- list


def run_list(args: argparse.Namespace) -> int:
    """Print a table of the tasks, then (with no argument) the built-in suites, then load errors."""
    loaded = load_suite(args.target or "full")
    rows = [_task_row(t) for t in sorted(loaded.tasks, key=lambda t: (t.meta.category, t.name))]
    print(_table(("name", "category", "shapes", "headline shape", "source"), rows))
    print(f"\n{len(loaded.tasks)} task(s) in {loaded.name}")
    if args.target is None:
        print("\nsuites:")
        suite_rows = [(s.name, str(len(load_suite(s.name).tasks)), s.description) for s in list_suites()]
        print(_table(("suite", "tasks", "description"), suite_rows))
    return _report_errors(loaded)


def _task_row(task: Task) -> tuple[str, ...]:
    head = task.shapes[0]
    headline = ", ".join(f"{k}={v}" for k, v in head.items()) or "(fixed)"
    return (task.name, task.meta.category, str(len(task.shapes)), headline, task.meta.source)


# --------------------------------------------------------------------------- validate


def run_validate(args: argparse.Namespace) -> int:
    """Admission-check every task; one OK/FAIL/ERROR line each."""
    if args.device == "cuda":
        _require_cuda()
    loaded = load_suite(args.target)
    failed = bad = 0
    for task in loaded.tasks:
        start = time.perf_counter()
        indices = range(len(task.shapes)) if args.all_shapes else None
        try:
            report = check_admission(task, device=args.device, shape_indices=indices)
        except TaskError as err:
            bad += 1
            print(f"ERROR {task.name}: {err}")
            continue
        seconds = time.perf_counter() - start
        checked = ",".join(str(s.index) for s in report.shapes)
        if report.ok:
            print(f"OK    {task.name}  (shape {checked}, {seconds:.1f} s)")
        else:
            failed += 1
            print(f"FAIL  {task.name}: " + "; ".join(report.problems))
    print(f"\n{len(loaded.tasks) - failed - bad} admitted, {failed} failed, {bad + len(loaded.errors)} bad file(s)")
    code = _report_errors(loaded)
    if bad or code:
        return int(ExitCode.BAD_INPUT)
    return int(ExitCode.REJECTED if failed else ExitCode.OK)


def _require_cuda() -> None:
    import torch

    if not torch.cuda.is_available():
        raise CudarwinError("--device cuda: no CUDA GPU is visible", hint="use --device cpu")


# --------------------------------------------------------------------------- output


def _report_errors(loaded: SuiteLoad) -> int:
    if not loaded.errors:
        return int(ExitCode.OK)
    print(f"\n{len(loaded.errors)} file(s) could not be loaded:", file=sys.stderr)
    for err in loaded.errors:
        print(f"  {err}", file=sys.stderr)
    return int(ExitCode.BAD_INPUT)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip() for row in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
