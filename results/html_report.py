"""report.html: one self-contained page (inline CSS, inline SVG, a few lines of JS, no assets)."""

from __future__ import annotations

import math
from html import escape
from typing import Iterable, Sequence

from cudarwin.types import Reason

from . import formatting as f
from . import plots
from .leaderboard import FAST_P, TaskResult, lineage, progress, reason_counts
from .load import RunData
from .report_data import ReportData

CSS = """
:root { --ink:#1f2430; --muted:#6b7280; --line:#e5e7eb; --bg:#f7f7f9; --card:#fff; --accent:#3b6fb6;
        --good:#1f7a45; --bad:#b42318; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--ink);
       font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif; }
main { max-width:1120px; margin:0 auto; padding:32px 28px 64px; }
header h1 { font-size:28px; margin:0 0 4px; letter-spacing:-0.01em; }
header p { margin:0; color:var(--muted); }
h2 { font-size:19px; margin:40px 0 6px; letter-spacing:-0.005em; }
h3 { font-size:15px; margin:22px 0 8px; }
p.lead { margin:0 0 14px; color:var(--muted); font-size:14px; }
section.card, div.card { background:var(--card); border:1px solid var(--line); border-radius:10px;
       padding:18px 20px; margin-top:12px; }
.cards { display:grid; grid-template-columns:repeat(auto-fill,minmax(300px,1fr)); gap:12px; margin-top:20px; }
.stat .run { font-weight:600; }
.stat .big { font-size:30px; font-weight:650; margin:6px 0 0; font-variant-numeric:tabular-nums; }
.stat .sub { color:var(--muted); font-size:13px; }
.stat dl { display:grid; grid-template-columns:auto 1fr; gap:2px 12px; margin:10px 0 0; font-size:13px; }
.stat dt { color:var(--muted); } .stat dd { margin:0; text-align:right; font-variant-numeric:tabular-nums; }
.pill { display:inline-block; padding:1px 8px; border-radius:999px; font-size:12px; font-weight:600;
        background:#eef2fb; color:var(--accent); vertical-align:middle; }
.pill.torch-ok { background:#fdf1e7; color:#a4540f; }
.pill.flag { background:#fdecec; color:var(--bad); }
.table-wrap { overflow-x:auto; }
table { border-collapse:collapse; width:100%; font-size:13.5px; }
th, td { padding:7px 8px; border-bottom:1px solid var(--line); text-align:left; white-space:nowrap; }
th { font-weight:600; color:var(--muted); font-size:12px; text-transform:uppercase; letter-spacing:.03em;
     background:#fafafb; vertical-align:bottom; white-space:normal; }
table.sortable th { cursor:pointer; user-select:none; }
table.sortable th:hover { color:var(--ink); }
td.num, th.num { text-align:right; font-variant-numeric:tabular-nums; }
tbody tr:hover { background:#f3f6fc; }
td.unsolved { color:var(--muted); }
code, .mono { font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace; font-size:12.5px; }
svg.chart { width:100%; height:auto; display:block; }
svg.spark { display:block; }
.lineage { display:flex; flex-wrap:wrap; align-items:center; gap:6px; margin:6px 0 14px; }
.step { border:1px solid var(--line); border-radius:8px; padding:4px 9px; font-size:12.5px; background:#fff; }
.step.accepted { border-color:#b7dfc5; background:#f1faf4; }
.step.rejected { border-color:#f1c4c0; background:#fdf4f3; }
.step.best { border-color:var(--good); box-shadow:0 0 0 1px var(--good) inset; }
.arrow { color:var(--muted); }
.muted { color:var(--muted); }
details + details { margin-top:10px; }
details summary { cursor:pointer; padding:4px 0; }
details pre { background:#f3f4f6; padding:12px; border-radius:8px; overflow:auto; font-size:12px; }
dl.defs { display:grid; grid-template-columns:max-content 1fr; gap:6px 16px; font-size:13.5px; margin:0; }
dl.defs dt { font-weight:600; } dl.defs dd { margin:0; color:#374151; }
footer { margin-top:40px; color:var(--muted); font-size:12.5px; }
"""

