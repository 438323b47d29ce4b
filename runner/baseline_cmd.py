"""``cudarwin baseline SUITE``: eager and ``torch.compile`` timings of a suite on this GPU.

Measures the GPU's copy bandwidth and matrix peak once, then each task's
baselines with the runner's timing method (in fresh workers), and writes
``results/baselines/<gpu>.json`` (or ``--out``). The file is saved after
every task, so an interrupted run keeps what it measured.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

from cudarwin.runner.hardware import floor_ms
from cudarwin.types import CudarwinError, Device, ExitCode, geomean


def measure_suite(suite: str, *, out: str | None, modes: tuple[str, ...], shapes: str = "all",
                  device: Device | str = Device.CUDA, jobs: int = 4, compile_timeout: float = 150.0) -> int:
    """Measure and store the baselines of every task in ``suite``; print a table."""
    import torch

    from cudarwin.runner import EvalConfig, Evaluator
    from cudarwin.runner.baselines import REPO_BASELINES
    from cudarwin.runner.hardware import measure_ceilings
    from cudarwin.tasks.suites import load_suite

    device = Device(device)
    loaded = load_suite(suite)
    for err in loaded.errors:
        print(f"skipped: {err}", file=sys.stderr)
    if not loaded.tasks:
        raise CudarwinError(f"no tasks in {suite!r}")
    out_dir = Path(out) if out else REPO_BASELINES
    config = EvalConfig(device=device, baselines=modes, baseline_dir=out_dir, deadline_compile_s=compile_timeout)
    with Evaluator(config) as ev:
        if device is Device.CUDA:
            if ev.store.ceilings is None:
                bw, peak = measure_ceilings(ev.gpus[0])
                ev.store.set_ceilings(bw, peak)
                ev.store.data["gpu_name"] = torch.cuda.get_device_name(ev.gpus[0])
                ev.store.save()
            bw, peak = ev.store.ceilings
            print(f"{ev.gpu.name}: copy bandwidth {bw / 1e12:.2f} TB/s, bf16 matmul {peak / 1e12:.0f} TFLOP/s")
        else:  # wall-clock baselines of the CPU; no roofline
            bw, peak = 0.0, 0.0
            print("cpu: wall-clock baselines, no roofline floor")
        tasks = sorted(loaded.tasks, key=lambda t: (t.meta.category, t.name))
        if device is Device.CUDA and "compile" in modes and jobs > 1:
            _precompile(ev, tasks, shapes, jobs)
        header = f"{'task':<28} {'category':<14} {'eager ms':>10} {'compile ms':>10} {'floor ms':>10} {'floor/eager':>11}"
        print(header)
        ratios_compile, fracs, no_compile = [], [], []
        for task in tasks:
            indices = _indices(task, shapes)
            row = {}
            for mode in modes:
                for i in indices:
                    t = ev.baseline(task, i, mode, shape_indices=list(indices))
                    if i == 0:
                        row[mode] = t
            ev.store.save()
            eager, comp = row.get("eager"), row.get("compile")
            why = ev.store.unavailable(task, 0, "compile") if "compile" in modes else None
            if why:
                no_compile.append(task.name)
            floor = floor_ms(task.meta.flops, task.meta.bytes, dict(task.shapes[0]), bw, peak)
            frac = floor / eager.median_ms if (floor and eager) else None
            if eager and comp:
                ratios_compile.append(eager.median_ms / comp.median_ms)
            if frac:
                fracs.append(frac)
            print(f"{task.name[:28]:<28} {task.meta.category[:14]:<14} {_ms(eager):>10} {'n/a' if why else _ms(comp):>10} "
                  f"{_ms_f(floor):>10} {f'{frac:.2f}' if frac else '-':>11}", flush=True)
        g = geomean(ratios_compile)
        print(f"\n{len(loaded.tasks)} tasks; geomean eager/compile time ratio: {g:.2f}" if g else f"\n{len(loaded.tasks)} tasks")
        if no_compile:
            print(f"torch.compile baseline n/a (compile ran past {compile_timeout:.0f} s): {', '.join(no_compile)}")
        if fracs:
            far = sum(1 for f in fracs if f < 0.1)
            print(f"eager reaches a median {sorted(fracs)[len(fracs) // 2]:.2f} of the roofline floor; "
                  f"{far} task(s) under 0.10 of it")
        print(f"wrote {ev.store.write_path}")
    return int(ExitCode.OK)


def _indices(task, shapes: str) -> list[int]:
    return list(range(len(task.shapes))) if shapes == "all" else [0]


def _precompile(ev, tasks, shapes: str, jobs: int) -> None:
    """Compile every task still missing a torch.compile baseline, ``jobs`` at a time."""
    import time

    work = ev.missing_compile(tasks, headline_only=shapes != "all")
    if not work:
        return
    print(f"compiling {len(work)} task(s) with torch.compile, {jobs} at a time (timing follows, alone on the GPU)",
          flush=True)
    t0 = time.perf_counter()

    def progress(done: int, total: int, task) -> None:
        if done == total or done % 10 == 0:
            print(f"  compiled {done}/{total} ({time.perf_counter() - t0:.0f} s)", flush=True)

    ok = ev.precompile(work, jobs, progress)
    if ok < len(work):
        print(f"  {len(work) - ok} task(s) did not compile ahead; their timing worker compiles them", flush=True)


def _ms(t) -> str:
    return f"{t.median_ms:.4f}" if t else "-"


def _ms_f(v) -> str:
    return f"{v:.4f}" if v is not None and math.isfinite(v) else "-"
