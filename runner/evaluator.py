"""The evaluation pipeline: one candidate on one task -> ``Evaluation``.

Stages, cheapest first, stopping at the first failing stage:

1. static checks on the source (no process started);
2. load: a warm worker imports the candidate (NVRTC compiles here);
3. correctness: the smallest shape first, then every shape x input variant,
   each with a secret seed drawn after construction and NaN/pattern-poisoned
   memory; outputs judged here, in the trusted driver, against the reference
   computed from pristine inputs (and in float64);
4. timing: per shape, the timing loop of ``runner.timing`` over rotating,
   rolled input sets, with hidden checks on random timed calls and on the
   last one (a failed check is ``STALE_OUTPUT``);
5. baselines (eager, ``torch.compile``) from the store or measured in fresh
   workers with the same method; speedups; roofline flags.

``Evaluator.evaluate`` never raises for a bad candidate: every failure is a
``Verdict`` with reason codes. It is thread-safe; one candidate runs per GPU
slot at a time.
"""

from __future__ import annotations

import copy
import json
import random
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch

from cudarwin import __version__
from cudarwin.runner.baselines import BaselineStore
from cudarwin.runner.hardware import GpuInfo, default_ceilings, floor_ms, gpu_info
from cudarwin.runner.ipc import IpcError, import_outputs
from cudarwin.runner.pool import Worker, WorkerFailure, WorkerPool
from cudarwin.runner.protocol import Kind, LoadRequest, RunRequest, TimeRequest
from cudarwin.runner.timing import TimingConfig, summarize
from cudarwin.tasks import import_task, make_inputs, make_model
from cudarwin.types import (
    CompileReport, Candidate, CudarwinError, Evaluation, Policy, Reason, ReasonItem, Shape, Stage, Task, Timing,
)
from cudarwin.verifier.compare import flatten_outputs
from cudarwin.verifier.inputs import (
    DEFAULT_VARIANTS, InputRecipe, Variant, apply_variant, flat_tensors, roll_inputs, secret_seed, to_double,
)
from cudarwin.verifier.judge import (
    Rules, TrialOutcome, correctness_reasons, judge_load, judge_timed, judge_trial, roofline_flags,
)
from cudarwin.verifier.observations import RunObservation
from cudarwin.verifier.static import check_source
from cudarwin.verifier.verdict import build_evaluation, shape_results

_REFERENCE_CACHE = 24  # reference models kept (about 3 shapes x 8 tasks)

# Poison patterns for memory the candidate may read without writing: NaN, then
# a large finite value (an unwritten output that survives one pattern fails the other).
POISON_VALUES = (float("nan"), 7.7e29)



@dataclass(frozen=True)
class EvalConfig:
    """How candidates are evaluated. Defaults are what ``cudarwin check`` uses."""

    device: str = "cuda"  # "cuda" or "cpu"
    policy: Policy = Policy.STRICT
    gpus: tuple[int, ...] = ()  # () = every visible GPU, one worker slot each
    variants: tuple[Variant, ...] = DEFAULT_VARIANTS  # correctness trials per shape
    time_candidates: bool = True
    baselines: tuple[str, ...] = ("eager", "compile")  # measured with the same method
    timing: TimingConfig = TimingConfig()
    timed_checks: int = 2  # hidden checks among the timed calls (plus the last call)
    input_sets: int = 3  # rotating input sets per timing loop (fewer if memory is short)
    input_set_bytes: int = 2 << 30  # memory budget for the rotating sets
    deadline_load_s: float = 180.0
    deadline_run_s: float = 60.0
    deadline_time_s: float = 300.0
    deadline_baseline_s: float = 900.0
    deadline_compile_s: float = 150.0  # torch.compile of one shape; longer: that baseline is n/a
    side_stream_gap_ms: float = 0.05  # device busy this long after the end event: hidden work
    roofline_margin: float = 0.8  # faster than this fraction of the floor is flagged
    baseline_dir: Path | None = None  # where measured baselines are written
    hidden_shapes: bool = True  # also check one secret shape not listed in SHAPES
    static_checks: bool = True  # off only to test the harness's run-time defenses
    spare_workers: int = 5  # warm workers kept per GPU slot (1 on CPU): start-up (~5 s) outlasts an evaluation
    ipc_outputs: bool = True  # GPU outputs reach the driver through CUDA IPC (else over the socket)


