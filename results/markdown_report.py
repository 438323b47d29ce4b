"""leaderboard.md: the report as GitHub-flavoured Markdown tables."""

from __future__ import annotations

from typing import Sequence

from . import formatting as f
from .leaderboard import FAST_P, TaskResult
from .report_data import ReportData


def table(header: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[int] = ()) -> str:
    """A Markdown table; columns listed in ``right`` are right-aligned."""
    def cell(s: str) -> str:
        return s.replace("|", "\\|").replace("\n", " ")

    align = ["---:" if i in right else "---" for i in range(len(header))]
    lines = ["| " + " | ".join(cell(h) for h in header) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _summary(data: ReportData) -> str:
    header = ["run", "policy", "tasks", "solved", *(f.fast_label(p) for p in FAST_P),
              "geomean vs eager (solved)", "geomean vs compile (solved)", "geomean vs eager (all)",
              "LLM calls", "cost", "model", "GPU"]  # fmt: skip
    rows = [
        [s.run, s.policy, str(s.tasks), str(s.solved), *(f.percent(s.fast(p)) for p in FAST_P),
         f.speedup(s.geomean_eager), f.speedup(s.geomean_compile), f.speedup(s.geomean_eager_all),
         f.count(s.llm_calls), f.usd(s.cost_usd), ", ".join(s.models) or f.DASH,
         ", ".join(s.gpus) or f.DASH]  # fmt: skip
        for s in data.summaries
    ]
    return table(header, rows, right=range(2, 13))


def _side_by_side(data: ReportData) -> str:
    keys = list(dict.fromkeys((r.run, r.policy) for r in data.results))
    by_key = {(r.run, r.policy, r.task): r for r in data.results}
    tasks = list(dict.fromkeys(r.task for r in data.results))
    header = ["task", *(f"{run} ({policy})" for run, policy in keys)]
    rows = []
    for task in tasks:
        cells = [by_key.get((run, policy, task)) for run, policy in keys]
        rows.append([task, *(f.speedup(c.speedup_eager) if c else f.DASH for c in cells)])
    return table(header, rows, right=range(1, len(header)))


def _run_table(rows: Sequence[TaskResult]) -> str:
    header = ["task", "policy", "vs eager", "vs torch.compile", "roofline", "kernel ms", "eager ms",
              "compile ms", "generation", "model", "candidates", "accepted", "findings", "cost"]  # fmt: skip
    body = [
        [r.task, r.policy, f.speedup(r.speedup_eager), f.speedup(r.speedup_compile), f.percent(r.roofline_fraction),
         f.ms(r.candidate_ms), f.ms(r.eager_ms), f.ms(r.compile_ms),
         f.DASH if r.generation is None else str(r.generation), r.model or r.proposer or f.DASH,
         str(r.candidates), str(r.accepted), str(r.findings), f.usd(r.cost_usd)]  # fmt: skip
        for r in rows
    ]
    return table(header, body, right=(2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13))


def _findings(data: ReportData) -> str:
    if not data.findings:
        return "No result beat the physical floor or was flagged by review."
    header = ["run", "policy", "task", "candidate", "status", "flags", "claimed vs eager", "roofline", "detail"]
    rows = [
        [x.run, x.policy, x.task, f.short_id(x.candidate_id), x.status, x.codes, f.speedup(x.speedup_eager),
         f.percent(x.roofline_fraction), x.messages]  # fmt: skip
        for x in data.findings
    ]
    return table(header, rows, right=(6, 7))


def render(data: ReportData) -> str:
    """The whole leaderboard.md."""
    parts = [
        f"# {data.title}",
        "",
        f"Generated {data.generated} from "
        + ", ".join(f"`{r.label}` ({r.run_dir})" for r in data.runs)
        + ". Headline shape timings in ms; speedups are geometric means over shapes.",
        "",
        "## Summary",
        "",
        _summary(data),
    ]
    if len({(r.run, r.policy) for r in data.results}) > 1:
        parts += ["", "## Speedup vs eager, side by side", "", _side_by_side(data)]
    for s in data.summaries:
        rows = [r for r in data.results if r.run == s.run and r.policy == s.policy]
        parts += ["", f"## {s.run} ({s.policy})", "", _run_table(rows)]
    parts += ["", "## Findings", "", _findings(data), "", "## Definitions", ""]
    parts += [f"- **{term}**: {text}" for term, text in f.DEFINITIONS]
    return "\n".join(parts) + "\n"
