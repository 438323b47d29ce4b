"""Load a run archive into pandas DataFrames for analysis.

Example, in a notebook::

    from cudarwin.results import load
    run = load("runs/2026-05-01_gpt")
    ok = run.evaluations[run.evaluations.accepted]
    ok.groupby("task").speedup_eager.max()
    run.shapes.query("task == 'softmax'")[["shape", "candidate_ms", "eager_ms", "speedup_eager"]]

Tables (one row each per):

- ``tasks``: task. ``task``, ``task_id`` (content hash), ``suite``, ``category``,
  ``source_ref``, ``path``, ``shapes`` (JSON), ``n_shapes``, ``source``.
- ``candidates``: candidate of a task. ``task``, ``candidate_id``, ``proposer``,
  ``model``, ``generation``, ``island``, ``parents`` (list of ids), ``tunables``
  (dict), ``note``, ``source``, ``seq`` (insertion order), ``created_at``.
- ``evaluations``: evaluation. ``eval_id``, ``task``, ``candidate_id``, ``status``,
  ``accepted``, ``ranked`` (accepted and not a finding), ``stage``, ``reason_codes`` and
  ``flag_codes`` (comma-separated), ``reason_messages`` (``code: message`` lines), ``policy``, ``device``, ``gpu``,
  ``driver``, ``torch_version``, ``cuda_version``, ``cudarwin_version``,
  ``fitness``, ``speedup_eager``, ``speedup_compile`` (geomeans over shapes),
  ``roofline_fraction`` (geomean of floor / candidate time; 1.0 = at the floor),
  ``compile_s``, ``eval_json`` (``Evaluation.from_dict(json.loads(...))``
  rebuilds the Evaluation), plus the candidate's ``proposer``, ``model``,
  ``generation``, ``island``.
- ``shapes``: evaluation x shape. Median/p20/p80/stderr in ms of the candidate,
  eager and ``torch.compile`` (``candidate_ms``, ``eager_p20_ms``, ...),
  ``candidate_spread`` ((p80 - p20) / median), ``speedup_eager``,
  ``speedup_compile``, ``floor_ms``, ``roofline_fraction``, errors, trials.
- ``llm_calls``: LLM request. ``model``, tokens, ``cost_usd``, ``latency_s``,
  ``cache_hit``, ``task``, ``candidate_id``, ``conversation``, ``turn``,
  ``strategy``, ``messages_json``, ``reply``, ``error``.
- ``notes``: remark about a task (``task``, ``kind``, ``message``).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .archive import Archive
from .ranking import codes_are_ranked


@dataclass(frozen=True)
class RunData:
    """One run's archive as DataFrames. See the module docstring for the columns."""

    run_dir: Path
    label: str  # how reports name this run (the folder's name unless given)
    tasks: pd.DataFrame = field(repr=False)
    candidates: pd.DataFrame = field(repr=False)
    evaluations: pd.DataFrame = field(repr=False)
    shapes: pd.DataFrame = field(repr=False)
    llm_calls: pd.DataFrame = field(repr=False)
    notes: pd.DataFrame = field(repr=False)
    meta: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def config_yaml(self) -> str:
        """The resolved configuration the run was started with."""
        return self.meta.get("config_yaml", "")


def load(run_dir: Path | str, label: str | None = None) -> RunData:
    """Read ``run_dir/archive.sqlite`` (read-only; safe while the run is writing).

    Raises CudarwinError if the folder or its archive is missing or unreadable.
    """
    run_dir = Path(run_dir)
    with Archive.open(run_dir, readonly=True) as arch:
        tables = {
            name: arch.read_sql(f"SELECT * FROM {name}")
            for name in ("tasks", "candidates", "evaluations", "shapes", "llm_calls", "notes")
        }
        meta = arch.meta()
    shapes = _shapes(tables["shapes"])
    candidates = _candidates(tables["candidates"])
    return RunData(
        run_dir=run_dir,
        label=label or run_dir.resolve().name,
        tasks=_tasks(tables["tasks"]),
        candidates=candidates,
        evaluations=_evaluations(tables["evaluations"], shapes, candidates),
        shapes=shapes,
        llm_calls=_llm_calls(tables["llm_calls"]),
        notes=tables["notes"],
        meta=meta,
    )


def _tasks(df: pd.DataFrame) -> pd.DataFrame:
    df = df.rename(columns={"name": "task", "shapes_json": "shapes"})
    df["n_shapes"] = [len(json.loads(s)) for s in df["shapes"]]
    return df


def _candidates(df: pd.DataFrame) -> pd.DataFrame:
    df = df.copy()
    df["parents"] = [json.loads(p) for p in df.pop("parents_json")]
    df["tunables"] = [dict(json.loads(t)) for t in df.pop("tunables_json")]
    return df


def _ratio(num: float | None, den: float | None) -> float:
    if num is None or den is None or pd.isna(num) or pd.isna(den) or den <= 0:
        return math.nan
    return float(num) / float(den)


def _shapes(df: pd.DataFrame) -> pd.DataFrame:
    df = df.rename(columns={"shape_json": "shape"})
    df["candidate_spread"] = [
        _ratio(p80 - p20, med) if pd.notna(med) else math.nan
        for p20, p80, med in zip(df["candidate_p20_ms"], df["candidate_p80_ms"], df["candidate_ms"])
    ]
    df["roofline_fraction"] = [_ratio(f, c) for f, c in zip(df["floor_ms"], df["candidate_ms"])]
    return df


def _geomean(values: pd.Series) -> float:
    vals = [v for v in values if pd.notna(v) and v > 0 and math.isfinite(v)]
    return math.exp(sum(math.log(v) for v in vals) / len(vals)) if vals else math.nan


def _messages(eval_json: str) -> str:
    """The reasons' and flags' messages of a stored evaluation, one per line."""
    d = json.loads(eval_json)
    return "\n".join(f"{r['code']}: {r['message']}" for r in d.get("reasons", []) + d.get("flags", []))


def _evaluations(df: pd.DataFrame, shapes: pd.DataFrame, candidates: pd.DataFrame) -> pd.DataFrame:
    df = df.copy()
    df["accepted"] = df["status"] == "accepted"
    df["reason_messages"] = [_messages(j) for j in df["eval_json"]]
    df["ranked"] = [codes_are_ranked(s, f.split(",") if f else ()) for s, f in zip(df["status"], df["flag_codes"])]
    roof = shapes.groupby("eval_id")["roofline_fraction"].agg(_geomean) if len(shapes) else pd.Series(dtype=float)
    df["roofline_fraction"] = df["eval_id"].map(roof).astype(float)
    info = candidates[["task", "candidate_id", "proposer", "model", "generation", "island"]]
    df = df.merge(info, on=["task", "candidate_id"], how="left")
    df["generation"] = df["generation"].fillna(0).astype(int)
    df["island"] = df["island"].fillna(0).astype(int)
    df["proposer"] = df["proposer"].fillna("")
    df["model"] = df["model"].fillna("")
    return df


def _llm_calls(df: pd.DataFrame) -> pd.DataFrame:
    df = df.copy()
    df["cache_hit"] = df["cache_hit"].astype(bool)
    df["total_tokens"] = df["prompt_tokens"] + df["completion_tokens"]
    return df
