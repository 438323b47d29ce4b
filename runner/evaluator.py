"""The evaluation pipeline: one candidate on one task -> ``Evaluation``.

Stages, cheapest first, stopping at the first failing stage:

1. static checks on the source (no process started);
2. acquire a warm worker from the pool;
3. load: the worker imports the candidate (NVRTC compiles here);
4. correctness: the smallest shape first, then every shape x input variant
   and a hidden shape, each with a secret seed drawn after construction and
   NaN/pattern-poisoned memory; outputs judged in the trusted driver against
   the reference computed from pristine inputs (and in float64);
5. timing: per shape, the timing loop of ``runner.timing`` over rotating,
   rolled input sets, with hidden checks on random timed calls and on the
   last one (a failed check is ``STALE_OUTPUT``);
6. baselines (eager, ``torch.compile``) from the store or measured with the
   same method; 7. flags (roofline); 8. the ``Evaluation``.

This module only orders the stages and owns the shared parts: the worker
pool, the reference cache (``runner.references``), the baselines
(``runner.baseline_service``) and the output channel (``runner.transfer``).
What each stage does is in ``runner.stages``; what it concludes, in
``verifier.judge``. ``Evaluator.evaluate`` never raises for a bad candidate:
every failure is a ``Verdict`` with reason codes. It is thread-safe; one
candidate runs per GPU slot at a time.
"""

from __future__ import annotations

from typing import Any

import torch

from cudarwin.runner.baseline_service import BaselineService, Progress
from cudarwin.runner.baselines import BaselineStore
from cudarwin.runner.eval_config import EvalConfig
from cudarwin.runner.hardware import GpuInfo, gpu_info
from cudarwin.runner.pool import WorkerFailure, WorkerPool
from cudarwin.runner.references import References
from cudarwin.runner.stages import CandidateRun, RunContext
from cudarwin.runner.transfer import OutputTransfer
from cudarwin.types import Candidate, CudarwinError, Evaluation, Task, Timing

__all__ = ["EvalConfig", "Evaluator"]


class Evaluator:
    """Evaluates candidates; owns the worker pool, the reference cache and the baselines."""

    def __init__(self, config: EvalConfig = EvalConfig()):
        self.config = config
        if config.device == "cuda":
            if not torch.cuda.is_available():
                raise CudarwinError(
                    "no CUDA GPU is visible",
                    hint="use --device cpu for torch-level candidates, or --compile-only to check CUDA compiles",
                )
            gpus = list(config.gpus) or list(range(torch.cuda.device_count()))
        elif config.device == "cpu":
            gpus = []
        else:
            raise CudarwinError(f"unknown device {config.device!r}", hint="use cuda or cpu")
        self.gpus = gpus
        spares = config.spare_workers if config.device == "cuda" else 1
        self.pool = WorkerPool(config.device, gpus, spares=spares)
        self.gpu: GpuInfo | None = None
        if config.device == "cuda":
            probe = gpu_info(gpus[0])
            self.store = BaselineStore(probe.slug, write_dir=config.baseline_dir)
            self.gpu = gpu_info(gpus[0], self.store.ceilings)
        else:
            self.store = BaselineStore("cpu", write_dir=config.baseline_dir)
        self.references = References()
        self.transfer = OutputTransfer(config.ipc_outputs and config.device == "cuda")
        self.baselines = BaselineService(config, self.store, gpus)
        self._context = RunContext(config, self.references, self.transfer, self.baselines, self.gpu)

    def __enter__(self) -> "Evaluator":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.pool.close()
        self.baselines.close()

    def evaluate(self, task: Task, candidate: Candidate) -> Evaluation:
        """Judge, time and score one candidate. Never raises for a bad candidate."""
        run = CandidateRun(task, candidate, self._context)
        if not run.static():
            return run.result()
        with run.timed("acquire"):
            worker = self.pool.acquire()
        try:
            if run.load(worker) and run.correctness(worker) and self.config.time_candidates and run.timing(worker):
                run.baselines()
                run.flags()
        except WorkerFailure as err:
            run.failed(err)
        finally:
            self.pool.release(worker)
        return run.result()

    def baseline(self, task: Task, shape_index: int, mode: str, shape_indices: list[int] | None = None) -> Timing | None:
        """The eager or compile baseline of one shape, measured if not stored (see ``BaselineService``)."""
        return self.baselines.baseline(task, shape_index, mode, shape_indices)

    def missing_compile(self, tasks: list[Task], headline_only: bool = False) -> list[tuple[Task, list[int]]]:
        """(task, shape indices) whose ``torch.compile`` baseline is still to measure: work for ``precompile``."""
        return self.baselines.missing_compile(tasks, headline_only)

    def precompile(self, work: list[tuple[Task, list[int]]], jobs: int, progress: Progress | None = None) -> int:
        """Compile the suite's ``torch.compile`` baselines ahead, ``jobs`` tasks at a time; returns how many did."""
        return self.baselines.precompile(work, jobs, progress)

    def hidden_shape(self, task: Task, device: torch.device) -> dict[str, Any] | None:
        """A secret shape not in ``SHAPES`` for this evaluation, or None (see ``References.hidden_shape``)."""
        if not self.config.hidden_shapes:
            return None
        return self.references.hidden_shape(task, device)

    @property
    def ipc(self) -> bool:
        """Whether outputs travel through CUDA IPC (turned off for good if a descriptor fails)."""
        return self.transfer.ipc

    @property
    def ipc_error(self) -> str:
        return self.transfer.error
