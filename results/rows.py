"""Conversions between cudarwin's types and the archive's table rows."""

from __future__ import annotations

import json
import math
import time
from typing import Any, Mapping

from cudarwin.types import Candidate, Evaluation, ShapeResult, Task, Timing

from .records import LLMCallRecord

# Evaluation.env keys vary by who filled them in; the first key present wins.
ENV_KEYS: dict[str, tuple[str, ...]] = {
    "driver": ("driver", "driver_version", "nvidia_driver"),
    "torch_version": ("torch", "torch_version"),
    "cuda_version": ("cuda", "cuda_version"),
    "cudarwin_version": ("cudarwin", "cudarwin_version"),
}


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=False, default=str)


def env_value(env: Mapping[str, str], column: str) -> str:
    """The value of an archive env column (``driver``, ``torch_version``...) from Evaluation.env."""
    for key in ENV_KEYS[column]:
        if env.get(key):
            return str(env[key])
    return ""


def _finite_or_none(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


# ---------------------------------------------------------------------------- tasks

TASK_INSERT = (
    "INSERT INTO tasks (name, task_id, suite, category, source_ref, path, source, shapes_json, added_at) "
    "VALUES (:name, :task_id, :suite, :category, :source_ref, :path, :source, :shapes_json, :added_at)"
)


def task_row(task: Task) -> dict[str, Any]:
    return {
        "name": task.name,
        "task_id": task.id,
        "suite": task.suite,
        "category": task.meta.category,
        "source_ref": task.meta.source,
        "path": str(task.path),
        "source": task.source,
        "shapes_json": _json([dict(s) for s in task.shapes]),
        "added_at": time.time(),
    }


# ---------------------------------------------------------------------------- candidates

CANDIDATE_INSERT = (
    "INSERT OR IGNORE INTO candidates (task, candidate_id, source, proposer, model, parents_json, generation, "
    "island, tunables_json, note, created_at) VALUES (:task, :candidate_id, :source, :proposer, :model, "
    ":parents_json, :generation, :island, :tunables_json, :note, :created_at)"
)


def candidate_row(candidate: Candidate, task: str, generation: int, island: int, model: str) -> dict[str, Any]:
    return {
        "task": task,
        "candidate_id": candidate.id,
        "source": candidate.source,
        "proposer": candidate.proposer,
        "model": model,
        "parents_json": _json(list(candidate.parents)),
        "generation": int(generation),
        "island": int(island),
        "tunables_json": _json([[k, v] for k, v in candidate.tunables]),
        "note": candidate.note,
        "created_at": time.time(),
    }


def candidate_from_row(row: Mapping[str, Any]) -> Candidate:
    return Candidate(
        source=row["source"],
        proposer=row["proposer"],
        parents=tuple(json.loads(row["parents_json"])),
        tunables=tuple((k, v) for k, v in json.loads(row["tunables_json"])),
        note=row["note"],
    )


# ---------------------------------------------------------------------------- evaluations

EVALUATION_COLUMNS = (
    "task", "candidate_id", "status", "stage", "reason_codes", "flag_codes", "policy", "device", "gpu", "driver",
    "torch_version", "cuda_version", "cudarwin_version", "fitness", "speedup_eager", "speedup_compile",
    "compile_s", "eval_json", "created_at",
)  # fmt: skip
EVALUATION_INSERT = "INSERT INTO evaluations ({}) VALUES ({})".format(
    ", ".join(EVALUATION_COLUMNS), ", ".join(":" + c for c in EVALUATION_COLUMNS)
)


def evaluation_row(ev: Evaluation) -> dict[str, Any]:
    env = dict(ev.env)
    row = {
        "task": ev.task,
        "candidate_id": ev.candidate_id,
        "status": ev.verdict.status.value,
        "stage": ev.verdict.stage.value if ev.verdict.stage else None,
        "reason_codes": ",".join(dict.fromkeys(c.value for c in ev.verdict.codes)),
        "flag_codes": ",".join(dict.fromkeys(f.code.value for f in ev.flags)),
        "policy": ev.policy.value,
        "device": ev.device,
        "gpu": ev.gpu,
        "fitness": ev.fitness,
        "speedup_eager": _finite_or_none(ev.speedup_eager),
        "speedup_compile": _finite_or_none(ev.speedup_compile),
        "compile_s": ev.compile.seconds if ev.compile else None,
        "eval_json": _json(ev.to_dict()),
        "created_at": time.time(),
    }
    row.update({column: env_value(env, column) for column in ENV_KEYS})
    return row


SHAPE_COLUMNS = (
    "eval_id, task, candidate_id, shape_index, shape_json, max_abs_err, max_rel_err, trials, "
    "candidate_ms, candidate_p20_ms, candidate_p80_ms, candidate_stderr_ms, candidate_n, "
    "eager_ms, eager_p20_ms, eager_p80_ms, eager_stderr_ms, "
    "compile_ms, compile_p20_ms, compile_p80_ms, compile_stderr_ms, "
    "timing_method, speedup_eager, speedup_compile, floor_ms, kernels_ran"
)
SHAPE_INSERT = "INSERT INTO shapes ({}) VALUES ({})".format(
    SHAPE_COLUMNS, ", ".join(":" + c.strip() for c in SHAPE_COLUMNS.split(","))
)


def _timing_cols(prefix: str, timing: Timing | None) -> dict[str, Any]:
    return {
        f"{prefix}_ms": timing.median_ms if timing else None,
        f"{prefix}_p20_ms": timing.p20_ms if timing else None,
        f"{prefix}_p80_ms": timing.p80_ms if timing else None,
        f"{prefix}_stderr_ms": timing.stderr_ms if timing else None,
    }


def shape_row(eval_id: int, ev: Evaluation, shape: ShapeResult) -> dict[str, Any]:
    row: dict[str, Any] = {
        "eval_id": eval_id,
        "task": ev.task,
        "candidate_id": ev.candidate_id,
        "shape_index": shape.index,
        "shape_json": _json(dict(shape.shape)),
        "max_abs_err": shape.max_abs_err,
        "max_rel_err": shape.max_rel_err,
        "trials": shape.trials,
        "candidate_n": shape.candidate.n if shape.candidate else None,
        "timing_method": shape.candidate.method if shape.candidate else None,
        "speedup_eager": _finite_or_none(shape.speedup_eager),
        "speedup_compile": _finite_or_none(shape.speedup_compile),
        "floor_ms": shape.floor_ms,
        "kernels_ran": ",".join(shape.kernels_ran),
    }
    row.update(_timing_cols("candidate", shape.candidate))
    row.update(_timing_cols("eager", shape.eager))
    row.update(_timing_cols("compile", shape.compiled))
    return row


# ---------------------------------------------------------------------------- LLM calls

LLM_CALL_FIELDS = (
    "request_hash", "model", "messages_json", "reply", "prompt_tokens", "completion_tokens", "cost_usd",
    "latency_s", "cache_hit", "task", "candidate_id", "conversation", "turn", "strategy", "error",
)  # fmt: skip
LLM_CALL_INSERT = "INSERT INTO llm_calls ({}, created_at) VALUES ({}, :created_at)".format(
    ", ".join(LLM_CALL_FIELDS), ", ".join(":" + f for f in LLM_CALL_FIELDS)
)


def llm_call_row(record: LLMCallRecord) -> dict[str, Any]:
    row = {f: getattr(record, f) for f in LLM_CALL_FIELDS}
    row["cache_hit"] = int(record.cache_hit)
    row["created_at"] = time.time()
    return row


def llm_call_from_row(row: Mapping[str, Any]) -> LLMCallRecord:
    fields = {f: row[f] for f in LLM_CALL_FIELDS}
    fields["cache_hit"] = bool(fields["cache_hit"])
    return LLMCallRecord(**fields)
