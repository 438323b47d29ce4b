"""Leaderboard numbers from loaded runs: per-task best, fast_p, geometric means.

Definitions (shown in the reports too):

- A task's *best* is its accepted evaluation of highest fitness (verified
  speedup over eager, geomean over shapes) that carries no finding flag
  (``ranking.UNRANKED_FLAGS``). A task with none is *unsolved*.
- ``fast_p`` is the share of all tasks whose best is faster than ``p`` x the
  baseline (strictly). ``fast_0`` is thus the share of tasks solved; unsolved
  tasks count as not fast.
- ``geomean_eager`` / ``geomean_compile``: geometric mean of the best speedups
  over the solved tasks. ``geomean_eager_all``: over all tasks, taking
  ``max(best, 1)`` and 1 for unsolved tasks -- the speedup a user gets who keeps
  eager PyTorch wherever no kernel wins.
- ``roofline_fraction``: geometric mean over shapes of ``floor / candidate time``;
  1.0 is the physical floor from the task's META flops/bytes.

Every number is per (run, policy): a run's results under ``strict`` and
``torch-ok`` are never mixed.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from typing import Iterable, Sequence

import pandas as pd

from .load import RunData
from .ranking import UNRANKED_FLAGS

FAST_P: tuple[float, ...] = (0.0, 1.0, 1.5, 2.0)
NO_POLICY = "n/a"  # a run with no evaluation yet


@dataclass(frozen=True)
class TaskResult:
    """One row of the leaderboard: a task's best result in one run under one policy."""

    run: str
    policy: str
    task: str
    suite: str
    category: str
    solved: bool
    best_candidate: str  # "" when unsolved
    speedup_eager: float | None  # geomean over shapes
    speedup_compile: float | None
    roofline_fraction: float | None
    candidate_ms: float | None  # headline shape (index 0)
    candidate_spread: float | None  # (p80 - p20) / median of the kernel's time, headline shape
    eager_ms: float | None
    compile_ms: float | None
    generation: int | None  # generation that found the best
    proposer: str
    model: str
    candidates: int  # candidates proposed for the task
    evaluated: int  # evaluations under this policy
    accepted: int
    findings: int  # accepted but flagged (beyond roofline, review)
    cost_usd: float  # LLM cost spent on the task (whole run)


@dataclass(frozen=True)
class RunSummary:
    """The headline numbers of one run under one policy."""

    run: str
    policy: str
    tasks: int
    solved: int
    fast_p: tuple[tuple[float, float], ...]  # (p, share) for p in FAST_P
    geomean_eager: float | None
    geomean_compile: float | None
    geomean_eager_all: float | None
    candidates: int
    evaluations: int
    llm_calls: int
    tokens: int
    cost_usd: float
    gpus: tuple[str, ...]  # GPU names; "cpu" for evaluations run without a GPU
    models: tuple[str, ...]  # LLMs (or proposers, without an LLM) behind the candidates

    def fast(self, p: float) -> float:
        return dict(self.fast_p)[p]


def _num(value: object) -> float | None:
    if value is None:
        return None
    f = float(value)  # type: ignore[arg-type]
    return None if math.isnan(f) else f


def geomean(values: Iterable[float | None]) -> float | None:
    """Geometric mean of the positive finite values; None if there are none."""
    vals = [v for v in values if v is not None and v > 0 and math.isfinite(v)]
    return math.exp(sum(math.log(v) for v in vals) / len(vals)) if vals else None


def fast_p(speedups: Sequence[float | None], solved: Sequence[bool], p: float) -> float:
    """Share of tasks that are solved and faster than ``p`` x baseline (0 when there are no tasks)."""
    if not speedups:
        return 0.0
    hits = sum(1 for s, ok in zip(speedups, solved) if ok and (p == 0.0 or (s is not None and s > p)))
    return hits / len(speedups)


def policies(run: RunData) -> list[str]:
    """The policies a run's evaluations were made under, strict first."""
    found = sorted(set(run.evaluations["policy"]), key=lambda p: (p != "strict", p))
    return found or [NO_POLICY]


def task_names(run: RunData) -> list[str]:
    """The run's tasks in archive order, plus any only named by evaluations."""
    names = list(run.tasks["task"])
    return names + sorted(set(run.evaluations["task"]) - set(names))


def best_rows(run: RunData, policy: str) -> pd.DataFrame:
    """Each task's best ranked evaluation under ``policy`` (one row per solved task)."""
    ev = run.evaluations
    ranked = ev[(ev["policy"] == policy) & ev["ranked"]]
    ranked = ranked.sort_values(["task", "fitness", "eval_id"], ascending=[True, False, True])
    return ranked.drop_duplicates("task").set_index("task")


