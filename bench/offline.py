"""What the offline proposer achieves with no LLM, on one GPU.

For the suite's elementwise, normalization, softmax and fused-chain tasks:
generate the default candidate, evaluate it with the full verifier, then try
a few tunable variants (single changes first); keep the fastest verified one.
Reports per task the verified speedup over eager and over torch.compile,
the time from start to the best kernel, then geometric means and the number
of tasks with a verified improvement. Tasks the proposer refuses are listed
with its reason (they count as no improvement).

    python bench/offline.py [--variants 4] [--policy torch-ok] [--categories ...] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, field

from cudarwin.agent.offline import NoProposal, propose_offline, variants
from cudarwin.runner import EvalConfig, Evaluator
from cudarwin.tasks import load_suite
from cudarwin.types import Candidate, CudarwinError, Evaluation, Policy, Task, geomean

CATEGORIES = ("elementwise", "normalization", "softmax", "fused")


@dataclass
class TaskResult:
    task: str
    category: str
    kind: str = ""
    reason: str = ""  # why there is no candidate, or why none was accepted
    tried: int = 0
    accepted: int = 0
    best: Evaluation | None = None
    best_tunables: tuple = ()
    seconds_to_best: float | None = None
    seconds_total: float = 0.0
    log: list[str] = field(default_factory=list)

    @property
    def eager(self) -> float | None:
        return self.best.speedup_eager if self.best else None

    @property
    def compiled(self) -> float | None:
        return self.best.speedup_compile if self.best else None


def _run_task(ev: Evaluator, task: Task, policy: Policy, n_variants: int) -> TaskResult:
    res = TaskResult(task.name, task.meta.category)
    start = time.perf_counter()
    proposal = propose_offline(task, policy.value)
    if isinstance(proposal, NoProposal):
        res.reason = proposal.reason
        res.seconds_total = time.perf_counter() - start
        return res
    res.kind = proposal.kind
    pool = [proposal.candidate] + variants(proposal.candidate, n_variants)
    for cand in pool:
        try:
            evaluation = ev.evaluate(task, Candidate(source=cand.source, proposer=cand.proposer, tunables=cand.tunables))
        except CudarwinError as err:  # e.g. a baseline that cannot be measured: report it, go on
            res.log.append(f"{dict(cand.tunables)}: evaluation failed ({err})")
            res.reason = res.reason or f"evaluation failed: {err}"
            break
        res.tried += 1
        if not evaluation.accepted:
            codes = ", ".join(r.code.value for r in evaluation.verdict.reasons[:2])
            res.log.append(f"{dict(cand.tunables)}: rejected ({codes})")
            if not res.reason:
                first = evaluation.verdict.reasons[0].message[:200] if evaluation.verdict.reasons else ""
                res.reason = f"rejected: {first}"
            continue
        res.accepted += 1
        res.log.append(f"{dict(cand.tunables)}: {evaluation.fitness:.3f}x eager")
        if res.best is None or evaluation.fitness > res.best.fitness:
            res.best, res.best_tunables = evaluation, cand.tunables
            res.seconds_to_best = time.perf_counter() - start
    if res.best is not None:
        res.reason = ""
    res.seconds_total = time.perf_counter() - start
    return res


def _fmt(x: float | None, spec: str = ".2f", suffix: str = "x") -> str:
    return "-" if x is None else f"{x:{spec}}{suffix}"


def _table(results: list[TaskResult]) -> str:
    head = (f"{'task':26} {'category':13} {'kernel':11} {'ok/tried':8} {'vs eager':>9} {'vs compile':>10} "
            f"{'t_best':>8}  best tunables / reason")
    lines = [head, "-" * len(head)]
    for r in results:
        tail = " ".join(f"{k}={v}" for k, v in r.best_tunables) if r.best else r.reason[:70]
        lines.append(
            f"{r.task:26} {r.category:13} {r.kind or '-':11} {f'{r.accepted}/{r.tried}':8} {_fmt(r.eager):>9} "
            f"{_fmt(r.compiled):>10} {_fmt(r.seconds_to_best, '.1f', 's'):>8}  {tail}"
        )
    return "\n".join(lines)


def _summary(results: list[TaskResult]) -> str:
    verified = [r for r in results if r.best is not None]
    g_eager = geomean([r.eager for r in verified])
    g_compile = geomean([r.compiled for r in verified])
    # over every task in scope, a task without a verified kernel counts as 1.0x (the baseline stays)
    g_eager_all = geomean([r.eager if r.best else 1.0 for r in results])
    g_compile_all = geomean([max(r.compiled or 1.0, 1.0) if r.best else 1.0 for r in results])
    improved = sum(1 for r in verified if (r.eager or 0) > 1.0)
    beat_compile = sum(1 for r in verified if (r.compiled or 0) > 1.0)
    return "\n".join([
        f"tasks in scope: {len(results)}; with a verified kernel: {len(verified)}; "
        f"verified improvement over eager: {improved}; faster than torch.compile: {beat_compile}",
        f"geomean speedup over verified tasks: {_fmt(g_eager)} vs eager (target >= 1.50x), "
        f"{_fmt(g_compile)} vs torch.compile (target >= 1.00x)",
        f"geomean over all tasks in scope (unsupported = 1.0x; vs compile, keeping the faster of the two): "
        f"{_fmt(g_eager_all)} vs eager, {_fmt(g_compile_all)} vs torch.compile",
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--suite", default="full")
    parser.add_argument("--categories", default=",".join(CATEGORIES))
    parser.add_argument("--variants", type=int, default=4, help="tunable variants tried after the default")
    parser.add_argument("--policy", default="torch-ok", choices=[p.value for p in Policy])
    parser.add_argument("--tasks", default="", help="comma-separated task names (default: all in the categories)")
    parser.add_argument("--json", default="", help="write per-task results here")
    parser.add_argument("--baselines", default="eager,compile", help="baselines to measure (eager,compile)")
    parser.add_argument("--jobs", type=int, default=6, help="tasks compiled in parallel for the compile baseline")
    args = parser.parse_args(argv)

    wanted = set(args.categories.split(","))
    names = set(filter(None, args.tasks.split(",")))
    tasks = [t for t in load_suite(args.suite).tasks
             if (t.name in names if names else (t.meta.category in wanted or t.path.parent.name in wanted))]
    if not tasks:
        print("no tasks selected", file=sys.stderr)
        return 2
    policy = Policy(args.policy)
    results: list[TaskResult] = []
    baselines = tuple(b for b in args.baselines.split(",") if b)
    with Evaluator(EvalConfig(device="cuda", policy=policy, baselines=baselines)) as ev:
        if "compile" in baselines and args.jobs > 1:  # compile every missing baseline up front, in parallel
            t0 = time.perf_counter()
            n = ev.precompile(ev.missing_compile(tasks), args.jobs)
            print(f"compiled {n} task(s) ahead in {time.perf_counter() - t0:.0f} s", flush=True)
        for task in tasks:
            res = _run_task(ev, task, policy, args.variants)
            results.append(res)
            gpu = res.best.gpu if res.best else ""
            print(f"[{task.name}] {res.kind or 'no candidate'}: best {_fmt(res.eager)} eager, "
                  f"{_fmt(res.compiled)} compile in {res.seconds_total:.1f}s {gpu}", flush=True)
            for line in res.log:
                print(f"    {line}", flush=True)
            if res.reason:
                print(f"    {res.reason}", flush=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump([{
                "task": r.task, "category": r.category, "kind": r.kind, "reason": r.reason, "tried": r.tried,
                "accepted": r.accepted, "speedup_eager": r.eager, "speedup_compile": r.compiled,
                "seconds_to_best": r.seconds_to_best, "seconds_total": r.seconds_total,
                "best_tunables": dict(r.best_tunables), "best": r.best.to_dict() if r.best else None,
            } for r in results], fh, indent=1)
    print()
    print(_summary(results))
    print()
    print(_table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
