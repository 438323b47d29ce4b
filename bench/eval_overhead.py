"""Evaluation throughput and per-stage overhead on one GPU.

For the suite's hand-written reference solutions (honest candidates), runs
the full pipeline (static, worker acquire, load + NVRTC compile, correctness
over every shape x 4 input variants, timing) and prints wall time per stage,
the overhead beyond the kernel's own timing loop, and candidates per minute.
Baselines are measured in a first pass and excluded from the numbers (they
are cached per task, GPU and torch version). Then the same kernel source is
built through ``load_cuda`` (NVRTC) and KernelBench-style through torch's
``load_inline`` (nvcc), both evaluated by the pipeline, side by side.

    python bench/eval_overhead.py [--limit N] [--no-inline] [--socket]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

from cudarwin.runner import EvalConfig, Evaluator
from cudarwin.tasks import load_task
from cudarwin.tasks.suites import solutions_for
from cudarwin.types import Candidate

ROOT = Path(__file__).resolve().parent.parent

CHECK = ROOT / "tests" / "fixtures" / "check"
SIDE_BY_SIDE = (ROOT / "tests" / "candidates" / "gpu" / "honest_relu.py",
                ROOT / "tests" / "candidates" / "gpu" / "kernelbench_inline.py")


def solution_pairs(limit: int):
    pairs = []
    for task_file in sorted((ROOT / "tasks" / "suite").rglob("*.py")):
        if task_file.name.count(".") > 1:
            continue
        task = load_task(task_file)
        sols = solutions_for(task)
        if sols:
            pairs.append((task, Candidate(Path(sols[0]).read_text(), proposer="reference")))
    return pairs[:limit]


def side_by_side(ev: Evaluator) -> list[tuple[str, str, float, float]]:
    """The same kernel as a load_cuda (NVRTC) and a load_inline (nvcc) candidate, through the pipeline."""
    task = load_task(CHECK / "relu_task.py")
    rows = []
    for path in SIDE_BY_SIDE:
        e = ev.evaluate(task, Candidate(path.read_text()))
        status = e.verdict.status.value + ("" if e.accepted else f" {[r.message[:300] for r in e.verdict.reasons]}")
        rows.append((path.name, status, dict(e.stage_seconds).get("load", 0.0),
                     sum(v for _, v in e.stage_seconds)))
    return rows


def run_pass(pairs, ipc: bool, inline: bool):
    """Evaluate every pair once; (rows, wall seconds, load_inline rows)."""
    cfg = EvalConfig(device="cuda", baselines=("eager",), ipc_outputs=ipc)
    rows = []
    with Evaluator(cfg) as ev:
        for task, _ in pairs:  # baselines first: cached, not part of the throughput
            for i in range(len(task.shapes)):
                ev.baseline(task, i, "eager")
        t_all = time.perf_counter()
        for task, cand in pairs:
            t0 = time.perf_counter()
            e = ev.evaluate(task, cand)
            wall = time.perf_counter() - t0
            st = dict(e.stage_seconds)
            rows.append((task.name, e.verdict.status.value, wall, st, e.speedup_eager))
            print(f"{task.name:<24} {e.verdict.status.value:<9} {wall:6.2f}s  " +
                  " ".join(f"{k}={v:.3f}" for k, v in st.items()) +
                  (f"  speedup {e.speedup_eager:.2f}x" if e.speedup_eager else "") +
                  ("" if e.accepted else f"  {[r.message[:300] for r in e.verdict.reasons]}"), flush=True)
        total = time.perf_counter() - t_all
        if ipc and not ev.ipc:
            print(f"CUDA IPC was turned off during the run: {ev.ipc_error}")
        inline_rows = side_by_side(ev) if inline else []
    return rows, total, inline_rows


def report(label: str, rows, total: float) -> None:
    stages = ["static", "acquire", "load", "correctness", "timing"]
    print(f"\n{label}")
    print(f"{'stage':<12} {'p50 s':>8} {'max s':>8}")
    for s in stages:
        vals = [r[3].get(s, 0.0) for r in rows]
        print(f"{s:<12} {statistics.median(vals):8.3f} {max(vals):8.3f}")
    overhead = [r[2] - r[3].get("timing", 0.0) for r in rows]
    print(f"overhead beyond the timing loop: p50 {statistics.median(overhead):.2f} s")
    print(f"{len(rows)} candidates in {total:.1f} s: {60 * len(rows) / total:.1f} candidates/min on one "
          f"{torch.cuda.get_device_name()}")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=12)
    ap.add_argument("--no-inline", action="store_true", help="skip the load_inline comparison (about a minute)")
    ap.add_argument("--socket", action="store_true",
                    help="also run every candidate with outputs sent over the socket instead of CUDA IPC")
    args = ap.parse_args()
    pairs = solution_pairs(args.limit)
    passes = [("outputs through CUDA IPC", True)] + ([("outputs over the socket", False)] if args.socket else [])
    results = []
    for label, ipc in passes:
        print(f"--- {label}")
        results.append((label, *run_pass(pairs, ipc, inline=ipc and not args.no_inline)))
    for label, rows, total, _ in results:
        report(label, rows, total)
    for name, status, load_s, total_s in results[0][3]:
        print(f"{name:<26} {status:<9} import+compile {load_s:8.3f} s, whole evaluation {total_s:8.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
