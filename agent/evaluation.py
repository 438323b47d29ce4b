"""Evaluations for the search: off the event loop, once per candidate, stored.

The evaluator is blocking (it drives worker processes and GPUs), so it runs
in a thread pool sized to the number of evaluation workers while the event
loop keeps talking to LLMs. A candidate already evaluated in this run (or in
the run being resumed) is never evaluated again.
"""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable

from cudarwin.agent.store import RunStore
from cudarwin.types import Candidate, Evaluation, Task

EvaluateFn = Callable[[Task, Candidate], Evaluation]
PostFn = Callable[[Task, Candidate, Evaluation], Evaluation]  # e.g. the LLM review


@dataclass(frozen=True)
class Outcome:
    evaluation: Evaluation
    reused: bool  # True when it came from the store, not the evaluator


class EvalService:
    """Async front of a blocking ``evaluate(task, candidate)``."""

    def __init__(self, evaluate: EvaluateFn, store: RunStore, *, workers: int = 1, post: PostFn | None = None):
        self._evaluate = evaluate
        self._post = post
        self.store = store
        self._pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="cudarwin-eval")
        self._pending: dict[tuple[str, str], asyncio.Future[Evaluation]] = {}
        self.workers = max(1, workers)
        self.evaluated = 0  # evaluations actually run in this process
        self.busy_s = 0.0  # wall time spent inside the evaluator, summed over workers
        self._lock = threading.Lock()

    async def evaluate(self, task: Task, candidate: Candidate) -> Outcome:
        key = (task.name, candidate.id)
        known = self.store.evaluation(*key)
        if known is not None:
            return Outcome(known, reused=True)
        if key in self._pending:  # the same source proposed twice at once: one evaluation
            return Outcome(await asyncio.shield(self._pending[key]), reused=True)
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._pool, self._evaluate_and_store, task, candidate)
        self._pending[key] = future
        try:
            evaluation = await future
        finally:
            del self._pending[key]
        return Outcome(evaluation, reused=False)

    def _evaluate_and_store(self, task: Task, candidate: Candidate) -> Evaluation:
        # Stored from the worker thread, so a result is kept even when the run
        # is stopping and nobody awaits it any more.
        start = time.perf_counter()
        evaluation = self._evaluate(task, candidate)
        busy = time.perf_counter() - start
        if self._post is not None:
            evaluation = self._post(task, candidate, evaluation)
        self.store.add_evaluation(evaluation)
        with self._lock:
            self.evaluated += 1
            self.busy_s += busy
        return evaluation

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
