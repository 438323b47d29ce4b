"""``cudarwin optimize``: LLM-driven evolutionary search over verified candidates.

Configuration is Hydra's: groups ``llm``, ``search``, ``suite``, ``runner``
and ``key=value`` overrides, e.g.::

    cudarwin optimize                                   # offline proposer, quick suite
    cudarwin optimize runner.device=cpu                 # the whole loop on the CPU
    cudarwin optimize llm=openai llm.model=gpt-4.1 search.generations=20
    cudarwin optimize --multirun llm.model=gpt-4.1,o4-mini seed=0,1
    cudarwin optimize resume=runs/20250101-120000       # continue a stopped run
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cudarwin.types import CudarwinError, ExitCode

_EPILOG = """\
config groups (pick one each, e.g. llm=openai):
  llm     offline (default, no network) | openai | vllm | sglang | ollama | openrouter
  search  evolve (default) | translate | repair | autotune
  suite   quick (default) | full | papers     (or suite.name=<folder or task file>)
  runner  default                             (runner.device=auto|cuda|cpu, runner.workers=N)
common keys:
  llm.model=ID llm.base_url=URL llm.api_key_env=VAR llm.budget.max_dollars=5
  search.generations=N search.islands=N seed=N run_dir=DIR resume=RUN_DIR
  suite.tasks=[softmax,gelu] progress=plain review.enabled=true
see cudarwin/conf/ for every key and its default.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "optimize",
        help="search for faster verified kernels (Hydra key=value overrides)",
        description="Search for faster, verified implementations of a task suite.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--multirun", "-m", action="store_true", help="one run per combination of comma-separated values")
    parser.add_argument("--cfg", action="store_true", help="print the resolved config and exit")
    parser.set_defaults(handler=handle, accepts_extra=True)


def handle(args: argparse.Namespace, extra: list[str]) -> int:
    from cudarwin.config import compose_config, expand_multirun, load_saved_config, to_yaml

    bad = [a for a in extra if "=" not in a]
    if bad:
        raise CudarwinError(f"unexpected argument {bad[0]!r}", hint="overrides are key=value, e.g. llm=openai")
    runs = expand_multirun(extra) if args.multirun else [list(extra)]
    code = ExitCode.OK
    for number, overrides in enumerate(runs):
        resume = next((o.split("=", 1)[1] for o in overrides if o.startswith("resume=")), None)
        if resume and resume != "null":
            cfg = load_saved_config(resume, overrides)
            cfg.resume = resume
        else:
            if args.multirun and len(runs) > 1:
                overrides = _numbered_run_dir(overrides, number)
            cfg = compose_config(overrides)
        if args.cfg:
            print(to_yaml(cfg))
            continue
        if len(runs) > 1:
            print(f"== run {number + 1}/{len(runs)}: {' '.join(overrides)}", flush=True)
        code = max(code, _run_one(cfg))
    return int(code)


def _numbered_run_dir(overrides: list[str], number: int) -> list[str]:
    """Multirun: runs/<timestamp>/<number> unless run_dir was given (then <run_dir>/<number>)."""
    from cudarwin.agent.optimize import default_run_dir

    given = next((o.split("=", 1)[1] for o in overrides if o.startswith("run_dir=")), None)
    base = Path(given) if given and given != "null" else _sweep_dir(default_run_dir())
    return [o for o in overrides if not o.startswith("run_dir=")] + [f"run_dir={base / str(number)}"]


_SWEEP: dict[str, Path] = {}


def _sweep_dir(candidate: Path) -> Path:
    # One timestamped folder for the whole sweep, fixed by its first run.
    return _SWEEP.setdefault("dir", candidate)


def _run_one(cfg) -> ExitCode:
    from cudarwin.agent.optimize import run_optimize

    result = run_optimize(cfg, out=sys.stdout)
    print(f"run folder: {result.run_dir}")
    if result.report is not None:
        print(f"report: {result.report}")
    return ExitCode.OK
