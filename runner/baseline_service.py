"""Measuring eager and ``torch.compile`` baselines with the candidates' timing method.

Baselines come from the ``BaselineStore`` when known; a missing one is
measured in a baseline worker (trusted code only, so one worker serves task
after task) with the same timing loop, input sets and flush as a candidate,
and stored. ``torch.compile`` is CPU work that must not run next to a
timing: ``precompile`` fills the shared inductor cache first, several tasks
in parallel, so the timing worker later finds every graph compiled.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

from cudarwin.runner.baselines import BaselineStore
from cudarwin.runner.eval_config import EvalConfig
from cudarwin.runner.pool import Worker, WorkerFailure, WorkerPool
from cudarwin.runner.protocol import Kind, LoadRequest, RunRequest, TimeRequest
from cudarwin.runner.references import input_sets
from cudarwin.runner.timing import summarize
from cudarwin.types import Reason, Task, Timing
from cudarwin.verifier.inputs import InputRecipe, secret_seed

Progress = Callable[[int, int, Task], None]  # (tasks done, tasks in all, the task just done)


class BaselineService:
    """Baselines of one evaluator: looked up in ``store``, measured on its first GPU when missing."""

    def __init__(self, config: EvalConfig, store: BaselineStore, gpus: list[int]):
        self.config = config
        self.store = store
        self.gpus = gpus
        self._pool: WorkerPool | None = None  # started on first use
        self._worker: Worker | None = None  # kept between tasks (trusted code only)
        self._lock = threading.Lock()

    def baseline(self, task: Task, shape_index: int, mode: str, shape_indices: list[int] | None = None) -> Timing | None:
        """The eager or compile baseline of one shape, measured if not stored.

        A missing baseline is measured for ``shape_indices`` (default: every
        shape of the task) in one worker, and the store is saved.
        """
        if not self.store.missing(task, shape_index, mode):
            return self.store.get(task, shape_index, mode)
        with self._lock:
            if self.store.missing(task, shape_index, mode):
                todo = [i for i in (shape_indices or range(len(task.shapes))) if self.store.missing(task, i, mode)]
                self._measure(task, mode, todo or [shape_index])
                self.store.save()
            return self.store.get(task, shape_index, mode)

    def missing_compile(self, tasks: list[Task], headline_only: bool = False) -> list[tuple[Task, list[int]]]:
        """(task, shape indices) whose ``torch.compile`` baseline is still to measure: work for ``precompile``."""
        work = [(t, [i for i in (range(1) if headline_only else range(len(t.shapes)))
                     if self.store.missing(t, i, "compile")]) for t in tasks]
        return [(t, idx) for t, idx in work if idx]

    def precompile(self, work: list[tuple[Task, list[int]]], jobs: int, progress: Progress | None = None) -> int:
        """Fill the shared inductor cache for ``torch.compile`` baselines, ``jobs`` tasks at a time.

        Each task's workers run each shape once. Returns how many tasks
        compiled; a failure only means the timing worker compiles that task
        itself, and a compile past its deadline is recorded as unavailable.
        """
        if not work:
            return 0
        pool = WorkerPool(self.config.device, self.gpus[:1] * max(1, jobs), spares=1, extra_env=inductor_env())
        done = [0]
        lock = threading.Lock()

        def one(item: tuple[Task, list[int]]) -> bool:
            task, indices = item
            worker = pool.acquire()
            i = indices[0]
            try:
                worker.request(LoadRequest(str(task.path), Kind.COMPILE), self.config.deadline_load_s)
                for i in indices:
                    obs = worker.request(RunRequest(InputRecipe(i, secret_seed()), ipc=True), self.config.deadline_compile_s)
                    if obs.fault is not None:
                        return False
                return True
            except WorkerFailure as err:
                if err.code is Reason.TIMEOUT:  # nobody should wait for this compile again
                    for j in indices[indices.index(i):]:
                        self.store.put_unavailable(
                            task, j, "compile", f"torch.compile took over {self.config.deadline_compile_s:.0f} s")
                return False
            finally:
                pool.release(worker)
                with lock:
                    done[0] += 1
                    if progress is not None:
                        progress(done[0], len(work), task)

        try:
            with ThreadPoolExecutor(max_workers=max(1, jobs)) as ex:
                return sum(ex.map(one, work))
        finally:
            pool.close()

    @property
    def started(self) -> bool:
        """Whether a baseline worker was ever started (measuring is lazy)."""
        return self._pool is not None

    @property
    def kept_worker(self) -> Worker | None:
        """The healthy baseline worker kept for the next task, if any."""
        return self._worker

    def close(self) -> None:
        if self._worker is not None:
            self._worker.dispose()
            self._worker = None
        if self._pool is not None:
            self._pool.close()

    def _workers(self) -> WorkerPool:
        """Warm workers for baselines: trusted code only, sharing one inductor cache."""
        if self._pool is None:
            self._pool = WorkerPool(self.config.device, self.gpus[:1], spares=2, extra_env=inductor_env())
        return self._pool

    def _measure(self, task: Task, mode: str, shape_indices: list[int]) -> None:
        """Time the reference (eager or compiled) in the baseline worker; a worker that fails is replaced."""
        cfg = self.config
        pool = self._workers()
        worker = self._worker or pool.acquire()
        self._worker = None
        healthy = False
        try:
            loaded = worker.request(LoadRequest(str(task.path), Kind(mode)), cfg.deadline_load_s)
            if loaded.fault is not None:
                raise WorkerFailure(loaded.fault.code, loaded.fault.message)
            for i in shape_indices:
                sets = input_sets(task, i, cfg.input_sets, cfg.input_set_bytes)
                recipes = tuple(InputRecipe(i, secret_seed()) for _ in range(sets))
                # the first call of a compiled model compiles it: bounded, or the suite waits for hours
                deadline = cfg.deadline_baseline_s
                if mode == "compile":
                    deadline = min(deadline, cfg.deadline_compile_s + 120.0)
                try:
                    obs = worker.request(TimeRequest(i, recipes, cfg.timing), deadline)
                except WorkerFailure as err:
                    if mode == "compile" and err.code is Reason.TIMEOUT:
                        self.store.put_unavailable(task, i, mode, f"torch.compile and timing took over {deadline:.0f} s")
                    raise
                if obs.fault is None:
                    self.store.put(task, i, mode, summarize(obs.event_ms, obs.method))
                elif obs.fault.fatal:
                    raise WorkerFailure(obs.fault.code, obs.fault.message)
            healthy = True
        except WorkerFailure:
            pass  # a baseline that cannot be measured stays missing; speedups show as n/a
        finally:
            if healthy:
                self._worker = worker
            else:
                pool.release(worker)


def inductor_env() -> dict[str, str]:
    """One inductor and Triton cache for every baseline worker (their HOME and TMPDIR are private)."""
    cache = Path.home() / ".cache" / "cudarwin" / "inductor"
    return {"TORCHINDUCTOR_CACHE_DIR": str(cache), "TRITON_CACHE_DIR": str(cache / "triton")}
