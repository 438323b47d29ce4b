"""Timing one function on the GPU (CUDA events) or the CPU (wall clock).

The method, shared by candidates and the eager / ``torch.compile`` baselines:

* every call is preceded, outside the timed region, by ``prepare(i)`` (the
  harness rotates and rolls the input set and flushes the L2 cache with a
  buffer larger than L2). The flush is enqueued, not waited for: while the
  GPU clears the buffer the host enqueues the call, so host launch overhead
  stays out of the measurement as in ``triton.testing.do_bench``;
* the call is bracketed by CUDA events on the current stream. The host waits
  for the end event, reads the clock, then synchronizes the whole device and
  reads it again: the difference (the *tail*) is how long the device stayed
  busy after the end event, i.e. work hidden on another stream or deferred
  past the timed window (REWARD_HACKS.md #3). Honest calls have a tail of a
  few microseconds;
* warm-up and repetitions are by time budget, not counts; the loop stops
  early once the standard error of the mean falls below a target;
* the result is the median with quantiles and the standard error.

The primitives (event class, synchronize, perf_counter) are passed in by the
caller: the worker captures them before a candidate is imported, so a
candidate that patches ``torch.cuda.Event.elapsed_time`` patches nothing the
harness uses (REWARD_HACKS.md #6).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Any, Callable

from cudarwin.types import Timing


@dataclass(frozen=True)
class TimingConfig:
    budget_ms: float = 250.0  # stop once this much time was measured
    warmup_ms: float = 25.0  # untimed calls before measuring
    min_calls: int = 10
    max_calls: int = 500
    target_rse: float = 0.01  # stop early when stderr/mean falls below this...
    min_measured_ms: float = 40.0  # ...and at least this much was measured
    flush_bytes: int = 256 << 20  # L2 flush buffer (H100: 50 MB, H200: 60 MB of L2)


@dataclass(frozen=True)
class Primitives:
    """Clock functions captured before untrusted code runs."""

    perf_counter: Callable[[], float]
    synchronize: Callable[[], None] | None = None  # None on CPU
    event_factory: Callable[[], Any] | None = None  # -> object with record()
    elapsed: Callable[[Any, Any], float] | None = None  # (start, end) -> ms
    wait_event: Callable[[Any], None] | None = None  # blocks until an event has completed


@dataclass(frozen=True)
class TimedRun:
    event_ms: tuple[float, ...]  # per timed call (wall clock on CPU)
    tail_ms: tuple[float, ...]  # per timed call: device busy after the end event (0 on CPU)
    warmup_calls: int


def summarize(samples_ms: list[float] | tuple[float, ...], method: str) -> Timing:
    """Median, quantiles and standard error of a list of per-call times."""
    xs = sorted(samples_ms)
    n = len(xs)
    if n == 0:
        raise ValueError("no samples")
    mean = statistics.fmean(xs)
    sd = statistics.stdev(xs) if n > 1 else 0.0
    return Timing(
        median_ms=statistics.median(xs),
        mean_ms=mean,
        min_ms=xs[0],
        p20_ms=_quantile(xs, 0.2),
        p80_ms=_quantile(xs, 0.8),
        stderr_ms=sd / math.sqrt(n),
        n=n,
        method=method,
    )


def _quantile(sorted_xs: list[float], q: float) -> float:
    pos = q * (len(sorted_xs) - 1)
    lo = int(math.floor(pos))
    hi = min(lo + 1, len(sorted_xs) - 1)
    return sorted_xs[lo] + (sorted_xs[hi] - sorted_xs[lo]) * (pos - lo)


def should_stop(samples: list[float], measured_ms: float, cfg: TimingConfig) -> bool:
    """Adaptive stop: budget spent, call cap reached, or the mean is known well enough."""
    n = len(samples)
    if n >= cfg.max_calls:
        return True
    if measured_ms >= cfg.budget_ms:
        # a very slow function stops after a few calls rather than overrunning the budget
        return n >= cfg.min_calls or (n >= 3 and measured_ms >= 4 * cfg.budget_ms)
    if n < cfg.min_calls or measured_ms < cfg.min_measured_ms:
        return False
    mean = statistics.fmean(samples)
    rse = statistics.stdev(samples) / math.sqrt(n) / mean if mean > 0 else 0.0
    return rse < cfg.target_rse


def time_calls(
    call: Callable[[int], Any],
    prepare: Callable[[int], None],
    prims: Primitives,
    cfg: TimingConfig,
    on_output: Callable[[int, Any], None] | None = None,
) -> TimedRun:
    """Time ``call(i)`` for i = 0, 1, ... as the module docstring describes.

    ``on_output(i, out)`` sees each timed call's output after the device is
    synchronized (the harness clones the ones the driver asked to check).
    """
    i = 0
    warm_start = prims.perf_counter()
    warmup_calls = 0
    while warmup_calls < 2 or (prims.perf_counter() - warm_start) * 1e3 < cfg.warmup_ms:
        prepare(i)
        call(i)
        _sync(prims)
        i += 1
        warmup_calls += 1
        if warmup_calls >= cfg.max_calls:
            break
    events: list[float] = []
    tails: list[float] = []
    measured = 0.0
    while not should_stop(events, measured, cfg):
        if prims.event_factory is not None:
            start, end = prims.event_factory(), prims.event_factory()
            prepare(i)
            start.record()
            out = call(i)
            end.record()
            prims.wait_event(end)
            w1 = prims.perf_counter()
            prims.synchronize()
            tails.append((prims.perf_counter() - w1) * 1e3)
            ms = prims.elapsed(start, end)
        else:
            prepare(i)
            w0 = prims.perf_counter()
            out = call(i)
            ms = (prims.perf_counter() - w0) * 1e3
            tails.append(0.0)
        events.append(ms)
        measured += ms
        if on_output is not None:
            on_output(i, out)
        i += 1
    return TimedRun(tuple(events), tuple(tails), warmup_calls)


def _sync(prims: Primitives) -> None:
    if prims.synchronize is not None:
        prims.synchronize()
