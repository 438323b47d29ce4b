"""One ``cudarwin optimize`` run: tasks x strategy x proposer x evaluator,
recorded in a run folder (``config.yaml`` + ``archive.sqlite``).

A run folder that already holds an archive is continued, not restarted:
finished evaluations are reused, LLM calls are answered from the archive,
and the search replays its (seeded) decisions up to where it stopped.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, TextIO

from omegaconf import DictConfig, OmegaConf

from cudarwin.agent import build
from cudarwin.agent.baselines import initial_baselines
from cudarwin.agent.evaluation import EvalService
from cudarwin.agent.llm.budget import ModelUsage
from cudarwin.agent.llm.client import LLMClient
from cudarwin.agent.progress import ProgressView, stats_line, usage_line
from cudarwin.agent.proposer import close_proposer
from cudarwin.agent.proposers import ProposerSetup, RunResources, proposer_setup
from cudarwin.agent.review import Reviewer
from cudarwin.agent.search.base import make_strategy
from cudarwin.agent.search.context import SearchContext, TaskStats
from cudarwin.agent.store import BASELINES_NOTE, ArchiveCallStore, ArchiveRunStore, encode_baselines
from cudarwin.backends import Evaluator
from cudarwin.types import CudarwinError, Device, GpuInfo, Policy, Task

EvaluatorFactory = Callable[[Any], Evaluator]  # EvalConfig -> Evaluator (the run backend, or a test's fake)


@dataclass(frozen=True)
class RunResult:
    run_dir: Path
    stats: tuple[TaskStats, ...]
    usage: ModelUsage | None  # None for proposers without an LLM
    http_calls: int  # requests actually sent this time
    evaluations_run: int  # evaluations actually run this time (not reused)
    report: Path | None
    per_model: dict[str, ModelUsage] = field(default_factory=dict)  # configured model name -> usage
    throughput: dict[str, float] = field(default_factory=dict)  # see _throughput


def default_run_dir() -> Path:
    return Path("runs") / time.strftime("%Y%m%d-%H%M%S", time.gmtime())


def run_optimize(cfg: DictConfig, *, evaluator_factory: EvaluatorFactory | None = None, out: TextIO | None = None) -> RunResult:
    """Run (or continue) the optimization described by ``cfg``."""
    from cudarwin.results import Archive

    device = build.resolve_device(str(cfg.runner.device))
    policy = build.resolve_policy(cfg.runner.policy, device)
    tasks = build.select_tasks(build.plain(cfg.suite))
    # Everything a config names is resolved before a run folder is made, so an
    # unknown name or a missing API key leaves nothing behind.
    setup = proposer_setup(build.plain(cfg.llm))
    make_strategy(build.plain(cfg.search))
    factory = evaluator_factory or build.backend(build.plain(cfg.runner))
    run_dir = Path(cfg.resume or cfg.run_dir or default_run_dir())
    saved = OmegaConf.merge(cfg, {"run_dir": str(run_dir), "resume": None})
    archive_exists = (run_dir / "archive.sqlite").is_file()
    archive = Archive.open(run_dir) if archive_exists else Archive.create(run_dir, OmegaConf.to_yaml(saved, resolve=True))
    with ExitStack() as stack:
        stack.callback(archive.close)
        evaluator = stack.enter_context(factory(build.eval_config(build.plain(cfg.runner), device, policy)))
        store = ArchiveRunStore(archive)
        result = asyncio.run(_run(cfg, tasks, device, policy, setup, evaluator, store, archive, run_dir, out))
    report = _write_report(run_dir) if cfg.get("report", True) else None
    _write_summary(run_dir, result)
    return RunResult(result.run_dir, result.stats, result.usage, result.http_calls, result.evaluations_run, report,
                     result.per_model, result.throughput)


async def _run(cfg: DictConfig, tasks: list[Task], device: Device, policy: Policy, setup: ProposerSetup, evaluator: Evaluator,
               store: ArchiveRunStore, archive: Any, run_dir: Path, out: TextIO | None) -> RunResult:
    seed = int(cfg.seed)
    built = setup.build(RunResources(seed=seed, device=device, calls=ArchiveCallStore(archive)))
    proposer, client = built.proposer, built.client
    reviewer = _make_reviewer(cfg, client, store)
    evals = EvalService(evaluator.evaluate, store, workers=build.worker_count(build.plain(cfg.runner), device), post=reviewer.after_evaluation if reviewer else None)
    view = ProgressView(str(cfg.get("progress", "auto")), usage=(lambda: client.usage.total()) if client else (lambda: None), out=out)
    # the GPU the prompts describe: the evaluator's, with the ceilings its roofline floors use
    hardware = (evaluator.gpu if device is Device.CUDA else None) or GpuInfo()
    await asyncio.to_thread(_precompile_baselines, evaluator, tasks, out)
    contexts = []
    for task in tasks:
        store.add_task(task)
        contexts.append(SearchContext(task, proposer, evals, store, policy=policy, device=device, hardware=hardware, seed=seed, on_update=view.update))
    view.start([c.stats for c in contexts])
    limit = asyncio.Semaphore(max(1, int(cfg.get("parallel_tasks", 4))))

    async def one(ctx: SearchContext) -> None:
        async with limit:
            began = time.perf_counter()
            if client is not None and device is Device.CUDA:  # the first prompt shows the baselines to beat
                ctx.baselines = await _prompt_baselines(ctx, evaluator, store)
            strategy = make_strategy(build.plain(cfg.search))
            await strategy.run(ctx)
            ctx.stats.search_s += time.perf_counter() - began
            ctx.stats.done = True
            view.update(ctx.stats)

    started = time.perf_counter()
    try:
        await asyncio.gather(*(one(c) for c in contexts))
    finally:
        view.stop()
        evals.close()
        await close_proposer(proposer)
    stats = tuple(c.stats for c in contexts)
    throughput = _throughput(time.perf_counter() - started, evals, stats)
    if out is not None:
        print(throughput_line(throughput), file=out)
    if view.mode != "live" and out is not None:
        for s in stats:
            print(stats_line(s), file=out)
        print(usage_line(client.usage.total() if client else None), file=out)
        if client is not None and len(client.usage.per_model) > 1:
            for name, used in client.usage.per_model.items():
                print(f"  {name}: " + usage_line(used).removeprefix("LLM: "), file=out)
    if client is None:
        return RunResult(run_dir, stats, None, 0, evals.evaluated, None, {}, throughput)
    per_model = dict(client.usage.per_model)
    return RunResult(run_dir, stats, client.usage.total(), client.http_calls, evals.evaluated, None, per_model, throughput)


def _throughput(wall_s: float, evals: EvalService, stats: tuple[TaskStats, ...]) -> dict[str, float]:
    """How the run spent its time: evaluations per minute, evaluator busy share, proposal waits."""
    wall = max(wall_s, 1e-9)
    searched = sum(s.search_s for s in stats)
    return {
        "wall_s": round(wall_s, 3),
        "evaluations_per_min": round(60.0 * evals.evaluated / wall, 3),
        "evaluation_busy_s": round(evals.busy_s, 3),
        # share of the evaluation workers' capacity that was in use (the GPUs, on cuda)
        "evaluation_busy_share": round(evals.busy_s / (wall * evals.workers), 4),
        # summed over concurrent conversations, so it can exceed the wall time
        "proposal_wait_s": round(sum(s.propose_s for s in stats), 3),
        # the share of the tasks' search time spent waiting for proposals (the LLM's share)
        "proposal_wait_share": round(min(1.0, sum(s.propose_s for s in stats) / searched), 4) if searched else 0.0,
    }


def throughput_line(t: dict[str, float]) -> str:
    return (f"{t['evaluations_per_min']:.1f} evaluations/min over {t['wall_s']:.1f} s; evaluation workers busy "
            f"{100 * t['evaluation_busy_share']:.0f}% of the time; {t['proposal_wait_s']:.1f} s waiting for proposals "
            f"({100 * t.get('proposal_wait_share', 0.0):.0f}% of the tasks' search time)")


async def _prompt_baselines(ctx: SearchContext, evaluator: Evaluator, store: ArchiveRunStore) -> tuple:
    saved = store.prompt_baselines(ctx.task.name)
    if saved is not None:
        return saved
    loop = asyncio.get_running_loop()
    measured = await loop.run_in_executor(None, initial_baselines, evaluator, ctx.task, ctx.hardware)
    store.add_note(ctx.task.name, BASELINES_NOTE, encode_baselines(measured))
    return measured


def _make_reviewer(cfg: DictConfig, client: LLMClient | None, store: ArchiveRunStore) -> Reviewer | None:
    review = cfg.get("review") or {}
    if not review.get("enabled"):
        return None
    if client is None:
        raise CudarwinError("review.enabled=true needs an LLM", hint="use llm=openai (or another chat preset) or review.enabled=false")
    name = review.get("model") or next(iter(client.models))
    if name not in client.models:
        raise CudarwinError(f"review.model={name!r} is not a key of llm.models", hint=f"one of: {', '.join(client.models)}")
    return Reviewer(client, client.models[name], store, reject=bool(review.get("reject")), loop=asyncio.get_running_loop())


def _precompile_baselines(evaluator: Evaluator, tasks: list[Task], out: TextIO | None) -> None:
    """Compile the suite's missing torch.compile baselines in parallel before the search.

    Otherwise the first evaluation of each task waits, alone, for inductor
    to compile every shape (tens of seconds each).
    """
    if evaluator.config.device != Device.CUDA or "compile" not in evaluator.config.baselines:
        return
    work = evaluator.missing_compile(tasks)
    if not work:
        return
    jobs = max(1, min(8, (os.cpu_count() or 2) // 2, len(work)))
    started = time.perf_counter()
    if out is not None:
        print(f"compiling torch.compile baselines of {len(work)} task(s), {jobs} at a time...", file=out, flush=True)
    done = evaluator.precompile(work, jobs)
    if out is not None:
        print(f"compiled {done} of {len(work)} in {time.perf_counter() - started:.0f} s", file=out, flush=True)


def _write_report(run_dir: Path) -> Path | None:
    """The run's report; a failing report must not lose a finished run, so
    errors become a warning."""
    from cudarwin.results.report import write_report

    try:
        files = write_report([run_dir], run_dir / "report")
    except Exception as err:  # a report bug must not fail the run
        print(f"cudarwin: warning: the report could not be written: {err}")
        return None
    return Path(files.markdown)


def _write_summary(run_dir: Path, result: RunResult) -> None:
    usage = result.usage
    summary = {
        "tasks": {s.task: {k: v for k, v in vars(s).items() if k != "task"} for s in result.stats},
        "llm": None if usage is None else {**vars(usage), "per_model": {k: vars(v) for k, v in result.per_model.items()}},
        "http_calls": result.http_calls,
        "evaluations_run": result.evaluations_run,
        "throughput": result.throughput,
    }
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