# Click a header to sort; numbers sort by their data-v value. The last line marks the
# page as fully rendered, which the report's browser test checks.
JS = """
document.querySelectorAll('table.sortable').forEach(function (t) {
  t.querySelectorAll('th').forEach(function (th, i) {
    th.addEventListener('click', function () {
      var body = t.tBodies[0], rows = Array.prototype.slice.call(body.rows);
      var dir = th.dataset.dir === 'desc' ? 1 : -1; th.dataset.dir = dir === 1 ? 'asc' : 'desc';
      rows.sort(function (a, b) {
        var x = a.cells[i].dataset.v, y = b.cells[i].dataset.v;
        if (x !== undefined && y !== undefined) { return dir * (parseFloat(x) - parseFloat(y)); }
        return dir * a.cells[i].textContent.localeCompare(b.cells[i].textContent);
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
});
document.documentElement.dataset.ready = '1';
"""


def _e(s: object) -> str:
    return escape(str(s))


def pill(policy: str) -> str:
    return f'<span class="pill {_e(policy)}">{_e(policy)}</span>'


def _sort_value(v: float | None) -> str:
    return "-1e300" if f.missing(v) else f"{v:.6g}"


def num(text: str, value: float | None, style: str = "") -> str:
    """A right-aligned numeric cell that sorts by ``value`` (missing sorts last)."""
    st = f' style="{style}"' if style else ""
    return f'<td class="num" data-v="{_sort_value(value)}"{st}>{_e(text)}</td>'


def speed_style(v: float | None) -> str:
    """Green for faster than the baseline, red for slower; stronger with distance from 1x."""
    if f.missing(v) or v is None or v <= 0:
        return ""
    strength = min(abs(math.log2(v)) / 3, 1.0)
    if v >= 1:
        return f"background:rgba(63,154,93,{0.08 + 0.32 * strength:.2f})"
    return f"background:rgba(194,70,77,{0.08 + 0.28 * strength:.2f})"


def table(header: Sequence[tuple[str, bool]], rows: Iterable[str], sortable: bool = True) -> str:
    """A table; ``header`` is (title, numeric) pairs and ``rows`` are ready ``<tr>`` strings."""
    ths = "".join(f'<th class="num">{_e(h)}</th>' if n else f"<th>{_e(h)}</th>" for h, n in header)
    cls = ' class="sortable"' if sortable else ""
    body = "".join(rows)
    return f'<div class="table-wrap"><table{cls}><thead><tr>{ths}</tr></thead><tbody>{body}</tbody></table></div>'


def _series_name(run: str, policy: str) -> str:
    return f"{run} · {policy}"


# ---------------------------------------------------------------------------- sections


def _cards(data: ReportData) -> str:
    cards = []
    for s in data.summaries:
        cards.append(
            f'<div class="card stat"><div class="run">{_e(s.run)} {pill(s.policy)}</div>'
            f'<div class="big">{f.speedup(s.geomean_eager)}</div>'
            f'<div class="sub">geomean speedup vs eager over {s.solved} solved of {s.tasks} tasks</div><dl>'
            f"<dt>vs torch.compile</dt><dd>{f.speedup(s.geomean_compile)}</dd>"
            f"<dt>geomean, all tasks</dt><dd>{f.speedup(s.geomean_eager_all)}</dd>"
            f"<dt>fast_1 / fast_2</dt><dd>{f.percent(s.fast(1.0))} / {f.percent(s.fast(2.0))}</dd>"
            f"<dt>LLM calls · cost</dt><dd>{f.count(s.llm_calls)} · {f.usd(s.cost_usd)}</dd>"
            f"<dt>model</dt><dd>{_e(', '.join(s.models) or f.DASH)}</dd>"
            f"<dt>GPU</dt><dd>{_e(', '.join(s.gpus) or f.DASH)}</dd></dl></div>"
        )
    return f'<div class="cards">{"".join(cards)}</div>'


def _summary_table(data: ReportData) -> str:
    header = [("run", False), ("policy", False), ("tasks", True), ("solved", True)]
    header += [(f.fast_label(p), True) for p in FAST_P]
    header += [("geomean vs eager", True), ("geomean vs compile", True), ("geomean all tasks", True),
               ("tokens", True), ("cost", True)]  # fmt: skip
    rows = []
    for s in data.summaries:
        cells = [f"<td>{_e(s.run)}</td><td>{pill(s.policy)}</td>", num(str(s.tasks), s.tasks),
                 num(str(s.solved), s.solved)]  # fmt: skip
        cells += [num(f.percent(s.fast(p)), s.fast(p)) for p in FAST_P]
        cells += [num(f.speedup(s.geomean_eager), s.geomean_eager, speed_style(s.geomean_eager)),
                  num(f.speedup(s.geomean_compile), s.geomean_compile, speed_style(s.geomean_compile)),
                  num(f.speedup(s.geomean_eager_all), s.geomean_eager_all),
                  num(f.count(s.tokens), s.tokens), num(f.usd(s.cost_usd), s.cost_usd)]  # fmt: skip
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return table(header, rows)


