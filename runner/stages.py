"""The stages of one candidate's evaluation: what each sends, and what it asks the verifier.

Each stage method requests observations from the worker, computes the
references they are judged against (``runner.references``), hands both to
``verifier.judge`` and records what it said; ``result`` hands everything to
the one ``Evaluation`` builder. The order of the stages is the evaluator's
(``runner/evaluator.py``); what a run needs from the evaluator it gets as
explicit collaborators (``RunContext``), never by reaching back into it.
"""

from __future__ import annotations

import random
import secrets
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator

import torch

from cudarwin import __version__
from cudarwin.runner.baseline_service import BaselineService
from cudarwin.runner.eval_config import EvalConfig
from cudarwin.runner.hardware import GpuInfo, floor_ms
from cudarwin.runner.pool import Worker, WorkerFailure
from cudarwin.runner.protocol import Kind, LoadRequest, RunRequest, TimeRequest
from cudarwin.runner.references import References, input_bytes, input_sets
from cudarwin.runner.timing import summarize
from cudarwin.runner.transfer import OutputTransfer
from cudarwin.types import Candidate, CompileReport, Evaluation, ReasonItem, Shape, Stage, Task, Timing
from cudarwin.verifier.compare import flatten_outputs
from cudarwin.verifier.inputs import InputRecipe, Variant, secret_seed
from cudarwin.verifier.judge import (
    Rules, TrialOutcome, correctness_reasons, judge_load, judge_timed, judge_trial, roofline_flags,
)
from cudarwin.verifier.static import check_source
from cudarwin.verifier.verdict import build_evaluation, shape_results

# Poison patterns for memory the candidate may read without writing: NaN, then
# a large finite value (an unwritten output that survives one pattern fails the other).
POISON_VALUES = (float("nan"), 7.7e29)


@dataclass(frozen=True)
class RunContext:
    """What an evaluation uses of its evaluator, shared by concurrent evaluations."""

    config: EvalConfig
    references: References
    transfer: OutputTransfer
    baselines: BaselineService
    gpu: GpuInfo | None  # None on the CPU


