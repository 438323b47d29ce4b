"""The offline proposer's entry point: a task in, a candidate file (or an
honest "no proposal") out. No network, no GPU, no LLM."""

from __future__ import annotations

import math
import re
import sys
import types
from dataclasses import dataclass
from typing import Any

import torch

from cudarwin.agent.offline import analyze as an
from cudarwin.agent.offline import codegen, codegen_reduce
from cudarwin.agent.offline.builder import Unsupported
from cudarwin.agent.offline.codegen import Kernel
from cudarwin.agent.offline.values import SINGLE_BLOCK_LIMIT
from cudarwin.agent.offline.ir import Plan
from cudarwin.agent.offline.render import render
from cudarwin.agent.offline.tunables import variants
from cudarwin.agent.tunables import declared_tunables
from cudarwin.tasks import import_task, load_task
from cudarwin.types import Candidate, Task


@dataclass(frozen=True)
class NoProposal:
    """The reference uses something the offline proposer cannot generate."""

    reason: str  # "no proposal: op argmax not supported"


@dataclass(frozen=True)
class Proposed:
    """A generated candidate and what it was built from."""

    candidate: Candidate
    plan: Plan
    kind: str  # "elementwise", "rows" or "columns"


OfflineResult = Proposed | NoProposal


def load_module(task: Task) -> types.ModuleType:
    """A fresh module object for ``task``."""
    return import_task(task)


def kernel_name(task_name: str, kind: str) -> str:
    stem = re.sub(r"[^0-9a-zA-Z_]", "_", task_name).strip("_") or "task"
    return f"cd_{kind}_{stem}"[:60]


def _checked_fulls(plan: Plan, module: types.ModuleType, shape: Any) -> list[tuple[int, ...]]:
    """Iteration shapes of the plan's programs at the headline shape; refuses a
    reduction of a huge tensor by a single block (a correct but slow candidate)."""
    fulls = an.iteration_shapes(plan, an.trace(module, shape))
    for prog, full in zip((*plan.stages, plan.program), fulls):
        if prog.reduce_dims:
            rows = math.prod(n for d, n in enumerate(full) if d not in prog.reduce_dims)
            size = math.prod(full[d] for d in prog.reduce_dims)
            if rows == 1 and size > SINGLE_BLOCK_LIMIT:
                raise Unsupported(f"a reduction over all {size} elements would run on a single block "
                                  "(multi-block reductions are not generated)")
    return fulls


def _kind(prog: Any) -> str:
    return Plan(program=prog).kind


def make_kernel(plan: Plan, name: str, full: tuple[int, ...]) -> Kernel:
    """The kernel for ``plan``, its tunable defaults chosen for iteration shape ``full``."""
    prog = plan.program
    if prog.is_elementwise:
        return codegen.elementwise(plan, name, math.prod(full))
    if prog.rows_last:
        r = math.prod(full[d] for d in prog.reduce_dims)
        return codegen_reduce.rows(plan, name, r)
    return codegen_reduce.columns(plan, name)