def task_results(run: RunData) -> list[TaskResult]:
    """The leaderboard rows of one run: every task under every policy."""
    out = []
    cost = run.llm_calls.groupby("task")["cost_usd"].sum() if len(run.llm_calls) else pd.Series(dtype=float)
    n_cands = run.candidates.groupby("task").size() if len(run.candidates) else pd.Series(dtype=int)
    info = run.tasks.set_index("task")
    for policy in policies(run):
        best = best_rows(run, policy)
        evs = run.evaluations[run.evaluations["policy"] == policy]
        for name in task_names(run):
            out.append(_task_result(run, policy, name, best, evs[evs["task"] == name], info, n_cands, cost))
    return out


def _headline(run: RunData, eval_id: int) -> pd.Series | None:
    rows = run.shapes[(run.shapes["eval_id"] == eval_id) & (run.shapes["shape_index"] == 0)]
    return rows.iloc[0] if len(rows) else None


def _task_result(
    run: RunData,
    policy: str,
    name: str,
    best: pd.DataFrame,
    evs: pd.DataFrame,
    info: pd.DataFrame,
    n_cands: pd.Series,
    cost: pd.Series,
) -> TaskResult:
    row = best.loc[name] if name in best.index else None
    head = _headline(run, int(row["eval_id"])) if row is not None else None
    return TaskResult(
        run=run.label,
        policy=policy,
        task=name,
        suite=str(info.loc[name, "suite"]) if name in info.index else "",
        category=str(info.loc[name, "category"]) if name in info.index else "",
        solved=row is not None,
        best_candidate=str(row["candidate_id"]) if row is not None else "",
        speedup_eager=_num(row["speedup_eager"]) if row is not None else None,
        speedup_compile=_num(row["speedup_compile"]) if row is not None else None,
        roofline_fraction=_num(row["roofline_fraction"]) if row is not None else None,
        candidate_ms=_num(head["candidate_ms"]) if head is not None else None,
        candidate_spread=_num(head["candidate_spread"]) if head is not None else None,
        eager_ms=_num(head["eager_ms"]) if head is not None else None,
        compile_ms=_num(head["compile_ms"]) if head is not None else None,
        generation=int(row["generation"]) if row is not None else None,
        proposer=str(row["proposer"]) if row is not None else "",
        model=str(row["model"]) if row is not None else "",
        candidates=int(n_cands.get(name, 0)),
        evaluated=len(evs),
        accepted=int(evs["accepted"].sum()),
        findings=int((evs["accepted"] & ~evs["ranked"]).sum()),
        cost_usd=float(cost.get(name, 0.0)),
    )


def summarize(run: RunData, results: Sequence[TaskResult] | None = None) -> list[RunSummary]:
    """One summary per policy of the run."""
    results = list(results) if results is not None else task_results(run)
    calls = run.llm_calls
    out = []
    for policy in policies(run):
        rows = [r for r in results if r.policy == policy]
        speedups = [r.speedup_eager for r in rows]
        solved = [r.solved for r in rows]
        evs = run.evaluations[run.evaluations["policy"] == policy]
        out.append(
            RunSummary(
                run=run.label,
                policy=policy,
                tasks=len(rows),
                solved=sum(solved),
                fast_p=tuple((p, fast_p(speedups, solved, p)) for p in FAST_P),
                geomean_eager=geomean([r.speedup_eager for r in rows if r.solved]),
                geomean_compile=geomean([r.speedup_compile for r in rows if r.solved]),
                geomean_eager_all=geomean([max(r.speedup_eager or 1.0, 1.0) for r in rows]),
                candidates=len(run.candidates),
                evaluations=len(evs),
                llm_calls=int((~calls["cache_hit"]).sum()) if len(calls) else 0,
                tokens=int(calls.loc[~calls["cache_hit"], "total_tokens"].sum()) if len(calls) else 0,
                cost_usd=float(calls["cost_usd"].sum()) if len(calls) else 0.0,
                gpus=tuple(sorted({g or d for g, d in zip(evs["gpu"], evs["device"]) if g or d})),
                models=_models(run),
            )
        )
    return out


def _models(run: RunData) -> tuple[str, ...]:
    cands = run.candidates
    names = [m or p for m, p in zip(cands["model"], cands["proposer"])]
    return tuple(sorted({n for n in names if n}))


def leaderboard_frame(results: Iterable[TaskResult]) -> pd.DataFrame:
    """The rows of ``leaderboard.csv``: one per (run, policy, task)."""
    rows = [asdict(r) for r in results]
    frame = pd.DataFrame(rows, columns=list(TaskResult.__dataclass_fields__))
    frame["generation"] = frame["generation"].astype("Int64")  # stays an integer with gaps
    return frame


