"""Summaries of an evaluation for the model: pure functions over ``Evaluation``."""

from __future__ import annotations

import re

from cudarwin.types import Evaluation, ShapeResult, Timing

_LOG_LINE = re.compile(r"error|warning|undefined|expected|identifier|cannot|invalid", re.IGNORECASE)
MAX_LOG_LINES = 30


def trim_log(log: str, *, context: int = 1, limit: int = MAX_LOG_LINES) -> str:
    """The compiler log lines that matter (errors and warnings, with a line of
    context each), at most ``limit`` lines; the whole log when nothing matches."""
    lines = [ln for ln in log.splitlines() if ln.strip()]
    hits = [i for i, ln in enumerate(lines) if _LOG_LINE.search(ln)]
    if not hits:
        keep = list(range(min(len(lines), limit)))
    else:
        wanted: set[int] = set()
        for i in hits:
            wanted.update(range(max(0, i - context), min(len(lines), i + context + 1)))
        keep = sorted(wanted)
    out = [lines[i] for i in keep[:limit]]
    if len(keep) > limit:
        out.append(f"... ({len(keep) - limit} more lines)")
    return "\n".join(out)


def format_ms(t: Timing | None) -> str:
    return "-" if t is None else f"{t.median_ms:.4g} ms"


def shape_label(s: ShapeResult) -> str:
    return ", ".join(f"{k}={v}" for k, v in s.shape.items()) or "(fixed)"


def timing_table(shapes: tuple[ShapeResult, ...]) -> str:
    """A Markdown table: per shape the candidate, eager, compile and floor times."""
    if not shapes:
        return "(not timed)"
    rows = ["| shape | candidate | eager | torch.compile | floor | speedup vs eager |", "|---|---|---|---|---|---|"]
    for s in shapes:
        speed = f"{s.speedup_eager:.3g}x" if s.speedup_eager else "-"
        floor = f"{s.floor_ms:.4g} ms" if s.floor_ms else "-"
        rows.append(f"| {shape_label(s)} | {format_ms(s.candidate)} | {format_ms(s.eager)} | {format_ms(s.compiled)} | {floor} | {speed} |")
    return "\n".join(rows)


def mismatch_summary(ev: Evaluation) -> str:
    """Per shape: the worst errors found, and the reasons tied to that shape."""
    lines = []
    for s in ev.shapes:
        if s.max_abs_err is None and s.max_rel_err is None:
            continue
        rel = f", worst error/tolerance {s.max_rel_err:.3g}" if s.max_rel_err is not None else ""
        lines.append(f"- shape {shape_label(s)}: max abs error {s.max_abs_err:.3g}{rel} over {s.trials} trials")
    return "\n".join(lines)


def evaluation_summary(ev: Evaluation) -> str:
    """What the model needs to know about one evaluation, as Markdown."""
    if ev.accepted:
        head = f"Accepted. Speedup over eager (geomean): {ev.fitness:.3g}x."
        if ev.speedup_compile:
            head += f" Over torch.compile: {ev.speedup_compile:.3g}x."
        return head + "\n\n" + timing_table(ev.shapes)
    stage = ev.verdict.stage.value if ev.verdict.stage else "evaluation"
    parts = [f"Rejected at the {stage} stage."]
    parts += [f"- {r.code.value}: {r.message}" for r in ev.verdict.reasons]
    if ev.compile is not None and not ev.compile.ok and ev.compile.log:
        parts.append("Compiler log (trimmed):\n```\n" + trim_log(ev.compile.log) + "\n```")
    mismatch = mismatch_summary(ev)
    if mismatch:
        parts.append("Mismatch per shape:\n" + mismatch)
    return "\n".join(parts)