def _fast_p_chart(data: ReportData) -> str:
    series = {_series_name(s.run, s.policy): [s.fast(p) for p in FAST_P] for s in data.summaries}
    return plots.grouped_bars([f.fast_label(p) for p in FAST_P], series, y_label="share of tasks",
                              percent=True, y_max=1.0)  # fmt: skip


def _keys(data: ReportData) -> list[tuple[str, str]]:
    return list(dict.fromkeys((r.run, r.policy) for r in data.results))


def _tasks(data: ReportData) -> list[str]:
    return list(dict.fromkeys(r.task for r in data.results))


def _speedup_chart(data: ReportData) -> str:
    by_key = {(r.run, r.policy, r.task): r.speedup_eager for r in data.results}
    tasks = _tasks(data)
    series = {_series_name(run, pol): [by_key.get((run, pol, t)) for t in tasks] for run, pol in _keys(data)}
    return plots.speedup_bars(tasks, series, x_label="best verified speedup vs eager (log scale; 1x = eager)")


def _ms_cell(value: float | None, spread: float | None) -> str:
    """Median time with its p20-p80 spread underneath."""
    half = "" if f.missing(spread) else f"±{(spread or 0) * 50:.1f}%"
    sub = f"<div class='muted' style='font-size:11px' title='p20-p80 spread'>{half}</div>" if half else ""
    return f'<td class="num" data-v="{_sort_value(value)}">{_e(f.ms(value))}{sub}</td>'


def _run_rows(run: RunData, policy: str, rows: Sequence[TaskResult]) -> list[str]:
    prog = progress(run, policy)
    out = []
    for r in rows:
        pts = [(int(g), float(v)) for t, g, v in zip(prog.task, prog.generation, prog.best_so_far) if t == r.task]
        task_cell = f"<td>{_e(r.task)}<div class='muted' style='font-size:11.5px'>{_e(r.category)}</div></td>"
        cls = "" if r.solved else ' class="unsolved"'
        out.append(
            f"<tr{cls}>{task_cell}"
            + num(f.speedup(r.speedup_eager), r.speedup_eager, speed_style(r.speedup_eager))
            + num(f.speedup(r.speedup_compile), r.speedup_compile, speed_style(r.speedup_compile))
            + num(f.percent(r.roofline_fraction), r.roofline_fraction)
            + _ms_cell(r.candidate_ms, r.candidate_spread)
            + num(f.ms(r.eager_ms), r.eager_ms)
            + num(f.ms(r.compile_ms), r.compile_ms)
            + f"<td>{plots.sparkline(pts)}</td>"
            + num(f.DASH if r.generation is None else str(r.generation), r.generation)
            + f"<td class='mono'>{_e(f.short_id(r.best_candidate)) or f.DASH}</td>"
            + num(f"{r.accepted} / {r.candidates}", r.accepted)
            + num(str(r.findings), r.findings)
            + num(f.usd(r.cost_usd), r.cost_usd)
            + "</tr>"
        )
    return out


def _leaderboards(data: ReportData) -> str:
    header = [("task", False), ("vs eager", True), ("vs compile", True), ("roofline", True), ("kernel ms", True),
              ("eager ms", True), ("compile ms", True), ("progress", False), ("gen", True), ("best", False),
              ("accepted / cands", True), ("findings", True), ("cost", True)]  # fmt: skip
    parts = []
    runs = {r.label: r for r in data.runs}
    for s in data.summaries:
        rows = [r for r in data.results if r.run == s.run and r.policy == s.policy]
        rows.sort(key=lambda r: (not r.solved, -(r.speedup_eager or 0)))
        parts.append(f"<h3>{_e(s.run)} {pill(s.policy)}</h3>")
        parts.append(table(header, _run_rows(runs[s.run], s.policy, rows)))
    return "".join(parts)


def _side_by_side(data: ReportData) -> str:
    keys = _keys(data)
    by_key = {(r.run, r.policy, r.task): r for r in data.results}
    header = [("task", False)] + [(_series_name(run, pol), True) for run, pol in keys]
    rows = []
    for task in _tasks(data):
        cells = [f"<td>{_e(task)}</td>"]
        for run, pol in keys:
            r = by_key.get((run, pol, task))
            v = r.speedup_eager if r else None
            cells.append(num(f.speedup(v), v, speed_style(v)))
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return table(header, rows)