def propose_offline(task: Task, policy: str = "strict") -> OfflineResult:
    """Analyze ``task``'s reference and generate one candidate, or say why not.

    ``policy`` is "strict" (only custom kernels compute) or "torch-ok" (a
    library matmul/convolution may run before a fused epilogue kernel).
    """
    try:
        module = load_module(task)
    except Exception as err:  # noqa: BLE001 - a task that does not import cannot be analyzed
        return NoProposal(f"no proposal: the task does not import ({type(err).__name__}: {err})")
    try:
        with torch.no_grad():
            plan = an.analyze(module, tuple(task.shapes), policy)
            if not plan.program.operands:
                raise Unsupported("the output does not depend on any tensor")
            fulls = _checked_fulls(plan, module, task.shapes[0] if task.shapes else {})
        programs = [*plan.stages, plan.program]
        kernels = [make_kernel(Plan(program=p), kernel_name(task.name, _kind(p) + (f"{s}" if s < len(programs) - 1 else "")), f)
                   for s, (p, f) in enumerate(zip(programs, fulls))]
        labels = ", ".join(dict.fromkeys(label for p in programs for label in p.labels)) or "elementwise ops"
        lib = "".join(f"{c.op} + " for c in plan.library)
        post = "".join(f" + {c.op}" for c in plan.post)
        kinds = " + ".join(k.kind for k in kernels)
        title = f"{task.name}: {lib}fused {kinds} kernel{'s' if len(kernels) > 1 else ''} ({labels}){post}"
        source = render(plan, kernels, task.source, title)
    except Unsupported as err:
        return NoProposal(f"no proposal: {err}")
    tunables = tuple((t.name, t.value) for t in declared_tunables(source))
    note = f"offline: {kinds} kernel" + (f" after {lib[:-3]}" if lib else "")
    return Proposed(Candidate(source=source, proposer="offline", tunables=tunables, note=note), plan, kinds)


class OfflineProposer:
    """The built-in proposer: no network, no LLM (the default of ``cudarwin optimize``).

    Translate requests get the generated candidate (plus tunable variants when
    more than one is asked for); improve requests get tunable variants of the
    parent; repair requests get a note, since a generated candidate has no
    second idea. Analysis runs in a worker thread so the event loop stays free.
    """

    name = "offline"

    def __init__(self, seed: int = 0, device: str = "cuda") -> None:
        self.seed = seed
        self.device = device
        self._cache: dict[tuple[str, str], OfflineResult] = {}

    def result_for(self, task: Task, policy: str) -> OfflineResult:
        """``propose_offline`` memoized per task content and policy."""
        key = (task.id, policy)
        if key not in self._cache:
            self._cache[key] = propose_offline(task, policy)
        return self._cache[key]

    async def propose(self, request: Any) -> list[Any]:
        import asyncio

        from cudarwin.agent.proposer import Mode, Proposal

        count = max(1, int(request.count))
        if getattr(request, "device", "cuda") != "cuda":
            return [Proposal(None, note="no proposal: the offline proposer generates CUDA kernels (device is not cuda)",
                             proposer=self.name)]
        if request.mode is Mode.REPAIR:
            return [Proposal(None, note="no proposal: the offline proposer does not repair candidates",
                             proposer=self.name)]
        if request.mode is Mode.IMPROVE and request.parent is not None:
            seed = self.seed + request.seed + request.generation
            found = variants(request.parent.candidate, count, seed=seed)
            if not found:
                return [Proposal(None, note="no proposal: the parent declares no untried tunable values",
                                 proposer=self.name)]
            return [Proposal(c, note=c.note, proposer=self.name) for c in found]
        policy = getattr(request.policy, "value", str(request.policy))
        result = await asyncio.to_thread(self.result_for, request.task, policy)
        if isinstance(result, NoProposal):
            return [Proposal(None, note=result.reason, proposer=self.name)]
        extra = variants(result.candidate, count - 1, seed=self.seed + request.seed) if count > 1 else []
        return [Proposal(c, note=c.note, proposer=self.name) for c in [result.candidate, *extra]]


def main(argv: list[str] | None = None) -> int:
    """`python -m cudarwin.agent.offline TASK.py [--policy torch-ok]`: print the candidate (or why not)."""
    import argparse
    from pathlib import Path

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("task")
    parser.add_argument("--policy", default="strict", choices=("strict", "torch-ok"))
    args = parser.parse_args(argv)
    task = task_from_file(Path(args.task))
    result = propose_offline(task, args.policy)
    if isinstance(result, NoProposal):
        print(result.reason, file=sys.stderr)
        return 1
    print(result.candidate.source)
    return 0


def task_from_file(path: Any) -> Task:
    """A Task for a file."""
    return load_task(path)

