"""``cudarwin report`` and ``cudarwin export``."""

from __future__ import annotations

import argparse
from pathlib import Path

from cudarwin.types import CudarwinError, ExitCode

from .export import export_best, export_trajectories
from .report import write_report

DEFAULT_MULTI_OUT = Path("cudarwin-report")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``report`` and ``export`` subcommands."""
    report = subparsers.add_parser(
        "report",
        help="write leaderboard.md, leaderboard.csv and report.html for one or more runs",
        description="Write leaderboard.md, leaderboard.csv and a self-contained report.html. "
        "Several run folders are shown side by side (e.g. one per model).",
    )
    report.add_argument(
        "run_dirs", nargs="+", type=Path, metavar="RUN_DIR", help="a run folder, or a folder of runs (e.g. a sweep)"
    )
    report.add_argument(
        "--out", type=Path, default=None, metavar="DIR",
        help=f"output folder (default: RUN_DIR/report for one run, ./{DEFAULT_MULTI_OUT} for several)",
    )  # fmt: skip
    report.add_argument("--title", default="", help="page title (default: cudarwin report)")
    report.set_defaults(handler=run_report)

    export = subparsers.add_parser(
        "export",
        help="export the best kernel per task, or the LLM turns as JSONL",
        description="Export a run's best verified kernels as standalone ModelNew files (--best) "
        "and/or one JSON line per LLM turn with its verdict and reward (--trajectories).",
    )
    export.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    export.add_argument("--best", type=Path, default=None, metavar="OUT_DIR", help="folder for <task>.py + README.md")
    export.add_argument("--trajectories", type=Path, default=None, metavar="FILE.jsonl", help="JSONL file to write")
    export.set_defaults(handler=run_export)


def run_report(args: argparse.Namespace) -> int:
    out = args.out or (args.run_dirs[0] / "report" if len(args.run_dirs) == 1 else DEFAULT_MULTI_OUT)
    files = write_report(args.run_dirs, out, title=args.title)
    print(f"wrote {files.markdown}, {files.csv} and {files.html}")
    return int(ExitCode.OK)


def run_export(args: argparse.Namespace) -> int:
    if args.best is None and args.trajectories is None:
        raise CudarwinError("nothing to export", hint="pass --best OUT_DIR and/or --trajectories FILE.jsonl")
    if args.best is not None:
        kernels = export_best(args.run_dir, args.best)
        print(f"wrote {len(kernels)} kernel{'s' if len(kernels) != 1 else ''} and README.md to {args.best}")
    if args.trajectories is not None:
        n = export_trajectories(args.run_dir, args.trajectories)
        print(f"wrote {n} LLM turn{'s' if n != 1 else ''} to {args.trajectories}")
    return int(ExitCode.OK)