def _progress_chart(data: ReportData) -> str:
    runs = {r.label: r for r in data.runs}
    series = {}
    for run, pol in _keys(data):
        prog = progress(runs[run], pol)
        overall = prog[prog.task == "*"]
        series[_series_name(run, pol)] = [(int(g), float(v)) for g, v in zip(overall.generation, overall.best_so_far)]
    return plots.lines(series, x_label="generation", y_label="geomean best-so-far vs eager (all tasks)",
                       log_y=True, ref=1.0)  # fmt: skip


def _cost_chart(data: ReportData) -> str:
    series: dict[str, list[tuple[float, float, str]]] = {}
    for r in data.results:
        if r.solved and r.speedup_eager and r.cost_usd > 0:
            series.setdefault(_series_name(r.run, r.policy), []).append((r.cost_usd, r.speedup_eager, r.task))
    if not series:
        return plots.empty("no LLM cost recorded: offline proposer, cached replies, or no solved task")
    return plots.scatter(series, x_label="LLM cost spent on the task (USD)", y_label="best speedup vs eager (log)")


def _lineage_chain(run: RunData, r: TaskResult) -> str:
    steps = lineage(run, r.task, r.best_candidate)
    pills = []
    for i, step in enumerate(steps):
        best = " best" if i == len(steps) - 1 else ""
        outcome = f.speedup(step.speedup_eager) if step.status == "accepted" else (step.reason_codes or step.status)
        pills.append(
            f'<span class="step {_e(step.status)}{best}" title="{_e(step.candidate_id)}">gen {step.generation}'
            f' · <span class="mono">{_e(f.short_id(step.candidate_id))}</span> · {_e(outcome)}'
            f' <span class="muted">{_e(step.model or step.proposer)}</span></span>'
        )
    chain = '<span class="arrow">→</span>'.join(pills)
    return f'<div><strong>{_e(r.task)}</strong><div class="lineage">{chain}</div></div>'


def _lineages(data: ReportData) -> str:
    runs = {r.label: r for r in data.runs}
    parts = []
    for s in data.summaries:
        solved = [r for r in data.results if r.run == s.run and r.policy == s.policy and r.solved]
        if not solved:
            continue
        chains = "".join(_lineage_chain(runs[s.run], r) for r in solved)
        is_open = " open" if len(solved) <= 12 else ""  # long runs start folded
        parts.append(
            f"<details{is_open}><summary><strong>{_e(s.run)}</strong> {pill(s.policy)} "
            f"<span class='muted'>{len(solved)} tasks</span></summary>{chains}</details>"
        )
    return "".join(parts) or '<p class="muted">No task has a verified kernel yet.</p>'


def _flag_pills(codes: str) -> str:
    return " ".join(f'<span class="pill flag">{_e(c)}</span>' for c in codes.split(",") if c)


def _findings(data: ReportData) -> str:
    if not data.findings:
        return '<p class="muted">No result beat the physical floor or was flagged by review.</p>'
    header = [("run", False), ("policy", False), ("task", False), ("candidate", False), ("status", False),
              ("flag", False), ("claimed vs eager", True), ("roofline", True), ("detail", False)]  # fmt: skip
    rows = [
        f"<tr><td>{_e(x.run)}</td><td>{pill(x.policy)}</td><td>{_e(x.task)}</td>"
        f"<td class='mono'>{_e(f.short_id(x.candidate_id))}</td><td>{_e(x.status)}</td>"
        f"<td>{_flag_pills(x.codes)}</td>"
        + num(f.speedup(x.speedup_eager), x.speedup_eager)
        + num(f.percent(x.roofline_fraction), x.roofline_fraction)
        + f"<td style='white-space:normal'>{_e(x.messages)}</td></tr>"
        for x in data.findings
    ]
    return table(header, rows, sortable=False)


def _meaning(code: str) -> str:
    try:
        return Reason(code).description
    except ValueError:  # a code from a newer cudarwin
        return ""


def _rejections(data: ReportData) -> str:
    counts = {r.label: reason_counts(r) for r in data.runs}
    totals = {c: sum(int(s.get(c, 0)) for s in counts.values()) for s in counts.values() for c in s.index}
    codes = sorted(totals, key=lambda c: (-totals[c], c))
    if not codes:
        return '<p class="muted">No candidate was rejected.</p>'
    header = [("reason", False), ("meaning", False)] + [(label, True) for label in counts]
    rows = []
    for code in codes:
        meaning = _meaning(code)
        cells = "".join(num(str(int(s.get(code, 0))), float(s.get(code, 0))) for s in counts.values())
        rows.append(f"<tr><td class='mono'>{_e(code)}</td><td class='muted'>{_e(meaning)}</td>{cells}</tr>")
    return table(header, rows)