class CandidateRun:
    """One evaluation in progress: stage times, trial outcomes and timings, for the builder.

    Every stage method returns whether the evaluation goes on; a stage that
    rejects leaves its reasons and its ``Stage`` for ``result``.
    """

    def __init__(self, task: Task, candidate: Candidate, ctx: RunContext):
        cfg = ctx.config
        self.task, self.candidate, self.ctx, self.cfg = task, candidate, ctx, cfg
        self.rules = Rules(policy=cfg.policy, needs_kernel=cfg.device == "cuda", atol=task.meta.atol,
                           rtol=task.meta.rtol, side_stream_gap_ms=cfg.side_stream_gap_ms,
                           roofline_margin=cfg.roofline_margin)
        self.stage = Stage.STATIC  # where a worker failure now would be attributed
        self.reasons: tuple[ReasonItem, ...] = ()
        self.stages: dict[str, float] = {}
        self.all_shapes: list[Shape] = list(task.shapes)  # plus the hidden shape, once drawn
        self.trials: list[TrialOutcome] = []
        self.timings: dict[int, Timing] = {}
        self.compile: CompileReport | None = None
        self.flag_items: tuple[ReasonItem, ...] = ()
        self.baseline_timings: dict[tuple[int, str], Timing | None] = {}

    @contextmanager
    def timed(self, name: str) -> Iterator[None]:
        """Add the wall time of the block to stage ``name``."""
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.stages[name] = self.stages.get(name, 0.0) + time.perf_counter() - t0

    def _reject(self, stage: Stage, reasons: tuple[ReasonItem, ...]) -> bool:
        self.stage, self.reasons = stage, tuple(reasons)
        return not reasons

    # -------------------------------------------------------------- stages
    def static(self) -> bool:
        """Static checks on the source; with ``static_checks`` off their findings are ignored."""
        with self.timed("static"):
            static = check_source(self.candidate.source, policy=self.cfg.policy)
        if static.ok or not self.cfg.static_checks:
            return True
        return self._reject(Stage.STATIC, static.reasons)

    def load(self, worker: Worker) -> bool:
        """The worker imports the candidate (NVRTC compiles here); the hidden shape is drawn first."""
        self.stage = Stage.COMPILE
        path = worker.tmpdir / "candidate.py"
        path.write_text(self.candidate.source)
        if self.cfg.hidden_shapes:
            hidden = self.ctx.references.hidden_shape(self.task, self._device(worker))
            if hidden is not None:
                self.all_shapes.append(hidden)
        request = LoadRequest(str(self.task.path), Kind.CANDIDATE, str(path), self.cfg.policy,
                              tuple(dict(s) for s in self.all_shapes[len(self.task.shapes):]))
        with self.timed("load"):
            obs = worker.request(request, self.cfg.deadline_load_s)
        loaded = judge_load(obs, self._arch(), self.stages["load"])
        self.compile = loaded.compile
        return self._reject(loaded.stage, loaded.reasons)

    def correctness(self, worker: Worker) -> bool:
        """Every trial, each request sent before its reference is computed where the poison size is known."""
        self.stage = Stage.CORRECTNESS
        with self.timed("correctness"):
            device = self._device(worker)
            n_listed = len(self.task.shapes)
            out_bytes: dict[int, int] = {}  # output size per shape, known after its first trial
            for n, recipe in enumerate(self._trials()):
                i = recipe.shape_index
                poison = POISON_VALUES[n % 2]
                if i in out_bytes:  # send first: the reference is computed while the worker runs
                    request = RunRequest(recipe, out_bytes[i], poison, self.ctx.transfer.ipc)
                    pending = worker.send(request)
                    ref, ref64 = self._expected(recipe, device)
                else:  # the poison must cover the output, whose size the reference tells
                    ref, ref64 = self._expected(recipe, device)
                    out_bytes[i] = 2 * _nbytes(ref) + (1 << 20)
                    request = RunRequest(recipe, out_bytes[i], poison, self.ctx.transfer.ipc)
                    pending = worker.send(request)
                obs = self.ctx.transfer.collect(worker, request, worker.reply(pending, self.cfg.deadline_run_s), device,
                                                self.cfg.deadline_run_s)
                outcome = judge_trial(obs, ref, ref64, recipe, self.all_shapes[i], i < n_listed, self.rules)
                self.trials.append(outcome)
                if outcome.fatal:
                    break
        return self._reject(Stage.CORRECTNESS, correctness_reasons(self.trials, n_listed))

    def timing(self, worker: Worker) -> bool:
        """Per listed shape, the timing loop with hidden checks on random timed calls."""
        self.stage = Stage.TIMING
        with self.timed("timing"):
            device = self._device(worker)
            cfg, timing = self.cfg, self.cfg.timing
            for i in range(len(self.task.shapes)):
                seeds = [secret_seed() for _ in range(input_sets(self.task, i, cfg.input_sets, cfg.input_set_bytes))]
                checks = sorted(random.Random(secrets.randbits(32)).sample(
                    range(timing.min_calls), min(cfg.timed_checks, timing.min_calls)))
                request = TimeRequest(i, tuple(InputRecipe(i, s) for s in seeds), timing, tuple(checks),
                                      self.ctx.transfer.ipc)
                obs = self.ctx.transfer.collect(worker, request, worker.request(request, cfg.deadline_time_s), device,
                                                cfg.deadline_time_s)
                timed = judge_timed(obs, i, seeds, lambda r: self._expected(r, device), self.rules)
                if timed.reasons:
                    return self._reject(timed.stage, timed.reasons)
                self.timings[i] = summarize(obs.event_ms, obs.method)
        return True

    def baselines(self) -> None:
        """Eager and compile timings of every listed shape, stored or measured."""
        with self.timed("baselines"):
            for mode in self.cfg.baselines:
                for i in range(len(self.task.shapes)):
                    self.baseline_timings[(i, mode)] = self.ctx.baselines.baseline(self.task, i, mode)

    def flags(self) -> None:
        """Findings that do not reject: times below the roofline floor."""
        timings = [self.timings.get(i) for i in range(len(self.task.shapes))]
        self.flag_items = roofline_flags(timings, self._floors(), self.rules.roofline_margin)

    def failed(self, err: WorkerFailure) -> None:
        """The worker stopped answering (timeout, crash, exit, flood) during the current stage."""
        self._reject(self.stage, (ReasonItem(err.code, err.message),))

    def result(self) -> Evaluation:
        gpu = self.ctx.gpu
        return build_evaluation(
            task=self.task.name, candidate_id=self.candidate.id, policy=self.cfg.policy, device=self.cfg.device,
            reasons=self.reasons, stage=self.stage, gpu=gpu.name if gpu else "",
            shapes=shape_results(self.task.shapes, self.trials, self.timings, self.baseline_timings, self._floors()),
            compile=self.compile, stage_seconds=tuple(self.stages.items()), flags=self.flag_items, env=environment(gpu),
        )

    # -------------------------------------------------------------- helpers
    def _device(self, worker: Worker) -> torch.device:
        """Where the driver computes references: the worker's GPU, or the CPU."""
        return torch.device("cuda", worker.gpu) if self.cfg.device == "cuda" else torch.device("cpu")

    def _expected(self, recipe: InputRecipe, device: torch.device):
        """The reference pair of a recipe on its shape (listed or hidden), computed in the driver."""
        return self.ctx.references.expected(self.task, self.all_shapes[recipe.shape_index], recipe, device)

    def _arch(self) -> str:
        gpu = self.ctx.gpu
        return "cpu" if gpu is None else "sm_" + gpu.capability.replace(".", "")

    def _trials(self) -> list[InputRecipe]:
        """The smallest shape first (cheap failures first), then every shape x variant, then the hidden one."""
        order = sorted(range(len(self.task.shapes)), key=lambda i: input_bytes(self.task, i))
        trials = [InputRecipe(order[0], secret_seed(), self.cfg.variants[0])]
        for i in range(len(self.task.shapes)):
            for k, variant in enumerate(self.cfg.variants):
                if i == order[0] and k == 0:
                    continue
                trials.append(InputRecipe(i, secret_seed(), variant))
        for h in range(len(self.task.shapes), len(self.all_shapes)):
            trials.append(InputRecipe(h, secret_seed(), Variant.NORMAL))
        return trials

    def _floors(self) -> list[float | None]:
        """The roofline floor of each listed shape in ms (GPU only)."""
        gpu = self.ctx.gpu
        if self.cfg.device != "cuda" or gpu is None:
            return [None] * len(self.task.shapes)
        meta = self.task.meta
        return [floor_ms(meta.flops, meta.bytes, dict(s), gpu.bandwidth, gpu.peak_flops) for s in self.task.shapes]


def _nbytes(out: Any) -> int:
    return sum(t.numel() * t.element_size() for t in flatten_outputs(out) if isinstance(t, torch.Tensor))


def environment(gpu: GpuInfo | None) -> tuple[tuple[str, str], ...]:
    """Versions an evaluation was obtained with: cudarwin, torch and, on a GPU, CUDA and the driver."""
    env = {"cudarwin": __version__, "torch": torch.__version__}
    if gpu is not None:
        env["gpu"] = gpu.name
        env["cuda"] = str(torch.version.cuda)
        try:
            import cupy

            env["driver"] = str(cupy.cuda.runtime.driverGetVersion())
        except Exception:
            pass
    return tuple(env.items())