def progress(run: RunData, policy: str) -> pd.DataFrame:
    """Best-so-far speedup per task and generation, and the run's geomean (``task == "*"``).

    The geomean uses ``geomean_eager_all``'s rule (max(best, 1); 1 when
    unsolved), so its last point equals the summary's number.
    """
    tasks = task_names(run)
    ev = run.evaluations[(run.evaluations["policy"] == policy) & run.evaluations["ranked"]]
    gens = sorted(set(run.evaluations["generation"])) or [0]
    rows = []
    for gen in gens:
        upto = ev[ev["generation"] <= gen].groupby("task")["speedup_eager"].max()
        for name in tasks:
            if name in upto.index:
                rows.append({"task": name, "generation": gen, "best_so_far": float(upto[name])})
        overall = geomean([max(float(upto[n]), 1.0) if n in upto.index else 1.0 for n in tasks])
        rows.append({"task": "*", "generation": gen, "best_so_far": overall})
    return pd.DataFrame(rows, columns=["task", "generation", "best_so_far"])


@dataclass(frozen=True)
class LineageStep:
    """One ancestor (or the kernel itself) on the path to a task's best kernel."""

    candidate_id: str
    generation: int
    proposer: str
    model: str
    status: str  # "accepted", "rejected" or "not evaluated"
    reason_codes: str
    speedup_eager: float | None


def lineage(run: RunData, task: str, candidate_id: str, limit: int = 50) -> list[LineageStep]:
    """The chain of first parents that led to ``candidate_id``, oldest first."""
    cands = run.candidates[run.candidates["task"] == task].set_index("candidate_id")
    evs = run.evaluations[run.evaluations["task"] == task].drop_duplicates("candidate_id", keep="last")
    evs = evs.set_index("candidate_id")
    chain: list[LineageStep] = []
    seen: set[str] = set()
    current: str | None = candidate_id
    while current and current not in seen and current in cands.index and len(chain) < limit:
        seen.add(current)
        cand = cands.loc[current]
        ev = evs.loc[current] if current in evs.index else None
        chain.append(
            LineageStep(
                candidate_id=current,
                generation=int(cand["generation"]),
                proposer=str(cand["proposer"]),
                model=str(cand["model"]),
                status=str(ev["status"]) if ev is not None else "not evaluated",
                reason_codes=str(ev["reason_codes"]) if ev is not None else "",
                speedup_eager=_num(ev["speedup_eager"]) if ev is not None else None,
            )
        )
        parents = cand["parents"]
        current = parents[0] if parents else None
    return chain[::-1]


@dataclass(frozen=True)
class Finding:
    """A result to look at by hand: beyond the roofline or flagged by review (never ranked)."""

    run: str
    policy: str
    task: str
    candidate_id: str
    status: str  # "accepted" (flagged) or "rejected" (the flag was also a rejection reason)
    codes: str
    messages: str
    speedup_eager: float | None
    roofline_fraction: float | None


def _finding_codes(reason_codes: str, flag_codes: str) -> list[str]:
    unranked = {r.value for r in UNRANKED_FLAGS}
    codes = [c for c in f"{flag_codes},{reason_codes}".split(",") if c in unranked]
    return list(dict.fromkeys(codes))


def findings(run: RunData) -> list[Finding]:
    """Every evaluation whose flags or reasons include an unranked code (see ``ranking``)."""
    out = []
    for _, r in run.evaluations.iterrows():
        codes = _finding_codes(str(r["reason_codes"]), str(r["flag_codes"]))
        if not codes:
            continue
        d = json.loads(r["eval_json"])
        items = [x for x in d.get("flags", []) + d.get("reasons", []) if x["code"] in codes]
        out.append(
            Finding(
                run=run.label,
                policy=str(r["policy"]),
                task=str(r["task"]),
                candidate_id=str(r["candidate_id"]),
                status=str(r["status"]),
                codes=",".join(codes),
                messages="; ".join(dict.fromkeys(x["message"] for x in items)),
                speedup_eager=_num(r["speedup_eager"]),
                roofline_fraction=_num(r["roofline_fraction"]),
            )
        )
    return out


def reason_counts(run: RunData) -> pd.Series:
    """How often each rejection reason occurred in the run, most frequent first."""
    codes = [c for s in run.evaluations["reason_codes"] for c in s.split(",") if c]
    counts = pd.Series(codes, dtype=str).value_counts()
    return counts.sort_index().sort_values(ascending=False, kind="stable")
