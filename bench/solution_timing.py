"""Speedups of the suite's reference solutions, timed several ways side by side.

A check on the harness rather than on the kernels: for each hand-written
solution at its headline shape, times the candidate (``ModelNew``) and the
eager reference (``Model``) in this process with

* ``ours``: the runner's loop as the worker runs it (L2 flush, persisting-L2
  reset, CUDA events per call);
* ``cover``: the same, with a short GPU spin enqueued before the start event,
  so the host's launch overhead cannot leak into the timed window;
* ``do_bench``: ``triton.testing.do_bench`` (median);

and prints the host time to enqueue one call. If the speedup differs between
the methods, the harness is measuring the host, not the kernel.

    python bench/solution_timing.py [--tasks gelu,layernorm]
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
from pathlib import Path

import torch

from cudarwin.runner.timing import Primitives, TimingConfig, summarize, time_calls
from cudarwin.runner.worker import _copy_matching_state
from cudarwin.tasks import import_task, load_task, make_inputs, make_model
from cudarwin.tasks.inputs import make_init_inputs, seed_everything, INIT_SEED
from cudarwin.tasks.suites import solutions_for

ROOT = Path(__file__).resolve().parent.parent


def _prims() -> Primitives:
    event = torch.cuda.Event
    return Primitives(time.perf_counter, torch.cuda.synchronize, lambda: event(enable_timing=True),
                      lambda s, e: s.elapsed_time(e), lambda e: e.synchronize())


def _l2_reset():
    import cupy.cuda.runtime as cr

    return lambda: cr.deviceSetLimit(0x06, 0)


def ours(fn, sets, *, l2_reset: bool, cover_cycles: int = 0) -> float:
    cfg = TimingConfig()
    flush = torch.empty(cfg.flush_bytes // 4, device="cuda")
    reset = _l2_reset() if l2_reset else (lambda: None)

    def prepare(i):
        reset()
        flush.zero_()
        if cover_cycles:
            torch.cuda._sleep(cover_cycles)

    run = time_calls(lambda i: fn(*sets[i % len(sets)]), prepare, _prims(), cfg)
    return summarize(run.event_ms, "cuda_events").median_ms


def host_us(fn, args, n: int = 50) -> float:
    """Median host time to enqueue one call (no synchronization inside)."""
    xs = []
    for _ in range(n):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        with torch.no_grad():
            fn(*args)
        xs.append((time.perf_counter() - t0) * 1e6)
    torch.cuda.synchronize()
    return statistics.median(xs)


def load_solution(task, path: Path, shape):
    spec = importlib.util.spec_from_file_location(f"solution_{task.name}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    module = import_task(task)
    ref = make_model(module, shape, device="cpu")
    init = make_init_inputs(module, shape)
    seed_everything(INIT_SEED)
    new = mod.ModelNew(*init)
    _copy_matching_state(ref, new, torch)
    return ref.to("cuda"), new.to("cuda")


def main() -> int:
    from triton.testing import do_bench

    ap = argparse.ArgumentParser()
    ap.add_argument("--tasks", default="")
    args = ap.parse_args()
    wanted = {t for t in args.tasks.split(",") if t}
    cover = int(torch.cuda.get_device_properties(0).clock_rate * 1e3 * 200e-6)  # ~200 us of cycles (kHz)
    print(torch.cuda.get_device_name())
    head = f"{'task':<22} {'who':<6} {'host us':>8} {'ours ms':>9} {'no L2rst':>9} {'cover':>9} {'do_bench':>9}"
    print(head)
    rows = []
    for task_file in sorted((ROOT / "tasks" / "suite").rglob("*.py")):
        if task_file.name.count(".") > 1:
            continue
        task = load_task(task_file)
        sols = solutions_for(task)
        if not sols or (wanted and task.name not in wanted):
            continue
        shape = task.shapes[0]
        module = import_task(task)
        ref, new = load_solution(task, sols[0], shape)
        sets = [make_inputs(module, shape, seed=s, device="cuda") for s in (1, 2)]
        res = {}
        for who, model in (("eager", ref), ("cand", new)):
            def fn(*a, m=model):
                with torch.no_grad():
                    return m(*a)
            h = host_us(fn, sets[0])
            a = ours(fn, sets, l2_reset=True)
            b = ours(fn, sets, l2_reset=False)
            c = ours(fn, sets, l2_reset=True, cover_cycles=cover)
            d = do_bench(lambda: fn(*sets[0]), warmup=25, rep=200, return_mode="median")
            res[who] = (a, b, c, d)
            print(f"{task.name:<22} {who:<6} {h:8.1f} {a:9.4f} {b:9.4f} {c:9.4f} {d:9.4f}", flush=True)
        speed = [res["eager"][k] / res["cand"][k] for k in range(4)]
        rows.append((task.name, speed))
        del ref, new, sets
        torch.cuda.empty_cache()
    print()
    print(f"{'speedup vs eager':<22} {'ours':>8} {'no L2rst':>9} {'cover':>8} {'do_bench':>9}")
    for name, s in rows:
        print(f"{name:<22} {s[0]:8.2f} {s[1]:9.2f} {s[2]:8.2f} {s[3]:9.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
