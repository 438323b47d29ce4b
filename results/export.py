"""``cudarwin export``: the best kernel per task as files, and LLM turns as JSONL.

- ``export_best(run_dir, out_dir)`` writes ``<task>.py`` (``<task>.<policy>.py``
  when the run used several policies) holding the best verified candidate's
  source under a comment header with its numbers, and a ``README.md`` table.
- ``export_trajectories(run_dir, path)`` writes one JSON line per LLM call:
  the prompt messages, the reply, the verdict on the candidate parsed from it
  and a reward, ready for supervised fine-tuning or RL.

Reward: the candidate's fitness (verified speedup vs eager, geomean over
shapes) when it was accepted and is not a finding; 0.0 otherwise (rejected,
flagged beyond the roofline or by review, no candidate, not evaluated).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from cudarwin.types import Candidate

from . import formatting as f
from .leaderboard import best_rows, policies
from .load import RunData, load
from .markdown_report import table


@dataclass(frozen=True)
class ExportedKernel:
    task: str
    policy: str
    candidate_id: str
    path: Path


def _header(run: RunData, row: pd.Series, task: str) -> str:
    lines = [
        f"# cudarwin: best verified kernel for task {task!r} (run {run.label}, policy {row['policy']})",
        f"# candidate {row['candidate_id']}, generation {row['generation']}, "
        f"proposer {row['proposer'] or '?'}{', model ' + row['model'] if row['model'] else ''}",
        f"# speedup {f.speedup(row['speedup_eager'])} vs eager, {f.speedup(row['speedup_compile'])} vs torch.compile"
        f" (geomean over shapes) on {row['gpu'] or row['device']}",
    ]
    return "\n".join(lines) + "\n"


def _shape_table(run: RunData, eval_id: int) -> str:
    shapes = run.shapes[run.shapes["eval_id"] == eval_id].sort_values("shape_index")
    rows = [
        [str(s.shape_index), f"`{s.shape}`", f.ms(s.candidate_ms), f.ms(s.eager_ms), f.ms(s.compile_ms),
         f.speedup(s.speedup_eager), f.speedup(s.speedup_compile), f.percent(s.roofline_fraction)]  # fmt: skip
        for s in shapes.itertuples()
    ]
    header = ["shape", "arguments", "kernel ms", "eager ms", "compile ms", "vs eager", "vs compile", "roofline"]
    return table(header, rows, right=(2, 3, 4, 5, 6, 7))


def export_best(run_dir: Path | str, out_dir: Path | str) -> list[ExportedKernel]:
    """Write each task's best verified kernel and a README into ``out_dir``; returns what was written."""
    run = load(run_dir)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    several = len(policies(run)) > 1
    exported: list[ExportedKernel] = []
    sections: list[str] = []
    sources = run.candidates.set_index(["task", "candidate_id"])["source"]
    for policy in policies(run):
        for task, row in best_rows(run, policy).iterrows():
            source = sources.get((task, row["candidate_id"]))
            if source is None:  # evaluated but never archived as a candidate
                continue
            path = out / (f"{task}.{policy}.py" if several else f"{task}.py")
            path.write_text(_header(run, row, str(task)) + source, encoding="utf-8")
            exported.append(ExportedKernel(str(task), policy, str(row["candidate_id"]), path))
            sections.append(
                f"## {task} ({policy})\n\n`{path.name}`: {f.speedup(row['speedup_eager'])} vs eager, "
                f"{f.speedup(row['speedup_compile'])} vs torch.compile on {row['gpu'] or row['device']}.\n\n"
                + _shape_table(run, int(row["eval_id"]))
            )
    intro = (
        f"# Best kernels of run `{run.label}`\n\nEach file defines `ModelNew`, a drop-in replacement for the "
        "task's reference `Model`, verified and timed by cudarwin. Speedups are median times of the "
        "baseline over the kernel, on the GPU named.\n"
    )
    body = "\n\n".join(sections) if sections else "No task has a verified kernel in this run."
    (out / "README.md").write_text(intro + "\n" + body + "\n", encoding="utf-8")
    return exported


def _verdict(ev: pd.Series | None, candidate_id: Any) -> str:
    if not isinstance(candidate_id, str) or not candidate_id:
        return "no_candidate"
    if ev is None:
        return "not_evaluated"
    if ev["accepted"] and not ev["ranked"]:
        return "finding"
    return str(ev["status"])


def _num(v: Any) -> float | None:
    return None if v is None or pd.isna(v) else float(v)


_FENCE = re.compile(r"```[A-Za-z0-9_+-]*\n(.*?)```", re.S)


def candidate_in_reply(reply: str, known: set[str]) -> str | None:
    """The id of a known candidate whose source is a fenced code block of ``reply``.

    Links a call to its candidate when the caller did not record the link.
    """
    for block in _FENCE.findall(reply):
        cid = Candidate(block).id
        if cid in known:
            return cid
    return None


def trajectory_rows(run: RunData) -> list[dict[str, Any]]:
    """One dict per LLM call with its verdict and reward (see the module docstring)."""
    evs = run.evaluations.drop_duplicates(["task", "candidate_id"], keep="last").set_index(["task", "candidate_id"])
    known = {t: set(g) for t, g in run.candidates.groupby("task")["candidate_id"]} if len(run.candidates) else {}
    rows = []
    for call in run.llm_calls.sort_values("call_id").itertuples():
        cid = call.candidate_id if isinstance(call.candidate_id, str) and call.candidate_id else None
        cid = cid or candidate_in_reply(call.reply, known.get(call.task, set()))
        key = (call.task, cid)
        ev = evs.loc[key] if cid and key in evs.index else None
        verdict = _verdict(ev, cid)
        rows.append({
            "run": run.label, "task": call.task, "model": call.model, "strategy": call.strategy,
            "conversation": call.conversation, "turn": int(call.turn), "request_hash": call.request_hash,
            "messages": json.loads(call.messages_json), "reply": call.reply,
            "candidate_id": cid,
            "verdict": verdict,
            "reason_codes": [c for c in str(ev["reason_codes"]).split(",") if c] if ev is not None else [],
            "flag_codes": [c for c in str(ev["flag_codes"]).split(",") if c] if ev is not None else [],
            "policy": str(ev["policy"]) if ev is not None else None,
            "speedup_eager": _num(ev["speedup_eager"]) if ev is not None else None,
            "speedup_compile": _num(ev["speedup_compile"]) if ev is not None else None,
            "reward": float(ev["fitness"]) if verdict == "accepted" and ev is not None else 0.0,
            "error": call.error, "cache_hit": bool(call.cache_hit), "prompt_tokens": int(call.prompt_tokens),
            "completion_tokens": int(call.completion_tokens), "cost_usd": float(call.cost_usd),
        })  # fmt: skip
    return rows


def export_trajectories(run_dir: Path | str, path: Path | str) -> int:
    """Write ``trajectory_rows`` of the run as JSON lines to ``path``; returns the number of rows."""
    rows = trajectory_rows(load(run_dir))
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return len(rows)
