"""``cudarwin report``: leaderboard.md, leaderboard.csv and report.html for one or more runs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from . import html_report, markdown_report
from .leaderboard import leaderboard_frame
from .load import load
from .report_data import build
from .schema import ARCHIVE_NAME


@dataclass(frozen=True)
class ReportFiles:
    markdown: Path
    csv: Path
    html: Path


def expand_run_dirs(paths: Sequence[Path]) -> list[Path]:
    """Run folders, where a folder without an archive stands for the runs below it (e.g. a multirun sweep).

    A folder with neither is kept as is, so that loading it reports the problem.
    """
    out: list[Path] = []
    for path in paths:
        if (path / ARCHIVE_NAME).is_file() or not path.is_dir():
            out.append(path)
            continue
        patterns = ["/".join(["*"] * depth + [ARCHIVE_NAME]) for depth in range(1, 4)]
        found = sorted({p.parent for pattern in patterns for p in path.glob(pattern)})
        out.extend(found or [path])
    return out


def unique_labels(run_dirs: Sequence[Path]) -> list[str]:
    """Folder names, prefixed by their parent where two runs share a name."""
    names = [p.resolve().name for p in run_dirs]
    return [
        f"{p.resolve().parent.name}/{n}" if names.count(n) > 1 else n for p, n in zip(run_dirs, names)
    ]


def write_report(run_dirs: Sequence[Path | str], out_dir: Path | str, title: str = "") -> ReportFiles:
    """Load the runs and write the three report files into ``out_dir`` (created if missing).

    A folder holding no archive itself but run folders below it (a sweep) stands for those runs.
    """
    dirs = expand_run_dirs([Path(d) for d in run_dirs])
    runs = [load(d, label) for d, label in zip(dirs, unique_labels(dirs))]
    data = build(runs, title)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = ReportFiles(out / "leaderboard.md", out / "leaderboard.csv", out / "report.html")
    leaderboard_frame(data.results).to_csv(files.csv, index=False, float_format="%.6g")
    files.markdown.write_text(markdown_report.render(data), encoding="utf-8")
    files.html.write_text(html_report.render(data), encoding="utf-8")
    return files