class Evaluator:
    """Evaluates candidates; owns the worker pool and the reference cache."""

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
        self._baseline_pool: WorkerPool | None = None  # started on first use
        self._baseline_worker: Worker | None = None  # kept between tasks (trusted code only)
        self.ipc = config.ipc_outputs and config.device == "cuda" and _cupy_available()
        self.ipc_error = ""  # why IPC was turned off, if it was
        self._refs: OrderedDict[tuple, Any] = OrderedDict()
        self._ref_lock = threading.Lock()
        self._baseline_lock = threading.Lock()

    # ---------------------------------------------------------------- public
    def __enter__(self) -> "Evaluator":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.pool.close()
        if self._baseline_worker is not None:
            self._baseline_worker.dispose()
            self._baseline_worker = None
        if self._baseline_pool is not None:
            self._baseline_pool.close()

    def evaluate(self, task: Task, candidate: Candidate) -> Evaluation:
        """Judge, time and score one candidate. Never raises for a bad candidate."""
        run = _Run(self, task, candidate)
        t0 = time.perf_counter()
        static = check_source(candidate.source, policy=self.config.policy)
        run.stage_time("static", t0)
        if not static.ok and self.config.static_checks:
            return run.result(Stage.STATIC, static.reasons)
        t1 = time.perf_counter()
        worker = self.pool.acquire()
        run.stage_time("acquire", t1)
        try:
            return run.judge(worker)
        except WorkerFailure as err:
            return run.result(run.stage, (ReasonItem(err.code, err.message),))
        finally:
            self.pool.release(worker)

    def baseline(self, task: Task, shape_index: int, mode: str, shape_indices: list[int] | None = None) -> Timing | None:
        """The eager or compile baseline of one shape, measured if not stored.

        A missing baseline is measured for ``shape_indices`` (default: every
        shape of the task) in one fresh worker, and the store is saved.
        """
        if not self.store.missing(task, shape_index, mode):
            return self.store.get(task, shape_index, mode)
        with self._baseline_lock:
            if self.store.missing(task, shape_index, mode):
                todo = [i for i in (shape_indices or range(len(task.shapes))) if self.store.missing(task, i, mode)]
                self._measure_baselines(task, mode, todo or [shape_index])
                self.store.save()
            return self.store.get(task, shape_index, mode)

    # ---------------------------------------------------------------- internals
    def driver_device(self, worker: Worker) -> torch.device:
        return torch.device("cuda", worker.gpu) if self.config.device == "cuda" else torch.device("cpu")

    def reference(self, task: Task, shape: Shape, device: torch.device):
        """(module, float model, float64 model) for one shape, kept in a small LRU cache.

        Bounded because every evaluation draws a new hidden shape, and a long
        search would otherwise keep a reference model per draw on the GPU.
        """
        key = (task.id, _shape_key(shape), str(device))
        with self._ref_lock:
            if key in self._refs:
                self._refs.move_to_end(key)
                return self._refs[key]
        module = import_task(task)
        model = make_model(module, shape, device=device)
        entry = (module, model, copy.deepcopy(model).double())
        with self._ref_lock:
            self._refs[key] = entry
            while len(self._refs) > _REFERENCE_CACHE:
                self._refs.popitem(last=False)
        return entry

    def expected(self, task: Task, shape: Shape, recipe: InputRecipe, device: torch.device):
        """Reference outputs (native dtype, float64) for a recipe on ``shape``, computed here."""
        module, model, model64 = self.reference(task, shape, device)
        inputs = build_inputs(module, shape, recipe, device)
        with torch.no_grad():
            ref = model(*inputs)
            try:
                ref64 = model64(*to_double(inputs))
            except Exception:  # a reference that cannot run in float64 is judged against itself
                ref64 = ref
        return ref, ref64

    def ipc_failed(self, err: Exception) -> None:
        """Outputs travel over the socket from now on: IPC does not work here."""
        self.ipc = False
        self.ipc_error = str(err)

    def _baseline_workers(self) -> WorkerPool:
        """Warm workers for baselines: trusted code only, sharing one inductor cache."""
        if self._baseline_pool is None:
            self._baseline_pool = WorkerPool(self.config.device, self.gpus[:1], spares=2, extra_env=_inductor_env())
        return self._baseline_pool

    def missing_compile(self, tasks: list[Task], headline_only: bool = False) -> list[tuple[Task, list[int]]]:
        """(task, shape indices) whose ``torch.compile`` baseline is still to measure: work for ``precompile``."""
        work = [(t, [i for i in (range(1) if headline_only else range(len(t.shapes)))
                     if self.store.missing(t, i, "compile")]) for t in tasks]
        return [(t, idx) for t, idx in work if idx]

    def precompile(self, work: list[tuple[Task, list[int]]], jobs: int, progress=None) -> int:
        """Fill the shared inductor cache for ``torch.compile`` baselines, ``jobs`` tasks at a time.

        Compiling is CPU work; timing must run alone on the GPU. So the suite's
        models are compiled first, in parallel workers that run each shape
        once, and the timing workers later find every graph in the cache.
        Returns how many tasks compiled; a failure only means the timing
        worker compiles that task itself.
        """
        if not work:
            return 0
        from concurrent.futures import ThreadPoolExecutor

        pool = WorkerPool(self.config.device, self.gpus[:1] * max(1, jobs), spares=1, extra_env=_inductor_env())
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

    def _measure_baselines(self, task: Task, mode: str, shape_indices: list[int]) -> None:
        """Time the reference (eager or compiled) in a baseline worker, as candidates are timed.

        Baseline workers run trusted code only, so one serves task after task
        (start-up would otherwise dominate a suite's baselines); a worker that
        fails is replaced.
        """
        pool = self._baseline_workers()
        worker = self._baseline_worker or pool.acquire()
        self._baseline_worker = None
        healthy = False
        try:
            loaded = worker.request(LoadRequest(str(task.path), Kind(mode)), self.config.deadline_load_s)
            if loaded.fault is not None:
                raise WorkerFailure(loaded.fault.code, loaded.fault.message)
            for i in shape_indices:
                recipes = tuple(InputRecipe(i, secret_seed()) for _ in range(self._input_sets(task, i)))
                # the first call of a compiled model compiles it: bounded, or the suite waits for hours
                deadline = self.config.deadline_baseline_s
                if mode == "compile":
                    deadline = min(deadline, self.config.deadline_compile_s + 120.0)
                try:
                    obs = worker.request(TimeRequest(i, recipes, self.config.timing), deadline)
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
                self._baseline_worker = worker
            else:
                pool.release(worker)

    def hidden_shape(self, task: Task, device: torch.device) -> dict[str, Any] | None:
        """A shape not listed in ``SHAPES``, drawn anew for every evaluation (REWARD_HACKS #11).

        The smallest listed shape with its integer sizes moved by small random
        amounts (all at once, else one at a time), kept only if the reference
        runs on it and gives finite output: tasks whose sizes are tied to each
        other simply get fewer or no hidden shapes. Only sizes that differ
        between the listed shapes move.
        """
        if not self.config.hidden_shapes:
            return None
        base = dict(task.shapes[min(range(len(task.shapes)), key=lambda i: _input_bytes(task, i))])
        # only sizes the task itself varies across SHAPES: a size fixed in every shape (a head
        # dimension, say) is part of the problem, and kernels may rely on it
        varying = {k for k in base if len({_shape_key({"v": dict(s).get(k)}) for s in task.shapes}) > 1}
        ints = [k for k, v in base.items()
                if k in varying and isinstance(v, int) and not isinstance(v, bool) and v >= 2]
        rng = random.Random(secrets.randbits(64))
        tries = [ints] + [[k] for k in rng.sample(ints, len(ints))]
        listed = {_shape_key(s) for s in task.shapes}
        for keys in tries:
            shape = {**base, **{k: base[k] + rng.choice((1, 2, 3, 5)) for k in keys}}
            if keys and _shape_key(shape) not in listed and self._runs(task, shape, device):
                return shape
        return None

    def _runs(self, task: Task, shape: Shape, device: torch.device) -> bool:
        try:
            ref, _ = self.expected(task, shape, InputRecipe(0, secret_seed()), device)
        except Exception:  # the task does not accept this size: no hidden shape from it
            return False
        return all(bool(torch.isfinite(t).all()) for t in flatten_outputs(ref)
                   if isinstance(t, torch.Tensor) and t.is_floating_point())

    def _input_sets(self, task: Task, shape_index: int) -> int:
        nbytes = _input_bytes(task, shape_index)
        if nbytes <= 0:
            return self.config.input_sets
        fit = int(self.config.input_set_bytes // max(nbytes, 1))
        return max(2, min(self.config.input_sets, fit))

    def ceilings(self) -> tuple[float, float]:
        if self.gpu is not None:
            return self.gpu.bandwidth, self.gpu.peak_flops
        return default_ceilings("cpu")


_INPUT_BYTES: dict[tuple[str, int], int] = {}


def _input_bytes(task: Task, shape_index: int) -> int:
    key = (task.id, shape_index)
    if key not in _INPUT_BYTES:
        module = import_task(task)
        try:  # sizes without allocating: most tasks' get_inputs runs on the meta device
            inputs = make_inputs(module, task.shapes[shape_index], seed=0, device="meta")
        except Exception:
            inputs = make_inputs(module, task.shapes[shape_index], seed=0, device="cpu")
        _INPUT_BYTES[key] = sum(t.numel() * t.element_size() for t in flat_tensors(inputs))
    return _INPUT_BYTES[key]


def _inductor_env() -> dict[str, str]:
    """One inductor and Triton cache for every baseline worker (their HOME and TMPDIR are private)."""
    cache = Path.home() / ".cache" / "cudarwin" / "inductor"
    return {"TORCHINDUCTOR_CACHE_DIR": str(cache), "TRITON_CACHE_DIR": str(cache / "triton")}


def _cupy_available() -> bool:
    try:
        from cupy_backends.cuda.api import runtime  # noqa: F401
    except Exception:  # noqa: BLE001
        return False
    return True


def _shape_key(shape: Shape) -> str:
    return json.dumps(dict(shape), sort_keys=True, default=str)


def build_inputs(module, shape: Shape, recipe: InputRecipe, device: torch.device) -> list:
    """The inputs a recipe denotes on ``shape``; the worker builds the same ones."""
    inputs = make_inputs(module, shape, seed=recipe.seed, device=device)
    return roll_inputs(apply_variant(inputs, recipe.variant), recipe.roll)


def _nbytes(out: Any) -> int:
    return sum(t.numel() * t.element_size() for t in flatten_outputs(out) if isinstance(t, torch.Tensor))


class _Run:
    """One evaluation in progress: stage times, trial outcomes and timings, for the builder."""

    def __init__(self, ev: Evaluator, task: Task, candidate: Candidate):
        self.ev = ev
        self.cfg = ev.config
        self.task = task
        self.candidate = candidate
        self.rules = Rules(policy=self.cfg.policy, needs_kernel=self.cfg.device == "cuda", atol=task.meta.atol,
                           rtol=task.meta.rtol, side_stream_gap_ms=self.cfg.side_stream_gap_ms,
                           roofline_margin=self.cfg.roofline_margin)
        self.stage = Stage.STATIC
        self.stages: dict[str, float] = {}
        self.all_shapes: list[Shape] = list(task.shapes)  # plus the hidden shape, once drawn
        self.trials: list[TrialOutcome] = []
        self.timings: dict[int, Timing] = {}
        self.compile: CompileReport | None = None
        self.flags: tuple[ReasonItem, ...] = ()
        self.baselines: dict[tuple[int, str], Timing | None] = {}

    def stage_time(self, name: str, since: float) -> None:
        self.stages[name] = self.stages.get(name, 0.0) + time.perf_counter() - since

    # -------------------------------------------------------------- stages
    def judge(self, worker: Worker) -> Evaluation:
        reasons = self._load(worker)
        if reasons:
            return self.result(self.stage, reasons)
        self.stage = Stage.CORRECTNESS
        t0 = time.perf_counter()
        reasons = self._correctness(worker)
        self.stage_time("correctness", t0)
        if reasons:
            return self.result(Stage.CORRECTNESS, reasons)
        if not self.cfg.time_candidates:
            return self.result(None, ())
        self.stage = Stage.TIMING
        t0 = time.perf_counter()
        reasons = self._timing(worker)
        self.stage_time("timing", t0)
        if reasons:
            return self.result(self.stage, reasons)
        t0 = time.perf_counter()
        self._baselines()
        self.stage_time("baselines", t0)
        self.flags = roofline_flags([self.timings.get(i) for i in range(len(self.task.shapes))], self._floors(),
                                    self.rules.roofline_margin)
        return self.result(None, ())

    def _load(self, worker: Worker) -> tuple[ReasonItem, ...]:
        self.stage = Stage.COMPILE
        path = worker.tmpdir / "candidate.py"
        path.write_text(self.candidate.source)
        hidden = self.ev.hidden_shape(self.task, self.ev.driver_device(worker))
        if hidden is not None:
            self.all_shapes.append(hidden)
        t0 = time.perf_counter()
        obs = worker.request(
            LoadRequest(str(self.task.path), Kind.CANDIDATE, str(path), self.cfg.policy,
                        tuple(dict(s) for s in self.all_shapes[len(self.task.shapes):])),
            self.cfg.deadline_load_s,
        )
        self.stage_time("load", t0)
        loaded = judge_load(obs, self._arch(), self.stages["load"])
        self.compile, self.stage = loaded.compile, loaded.stage
        return loaded.reasons

    def _arch(self) -> str:
        if self.ev.gpu is None:
            return "cpu"
        return "sm_" + self.ev.gpu.capability.replace(".", "")

    def _trials(self) -> list[InputRecipe]:
        """The smallest shape first (cheap failures first), then every shape x variant."""
        order = sorted(range(len(self.task.shapes)), key=lambda i: _input_bytes(self.task, i))
        trials = [InputRecipe(order[0], secret_seed(), self.cfg.variants[0])]
        for i in range(len(self.task.shapes)):
            for k, variant in enumerate(self.cfg.variants):
                if i == order[0] and k == 0:
                    continue
                trials.append(InputRecipe(i, secret_seed(), variant))
        for h in range(len(self.task.shapes), len(self.all_shapes)):
            trials.append(InputRecipe(h, secret_seed(), Variant.NORMAL))
        return trials

    def _correctness(self, worker: Worker) -> tuple[ReasonItem, ...]:
        device = self.ev.driver_device(worker)
        n_listed = len(self.task.shapes)
        out_bytes: dict[int, int] = {}  # output size per shape, known after its first trial
        for n, recipe in enumerate(self._trials()):
            i = recipe.shape_index
            poison = POISON_VALUES[n % 2]
            if i in out_bytes:  # send first: the reference is computed while the worker runs
                request = RunRequest(recipe, out_bytes[i], poison, self.ev.ipc)
                pending = worker.send(request)
                ref, ref64 = self.ev.expected(self.task, self.all_shapes[i], recipe, device)
            else:  # the poison must cover the output, whose size the reference tells
                ref, ref64 = self.ev.expected(self.task, self.all_shapes[i], recipe, device)
                out_bytes[i] = 2 * _nbytes(ref) + (1 << 20)
                request = RunRequest(recipe, out_bytes[i], poison, self.ev.ipc)
                pending = worker.send(request)
            obs = self._collect(worker, request, worker.reply(pending, self.cfg.deadline_run_s), device)
            outcome = judge_trial(obs, ref, ref64, recipe, self.all_shapes[i], i < n_listed, self.rules)
            self.trials.append(outcome)
            if outcome.fatal:
                break
        return correctness_reasons(self.trials, n_listed)

    def _collect(self, worker: Worker, request, obs, device: torch.device):
        """``obs`` with its outputs in the driver's memory, fetched before the next request.

        If the outputs came as IPC descriptors that cannot be mapped, IPC is
        turned off for this evaluator and the request is repeated over the socket.
        """
        if obs.fault is not None or not request.ipc:
            return obs
        try:
            if isinstance(obs, RunObservation):
                return replace(obs, outputs=import_outputs(obs.outputs, device))
            return replace(obs, checked=tuple(replace(c, outputs=import_outputs(c.outputs, device)) for c in obs.checked))
        except IpcError as err:
            self.ev.ipc_failed(err)
            deadline = self.cfg.deadline_run_s if isinstance(request, RunRequest) else self.cfg.deadline_time_s
            return worker.request(replace(request, ipc=False), deadline)

    def _timing(self, worker: Worker) -> tuple[ReasonItem, ...]:
        device = self.ev.driver_device(worker)
        timing = self.cfg.timing
        for i in range(len(self.task.shapes)):
            k = self.ev._input_sets(self.task, i)
            seeds = [secret_seed() for _ in range(k)]
            checks = sorted(random.Random(secrets.randbits(32)).sample(range(timing.min_calls), min(self.cfg.timed_checks, timing.min_calls)))
            request = TimeRequest(i, tuple(InputRecipe(i, s) for s in seeds), timing, tuple(checks), self.ev.ipc)
            obs = self._collect(worker, request, worker.request(request, self.cfg.deadline_time_s), device)
            shape = self.task.shapes[i]
            timed = judge_timed(obs, i, seeds, lambda r: self.ev.expected(self.task, shape, r, device), self.rules)
            if timed.reasons:
                self.stage = timed.stage
                return timed.reasons
            self.timings[i] = summarize(obs.event_ms, obs.method)
        return ()

    def _baselines(self) -> None:
        for mode in self.cfg.baselines:
            for i in range(len(self.task.shapes)):
                self.baselines[(i, mode)] = self.ev.baseline(self.task, i, mode)

    def _floors(self) -> list[float | None]:
        """The roofline floor of each listed shape in ms (GPU only)."""
        if self.cfg.device != "cuda":
            return [None] * len(self.task.shapes)
        bw, peak = self.ev.ceilings()
        return [floor_ms(self.task.meta.flops, self.task.meta.bytes, dict(s), bw, peak) for s in self.task.shapes]

    # -------------------------------------------------------------- result
    def result(self, stage: Stage | None, reasons) -> Evaluation:
        return build_evaluation(
            task=self.task.name, candidate_id=self.candidate.id, policy=self.cfg.policy, device=self.cfg.device,
            reasons=reasons, stage=stage, gpu=self.ev.gpu.name if self.ev.gpu else "",
            shapes=shape_results(self.task.shapes, self.trials, self.timings, self.baselines, self._floors()),
            compile=self.compile, stage_seconds=tuple(self.stages.items()), flags=self.flags, env=_env(self.ev.gpu),
        )


def _env(gpu: GpuInfo | None) -> tuple[tuple[str, str], ...]:
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
