"""What a report shows: :class:`ReportData`, computed once from the loaded
runs and rendered by ``markdown_report`` and ``html_report``."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Sequence

from .leaderboard import Finding, RunSummary, TaskResult, findings, summarize, task_results
from .load import RunData


@dataclass(frozen=True)
class ReportData:
    """Everything the report shows, computed once from the loaded runs."""

    title: str
    generated: str  # UTC timestamp
    runs: tuple[RunData, ...]
    results: tuple[TaskResult, ...]
    summaries: tuple[RunSummary, ...]
    findings: tuple[Finding, ...]


def build(runs: Sequence[RunData], title: str = "") -> ReportData:
    """Compute the report's numbers from loaded runs."""
    results: list[TaskResult] = []
    summaries: list[RunSummary] = []
    found: list[Finding] = []
    for run in runs:
        rows = task_results(run)
        results += rows
        summaries += summarize(run, rows)
        found += findings(run)
    return ReportData(
        title=title or "cudarwin report",
        generated=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        runs=tuple(runs),
        results=tuple(results),
        summaries=tuple(summaries),
        findings=tuple(found),
    )
