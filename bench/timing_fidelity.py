"""How close cudarwin's timing is to ``triton.testing.do_bench``, and how stable.

For kernels from a few microseconds to a few milliseconds (elementwise ops
and matmuls through torch), measures the median with cudarwin's method
(events per call, L2 flush, rotating inputs, adaptive stop) twice, and with
``do_bench`` (median), and prints the ratio and the run-to-run spread.

    python bench/timing_fidelity.py
"""

from __future__ import annotations

import sys
import time

import torch

from cudarwin.runner.timing import Primitives, TimingConfig, summarize, time_calls


def ours(fn, inputs, cfg=TimingConfig()):
    event = torch.cuda.Event
    prims = Primitives(time.perf_counter, torch.cuda.synchronize, lambda: event(enable_timing=True),
                       lambda s, e: s.elapsed_time(e), lambda e: e.synchronize())
    flush = torch.empty(cfg.flush_bytes // 4, device="cuda")

    def prepare(i):
        flush.zero_()

    run = time_calls(lambda i: fn(*inputs[i % len(inputs)]), prepare, prims, cfg)
    return summarize(run.event_ms, "cuda_events").median_ms


def cases():
    for n in (1 << 20, 1 << 24, 1 << 26, 1 << 28):
        xs = [(torch.randn(n, device="cuda"),) for _ in range(2)]
        yield f"x*2+1, n=2^{n.bit_length() - 1}", (lambda x: x * 2 + 1), xs
    for m in (1024, 4096, 8192):
        ab = [(torch.randn(m, m, device="cuda"), torch.randn(m, m, device="cuda")) for _ in range(2)]
        yield f"fp32 matmul {m}", torch.matmul, ab
        hb = [(torch.randn(m, m, device="cuda", dtype=torch.bfloat16),
               torch.randn(m, m, device="cuda", dtype=torch.bfloat16)) for _ in range(2)]
        yield f"bf16 matmul {m}", torch.matmul, hb


def main() -> int:
    from triton.testing import do_bench

    print(f"{torch.cuda.get_device_name()}")
    print(f"{'case':<26} {'ours ms':>10} {'ours again':>10} {'do_bench':>10} {'ours/do_bench':>13} {'run-to-run':>10}")
    for name, fn, inputs in cases():
        a = ours(fn, inputs)
        b = ours(fn, inputs)
        ref = do_bench(lambda: fn(*inputs[0]), warmup=25, rep=200, return_mode="median")
        print(f"{name:<26} {a:10.4f} {b:10.4f} {ref:10.4f} {a / ref:13.3f} {abs(a - b) / min(a, b):10.3%}", flush=True)
        del inputs
        torch.cuda.empty_cache()
    return 0


if __name__ == "__main__":
    sys.exit(main())
