"""Evaluation throughput and per-stage overhead on one GPU.

For the suite's hand-written reference solutions (honest candidates), runs
the full pipeline (static, worker acquire, load + NVRTC compile, correctness
over every shape x 4 input variants, timing) and prints wall time per stage,
the overhead beyond the kernel's own timing loop, and candidates per minute.
Baselines are measured in a first pass and excluded from the numbers (they
are cached per task, GPU and torch version). Then the same kernel source is
built through torch's ``load_inline`` and through ``load_cuda`` side by side.

    python bench/eval_overhead.py [--limit N] [--inline N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

from cudarwin.runner import EvalConfig, Evaluator
from cudarwin.tasks import load_task
from cudarwin.tasks.suites import solutions_for
from cudarwin.types import Candidate

ROOT = Path(__file__).resolve().parent.parent

INLINE_CPP = "torch::Tensor scale_add(torch::Tensor x, double a, double b);"
INLINE_CU = r"""
#include <torch/extension.h>
__global__ void scale_add_kernel(const float* x, float* y, float a, float b, long n) {
    long i = blockIdx.x * (long)blockDim.x + threadIdx.x;
    if (i < n) y[i] = a * x[i] + b;
}
torch::Tensor scale_add(torch::Tensor x, double a, double b) {
    auto y = torch::empty_like(x);
    long n = x.numel();
    scale_add_kernel<<<(n + 255) / 256, 256>>>(x.data_ptr<float>(), y.data_ptr<float>(), (float)a, (float)b, n);
    return y;
}
"""
NVRTC_CU = r"""
extern "C" __global__ void scale_add_kernel(const float* x, float* y, float a, float b, long n) {
    long i = blockIdx.x * (long)blockDim.x + threadIdx.x;
    if (i < n) y[i] = a * x[i] + b;
}
"""


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


def compile_side_by_side(n_inline: int) -> list[tuple[str, float]]:
    from torch.utils.cpp_extension import load_inline

    from cudarwin.runtime import load_cuda

    rows = []
    for k in range(n_inline):
        tag = f"{time.time_ns()}_{k}"
        with tempfile.TemporaryDirectory() as build:
            t0 = time.perf_counter()
            load_inline(name=f"bench_{tag}", cpp_sources=INLINE_CPP, cuda_sources=INLINE_CU,
                        functions=["scale_add"], build_directory=build, verbose=False)
            rows.append(("load_inline", time.perf_counter() - t0))
        t0 = time.perf_counter()
        load_cuda(NVRTC_CU + f"\n// {tag}\n")  # a new source: no cache hit
        rows.append(("load_cuda (NVRTC)", time.perf_counter() - t0))
    return rows


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=12)
    ap.add_argument("--inline", type=int, default=1, help="load_inline builds to time (about a minute each)")
    args = ap.parse_args()
    pairs = solution_pairs(args.limit)
    cfg = EvalConfig(device="cuda", baselines=("eager",))
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
                  ("" if e.accepted else f"  {[r.code.value for r in e.verdict.reasons]}"), flush=True)
        total = time.perf_counter() - t_all
    print()
    stages = ["static", "acquire", "load", "correctness", "timing"]
    print(f"{'stage':<12} {'p50 s':>8} {'max s':>8}")
    for s in stages:
        vals = [r[3].get(s, 0.0) for r in rows]
        print(f"{s:<12} {statistics.median(vals):8.3f} {max(vals):8.3f}")
    overhead = [r[2] - r[3].get("timing", 0.0) for r in rows]
    print(f"overhead beyond the timing loop: p50 {statistics.median(overhead):.2f} s")
    print(f"{len(rows)} candidates in {total:.1f} s: {60 * len(rows) / total:.1f} candidates/min on one "
          f"{torch.cuda.get_device_name()}")
    if args.inline:
        print()
        for route, secs in compile_side_by_side(args.inline):
            print(f"compile {route:<20} {secs:8.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
