"""``cudarwin check`` (judge one candidate) and ``cudarwin baseline`` (time a suite).

``check`` exit codes: 0 accepted, 1 rejected, 2 bad input (missing file, bad
task, no GPU for ``--device cuda``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from cudarwin.types import Candidate, CudarwinError, Device, Evaluation, ExitCode, Policy, Task


def register(subparsers: argparse._SubParsersAction) -> None:
    check = subparsers.add_parser("check", help="verify and time one candidate against one task")
    check.add_argument("task", metavar="TASK_FILE")
    check.add_argument("candidate", metavar="CANDIDATE_FILE")
    check.add_argument("--device", type=Device, choices=(Device.CUDA, Device.CPU), default=Device.CUDA)
    check.add_argument("--policy", choices=[p.value for p in Policy], default=None,
                       help="strict (default on cuda): all arithmetic in own kernels; torch-ok (default on cpu)")
    check.add_argument("--compile-only", action="store_true", help="static checks + NVRTC compile, no GPU needed")
    check.add_argument("--arch", default="sm_90", help="architecture for --compile-only (default sm_90)")
    check.add_argument("--json", action="store_true", help="print one JSON object")
    check.add_argument("--no-compile-baseline", action="store_true", help="skip the torch.compile baseline")
    check.set_defaults(handler=run_check)

    base = subparsers.add_parser("baseline", help="measure eager and torch.compile baselines of a suite on this GPU")
    base.add_argument("suite", metavar="SUITE_OR_PATH")
    base.add_argument("--out", default=None, help="folder for <gpu>.json (default results/baselines)")
    base.add_argument("--modes", default="eager,compile")
    base.add_argument("--shapes", choices=("all", "headline"), default="all",
                      help="measure every shape (default) or only the headline shape")
    base.add_argument("--device", type=Device, choices=(Device.CUDA, Device.CPU), default=Device.CUDA)
    base.add_argument("--jobs", type=int, default=4,
                      help="tasks compiled in parallel before torch.compile timing (default 4; 1: no pre-pass)")
    base.add_argument("--compile-timeout", type=float, default=150.0,
                      help="seconds torch.compile may take per shape; longer: that baseline is recorded as n/a")
    base.set_defaults(handler=run_baseline)


def _read(path: str, what: str) -> str:
    p = Path(path)
    if not p.is_file():
        raise CudarwinError(f"{what} not found", path=p)
    return p.read_text()


def run_check(args: argparse.Namespace) -> int:
    from cudarwin.tasks import load_task

    source = _read(args.candidate, "candidate file")
    task = load_task(args.task)
    default_policy = Policy.TORCH_OK if args.device is Device.CPU else Policy.STRICT
    policy = Policy(args.policy) if args.policy else default_policy
    candidate = Candidate(source=source, proposer="user")
    if args.compile_only:
        from cudarwin.runner.checks import compile_only

        evaluation = compile_only(candidate, arch=args.arch, policy=policy, task=task.name)
    else:
        from cudarwin.runner import EvalConfig, Evaluator

        baselines = ("eager",) if args.no_compile_baseline else ("eager", "compile")
        config = EvalConfig(device=args.device, policy=policy, baselines=baselines)
        if not args.json:
            print(f"checking {args.candidate} against {task.name} on {args.device} ({policy.value})...", file=sys.stderr)
        with Evaluator(config) as evaluator:
            evaluation = evaluator.evaluate(task, candidate)
    if args.json:
        print(json.dumps(evaluation.to_dict(), indent=1))
    else:
        print(render(task, evaluation))
    return int(ExitCode.OK if evaluation.accepted else ExitCode.REJECTED)


def _ms(t) -> str:
    return f"{t.median_ms:.4f}" if t else "-"


def _x(v) -> str:
    return f"{v:.2f}x" if v else "-"


def render(task: Task, ev: Evaluation) -> str:
    """A short human-readable report of one evaluation."""
    lines = [f"{task.name}: {ev.verdict.status.value.upper()} ({ev.policy.value}, {ev.device}{', ' + ev.gpu if ev.gpu else ''})"]
    for r in ev.verdict.reasons:
        lines.append(f"  [{r.code.value}] {r.message.strip().splitlines()[0] if r.message.strip() else ''}")
        rest = r.message.strip().splitlines()[1:]
        lines.extend(f"      {line}" for line in rest[:12])
    for f in ev.flags:
        lines.append(f"  flag [{f.code.value}] {f.message}")
    if ev.shapes and any(s.trials for s in ev.shapes):
        header = f"  {'shape':<28} {'max err':>9} {'ms':>10} {'eager ms':>10} {'compile ms':>10} {'vs eager':>9} {'vs compile':>10}"
        lines.append(header)
        for s in ev.shapes:
            shape = ", ".join(f"{k}={v}" for k, v in s.shape.items()) or "(fixed)"
            err = f"{s.max_abs_err:.2e}" if s.max_abs_err is not None else "-"
            lines.append(f"  {shape[:28]:<28} {err:>9} {_ms(s.candidate):>10} {_ms(s.eager):>10} {_ms(s.compiled):>10} "
                         f"{_x(s.speedup_eager):>9} {_x(s.speedup_compile):>10}")
        lines.append(f"  geomean speedup: {_x(ev.speedup_eager)} vs eager, {_x(ev.speedup_compile)} vs torch.compile")
    if ev.compile is not None:
        lines.append(f"  compile: {'ok' if ev.compile.ok else 'failed'} ({ev.compile.backend}, {ev.compile.arch}, "
                     f"{ev.compile.seconds:.3f} s, {ev.compile.sources} source(s))")
    stages = ", ".join(f"{k} {v:.2f}s" for k, v in ev.stage_seconds)
    if stages:
        lines.append(f"  stages: {stages}")
    return "\n".join(lines)


def run_baseline(args: argparse.Namespace) -> int:
    from cudarwin.runner.baseline_cmd import measure_suite

    return measure_suite(args.suite, out=args.out, modes=tuple(m for m in args.modes.split(",") if m),
                        shapes=args.shapes, device=args.device, jobs=args.jobs,
                        compile_timeout=args.compile_timeout)
