"""What the search keeps about a run, and the adapters onto the results archive.

The search talks to a :class:`RunStore`; :class:`ArchiveRunStore` writes to
``cudarwin.results.Archive`` (the run folder's SQLite archive), and
:class:`MemoryRunStore` keeps everything in memory for tests and dry runs.
:class:`ArchiveCallStore` is the LLM client's cache on the same archive.
"""

from __future__ import annotations

import json
import threading
from typing import Any, Protocol

from cudarwin.agent.llm.request import ChatReply, LLMCall
from cudarwin.types import Candidate, Evaluation, ShapeResult, Task

BASELINES_NOTE = "prompt_baselines"  # note kind holding the baselines shown in prompts (JSON)


class RunStore(Protocol):
    def add_task(self, task: Task) -> None: ...

    def add_candidate(self, candidate: Candidate, *, task: str, generation: int, island: int, model: str) -> str: ...

    def add_evaluation(self, evaluation: Evaluation) -> None: ...

    def evaluation(self, task: str, candidate_id: str) -> Evaluation | None:
        """The stored evaluation of this candidate (a resumed run reuses it)."""
        ...

    def add_note(self, task: str, kind: str, message: str) -> None: ...

    def link_call(self, call_key: str, candidate_id: str) -> None:
        """Record which candidate an LLM call produced (for trajectories)."""

    def prompt_baselines(self, task: str) -> tuple[ShapeResult, ...] | None:
        """The baselines first shown in this task's prompts (kept so that a
        resumed run sends the very same prompts and hits the LLM cache)."""
        ...


def encode_baselines(shapes: tuple[ShapeResult, ...]) -> str:
    return json.dumps([s.to_dict() for s in shapes])


def decode_baselines(text: str) -> tuple[ShapeResult, ...]:
    return tuple(ShapeResult.from_dict(d) for d in json.loads(text))


class MemoryRunStore:
    def __init__(self) -> None:
        self.tasks: dict[str, Task] = {}
        self.candidates: dict[tuple[str, str], Candidate] = {}
        self.evaluations: dict[tuple[str, str], Evaluation] = {}
        self.notes: list[tuple[str, str, str]] = []
        self.call_links: dict[str, str] = {}  # LLM request key -> candidate id
        self._lock = threading.Lock()

    def add_task(self, task: Task) -> None:
        self.tasks[task.name] = task

    def add_candidate(self, candidate: Candidate, *, task: str, generation: int = 0, island: int = 0, model: str = "") -> str:
        with self._lock:
            self.candidates.setdefault((task, candidate.id), candidate)
        return candidate.id

    def link_call(self, call_key: str, candidate_id: str) -> None:
        self.call_links[call_key] = candidate_id

    def add_evaluation(self, evaluation: Evaluation) -> None:
        with self._lock:
            self.evaluations[(evaluation.task, evaluation.candidate_id)] = evaluation

    def evaluation(self, task: str, candidate_id: str) -> Evaluation | None:
        return self.evaluations.get((task, candidate_id))

    def add_note(self, task: str, kind: str, message: str) -> None:
        self.notes.append((task, kind, message))

    def prompt_baselines(self, task: str) -> tuple[ShapeResult, ...] | None:
        found = [m for t, k, m in self.notes if t == task and k == BASELINES_NOTE]
        return decode_baselines(found[0]) if found else None


class ArchiveRunStore:
    """A RunStore over ``cudarwin.results.Archive``."""

    def __init__(self, archive: Any):
        self.archive = archive
        self._evals: dict[tuple[str, str], Evaluation] = {}

    def add_task(self, task: Task) -> None:
        self.archive.add_task(task)
        for ev in self.archive.evaluations(task.name):  # a resumed run: what was done before
            self._evals.setdefault((ev.task, ev.candidate_id), ev)

    def add_candidate(self, candidate: Candidate, *, task: str, generation: int = 0, island: int = 0, model: str = "") -> str:
        return self.archive.add_candidate(candidate, task=task, generation=generation, island=island, model=model)

    def link_call(self, call_key: str, candidate_id: str) -> None:
        self.archive.link_llm_call(call_key, candidate_id)

    def add_evaluation(self, evaluation: Evaluation) -> None:
        self.archive.add_evaluation(evaluation)
        self._evals[(evaluation.task, evaluation.candidate_id)] = evaluation

    def evaluation(self, task: str, candidate_id: str) -> Evaluation | None:
        return self._evals.get((task, candidate_id))

    def add_note(self, task: str, kind: str, message: str) -> None:
        self.archive.add_note(task, kind, message)

    def prompt_baselines(self, task: str) -> tuple[ShapeResult, ...] | None:
        found = [n.message for n in self.archive.notes(task) if n.kind == BASELINES_NOTE]
        return decode_baselines(found[0]) if found else None


class ArchiveCallStore:
    """The LLM cache in the run's archive: every call recorded, successful
    replies served back by request hash."""

    def __init__(self, archive: Any):
        self.archive = archive

    def get(self, key: str) -> ChatReply | None:
        record = self.archive.cached_llm_reply(key)
        if record is None:
            return None
        return ChatReply(record.reply, "stop", record.prompt_tokens, record.completion_tokens)

    def put(self, call: LLMCall) -> None:
        from cudarwin.results import LLMCallRecord

        messages = [{"role": m.role, "content": m.content} for m in call.request.messages]
        record = LLMCallRecord(
            request_hash=call.key,
            model=call.model,
            messages_json=json.dumps(messages, ensure_ascii=False),
            reply=call.reply.text if call.reply else "",
            prompt_tokens=call.prompt_tokens,
            completion_tokens=call.completion_tokens,
            cost_usd=call.cost_usd,
            latency_s=call.seconds,
            cache_hit=call.cached,
            task=call.context.task,
            conversation=call.context.conversation,
            turn=call.context.turn,
            strategy=call.context.strategy,
            error=(call.error or "failed") if call.reply is None else "",
        )
        self.archive.add_llm_call(record)
