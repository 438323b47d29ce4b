"""Optional LLM review of each new best candidate.

A second model reads the reference and the candidate and answers
``VERDICT: OK`` or ``VERDICT: FLAG``. A flag is always recorded (as a
``REVIEW_FLAGGED`` flag, which keeps the result off the leaderboard, and a
note); with ``reject`` it also rejects the candidate (fitness 0).
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import replace

from cudarwin.agent.llm.client import LLMClient, ModelSpec
from cudarwin.agent.llm.request import CallContext
from cudarwin.agent.prompts import render_review
from cudarwin.agent.store import RunStore
from cudarwin.types import Candidate, Evaluation, Reason, ReasonItem, Stage, Status, Task, Verdict


def parse_verdict(text: str) -> bool | None:
    """True when flagged, False when OK, None when the answer has no verdict."""
    for line in text.splitlines():
        upper = line.strip().upper()
        if upper.startswith("VERDICT:"):
            word = upper.split(":", 1)[1].strip()
            if word.startswith("FLAG"):
                return True
            if word.startswith("OK"):
                return False
    return None


def flagged(evaluation: Evaluation, explanation: str, reject: bool) -> Evaluation:
    """The evaluation with the review's flag (and rejection, if asked)."""
    item = ReasonItem(Reason.REVIEW_FLAGGED, explanation[:500])
    out = replace(evaluation, flags=evaluation.flags + (item,))
    if reject:
        out = replace(out, verdict=Verdict(Status.REJECTED, evaluation.verdict.reasons + (item,), Stage.RECHECK))
    return out


class Reviewer:
    """Reviews new best candidates from the evaluation threads (see EvalService)."""

    def __init__(self, client: LLMClient, spec: ModelSpec, store: RunStore, *, reject: bool, loop: asyncio.AbstractEventLoop):
        self.client = client
        self.spec = spec
        self.store = store
        self.reject = reject
        self.loop = loop
        self._best: dict[str, float] = {}
        self._lock = threading.Lock()

    async def review(self, task: Task, candidate: Candidate) -> tuple[bool, str]:
        messages = render_review(task.source, candidate.source)
        context = CallContext(task.name, "review", f"{task.name}/review/{candidate.id}")
        call = await self.client.chat(self.spec, messages, sample_index=0, context=context)
        if call.reply is None:
            return False, f"review failed: {call.error}"
        verdict = parse_verdict(call.reply.text)
        return bool(verdict), call.reply.text.strip()

    def after_evaluation(self, task: Task, candidate: Candidate, evaluation: Evaluation) -> Evaluation:
        """Called in an evaluation thread: review when this is a new best."""
        if not evaluation.accepted:
            return evaluation
        with self._lock:
            if evaluation.fitness <= self._best.get(task.name, 0.0):
                return evaluation
        is_flagged, text = asyncio.run_coroutine_threadsafe(self.review(task, candidate), self.loop).result()
        if is_flagged:
            self.store.add_note(task.name, "review_flagged", f"{candidate.id}: {text[:1000]}")
            evaluation = flagged(evaluation, text, self.reject)
        if evaluation.accepted and not is_flagged:
            with self._lock:
                self._best[task.name] = max(self._best.get(task.name, 0.0), evaluation.fitness)
        return evaluation
