"""`cudarwin optimize` on the quick suite against a fake LLM, on a GPU.

What the loop looks like when the model is not the bottleneck: a loopback
OpenAI-compatible server answers every request after ``--think`` seconds
with a real CUDA candidate -- the task's hand-written solution or the offline
proposer's kernel, with a one-line variation so each answer is a new
candidate -- and every ``--broken``-th answer with one that does not compile.
The real evaluator judges and times everything. Prints the run's throughput
(evaluations per minute, evaluation-worker busy share, time the search
waited for proposals) and the best verified speedup per task.

    python bench/agent_fake.py [--generations 2] [--think 2.0] [--broken 4] [HYDRA_OVERRIDE...]
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from fakes.openai_server import FakeOpenAIServer, Scripted  # noqa: E402

from cudarwin.agent.offline import NoProposal, propose_offline  # noqa: E402
from cudarwin.cli import main as cli_main  # noqa: E402
from cudarwin.tasks import load_suite  # noqa: E402
from cudarwin.tasks.suites import solutions_for  # noqa: E402

_TASK = re.compile(r"# Task `([^`]+)`")


def candidates() -> dict[str, str]:
    """An honest CUDA candidate per quick-suite task, where one exists."""
    out = {}
    for task in load_suite("quick").tasks:
        sols = solutions_for(task)
        if sols:
            out[task.name] = sols[0].read_text()
            continue
        proposal = propose_offline(task, "strict")
        if not isinstance(proposal, NoProposal):
            out[task.name] = proposal.candidate.source
    return out


def make_script(sources: dict[str, str], think: float, broken: int):
    counter = itertools.count(1)
    lock = threading.Lock()

    def reply(body):
        text = "\n".join(str(m.get("content", "")) for m in body["messages"])
        m = _TASK.search(text)
        name = m.group(1) if m else ""
        with lock:
            n = next(counter)
        source = sources.get(name)
        if source is None:
            return Scripted("I cannot write this kernel.", delay=think)
        source = f"{source.rstrip()}\n\n_VARIANT = {n}  # one answer of many\n"
        if broken and n % broken == 0:
            source = source.replace("extern \"C\" __global__", "extern \"C\" __global__ undefined_type", 1)
        return Scripted(f"Here is the kernel.\n\n```python\n{source}```\n", delay=think,
                        prompt_tokens=3000, completion_tokens=1200)

    return reply


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--generations", type=int, default=2)
    ap.add_argument("--think", type=float, default=2.0, help="seconds the fake model takes per answer")
    ap.add_argument("--broken", type=int, default=4, help="every N-th answer does not compile (0: never)")
    ap.add_argument("--device", default="cuda", help="cuda; cpu only checks the plumbing (CUDA candidates fail there)")
    ap.add_argument("--baselines", default="eager", help="baselines for the evaluator (eager or eager,compile)")
    ap.add_argument("overrides", nargs="*", help="more Hydra overrides for cudarwin optimize, e.g. search.islands=1")
    args = ap.parse_args()
    sources = candidates()
    print(f"fake model answers for {len(sources)} quick-suite task(s): {', '.join(sorted(sources))}")
    run_dir = Path(tempfile.mkdtemp(prefix="cudarwin-agent-bench-")) / "run"
    with FakeOpenAIServer(make_script(sources, args.think, args.broken)) as server:
        t0 = time.perf_counter()
        rc = cli_main([
            "optimize", "llm=openai", f"llm.base_url={server.base_url}", "llm.api_key_env=null",
            "suite=quick", "search=evolve", f"search.generations={args.generations}", f"run_dir={run_dir}",
            "progress=plain", "report=false", f"runner.device={args.device}",
            f"runner.eval.baselines=[{args.baselines}]", *args.overrides,
        ])
        wall = time.perf_counter() - t0
        requests = len(server.requests)
    summary = json.loads((run_dir / "summary.json").read_text())
    t = summary.get("throughput", {})
    print(f"\nexit {rc}; {requests} LLM requests answered after {args.think:.1f} s each; wall {wall:.1f} s")
    print(json.dumps(t, indent=1))
    tasks = summary.get("tasks", [])
    if tasks:
        print(json.dumps(tasks, indent=1)[:4000])
    return rc


if __name__ == "__main__":
    sys.exit(main())