def _notes(data: ReportData) -> str:
    rows = [
        f"<tr><td>{_e(run.label)}</td><td>{_e(n.task)}</td><td class='mono'>{_e(n.kind)}</td>"
        f"<td style='white-space:normal'>{_e(n.message)}</td></tr>"
        for run in data.runs
        for n in run.notes.itertuples()
    ]
    if not rows:
        return ""
    header = [("run", False), ("task", False), ("kind", False), ("note", False)]
    return _h2("notes", "Notes") + _card(table(header, rows, sortable=False))


def _environment(data: ReportData) -> str:
    parts = []
    cols = ("gpu", "driver", "torch_version", "cuda_version", "cudarwin_version")
    for run in data.runs:
        ev = run.evaluations
        facts = [f"<dt>folder</dt><dd class='mono'>{_e(run.run_dir)}</dd>"]
        for col in cols:
            values = sorted({str(v) for v in ev[col] if v}) if len(ev) else []
            facts.append(f"<dt>{_e(col.replace('_version', ''))}</dt><dd>{_e(', '.join(values) or f.DASH)}</dd>")
        config = run.config_yaml.strip()
        cfg = f"<details><summary>configuration</summary><pre>{_e(config)}</pre></details>" if config else ""
        parts.append(f"<h3>{_e(run.label)}</h3><dl class='defs'>{''.join(facts)}</dl>{cfg}")
    return "".join(parts)


def _definitions() -> str:
    items = "".join(f"<dt>{_e(t)}</dt><dd>{_e(d)}</dd>" for t, d in f.DEFINITIONS)
    return f"<dl class='defs'>{items}</dl>"


def _card(inner: str) -> str:
    return f"<section class='card'>{inner}</section>"


def _h2(anchor: str, title: str, lead: str = "") -> str:
    lead_html = f"<p class='lead'>{lead}</p>" if lead else ""
    return f"<h2 id='{anchor}'>{_e(title)}</h2>{lead_html}"


def render(data: ReportData) -> str:
    """The whole report.html."""
    runs = len(data.runs)
    sections = [
        f"<header><h1>{_e(data.title)}</h1><p>{runs} run{'s' if runs != 1 else ''} · {len(_tasks(data))} tasks"
        f" · generated {_e(data.generated)}</p></header>",
        _cards(data),
        _h2("summary", "Summary", "Every number is per run and policy; see the definitions at the end."),
        _card(_summary_table(data)),
        _h2("fast-p", "fast_p", "Share of all tasks with a verified kernel faster than p × eager."),
        _card(_fast_p_chart(data)),
        _h2("speedups", "Best speedup per task",
            "Bars grow from 1× (eager): right is faster, left slower. Findings are not ranked."),
        _card(_speedup_chart(data)),
    ]  # fmt: skip
    if len(_keys(data)) > 1:
        sections += [_h2("side-by-side", "Runs side by side", "Best verified speedup vs eager."),
                     _card(_side_by_side(data))]  # fmt: skip
    sections += [
        _h2("leaderboard", "Leaderboard", "Timings in ms on the headline shape; speedups are geometric means "
            "over all shapes. Click a column to sort."),
        _card(_leaderboards(data)),
        _h2("progress", "Fitness over generations", "Geometric mean over all tasks of the best speedup found "
            "so far (1× where none is faster than eager)."),
        _card(_progress_chart(data)),
        _h2("cost", "Cost vs speedup", "LLM spend per task against its best verified speedup."),
        _card(_cost_chart(data)),
        _h2("lineage", "Lineage of the best kernels", "First-parent ancestry, oldest first."),
        _card(_lineages(data)),
        _h2("findings", "Findings", "Accepted results that beat the physical floor or were flagged by review: "
            "look at these by hand; they are never ranked."),
        _card(_findings(data)),
        _h2("rejections", "Rejections", "Why candidates were rejected."),
        _card(_rejections(data)),
        _notes(data),
        _h2("environment", "Environment"),
        _card(_environment(data)),
        _h2("definitions", "Definitions"),
        _card(_definitions()),
        "<footer>Made with cudarwin. leaderboard.csv holds the numbers behind this page.</footer>",
    ]  # fmt: skip
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{_e(data.title)}</title><style>{CSS}</style></head><body><main>"
        + "".join(sections)
        + f"</main><script>{JS}</script></body></html>\n"
    )
