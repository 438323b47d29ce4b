"""The LLM proposer: prompts a chat model and parses its answer into a candidate."""

from __future__ import annotations

import hashlib
import random

from cudarwin.agent.examples import worked_example
from cudarwin.agent.llm.cache import SqliteCallStore
from cudarwin.agent.llm.client import LLMClient, ModelSpec
from cudarwin.agent.llm.request import CallContext, LLMCall
from cudarwin.agent.parse import parse_reply
from cudarwin.agent.prompts import build_messages
from cudarwin.agent.proposer import Proposal, ProposalRequest
from cudarwin.types import Candidate


class LLMProposer:
    """Implements the Proposer protocol over an :class:`LLMClient`."""

    name = "llm"

    def __init__(self, client: LLMClient, *, seed: int = 0, examples: bool = True, shared: SqliteCallStore | None = None):
        self.client = client
        self.seed = seed
        self.examples = examples
        self.shared = shared  # the cross-run cache file the client reads through; closed with the proposer

    async def propose(self, request: ProposalRequest) -> list[Proposal]:
        example = worked_example(request.task) if self.examples else None
        messages = build_messages(request, example)
        out = []
        for i in range(max(1, request.count)):
            sample = request.sample_index * max(1, request.count) + i
            spec = self.client.pick(self._rng(request, sample))
            context = CallContext(request.task.name, request.mode.value, request.conversation, len(request.history))
            call = await self.client.chat(spec, messages, sample_index=sample, context=context)
            out.append(self._proposal(request, spec, call))
        return out

    def _rng(self, request: ProposalRequest, sample: int) -> random.Random:
        # Seeded by what identifies the request, so a resumed run picks the same models.
        text = f"{self.seed}:{request.seed}:{request.task.name}:{request.generation}:{request.island}:{sample}:{len(request.history)}"
        return random.Random(int(hashlib.sha256(text.encode()).hexdigest()[:16], 16))

    def _proposal(self, request: ProposalRequest, spec: ModelSpec, call: LLMCall) -> Proposal:
        label = f"llm:{spec.name}"
        usage = (("prompt_tokens", call.prompt_tokens), ("completion_tokens", call.completion_tokens), ("cost_usd", call.cost_usd))
        if call.reply is None:
            return Proposal(None, note=f"the call to {spec.name} failed: {call.error}", proposer=label, usage=usage)
        base = _edit_base(request)
        parsed = parse_reply(call.reply.text, base, truncated=call.reply.truncated)
        if not parsed.ok:
            return Proposal(None, note=parsed.outcome.value, proposer=label, reply=call.reply.text, problem=parsed.problem, usage=usage)
        parents = (request.parent.candidate.id,) if request.parent is not None else ()
        candidate = Candidate(parsed.source, proposer=label, parents=parents, note=_plan(call.reply.text))
        return Proposal(candidate, note=parsed.outcome.value, proposer=label, reply=call.reply.text, usage=usage,
                        call_key=call.key)

    async def aclose(self) -> None:
        await self.client.aclose()
        if self.shared is not None:
            self.shared.close()


def _edit_base(request: ProposalRequest) -> str | None:
    """The source SEARCH/REPLACE edits apply to: the last candidate of the
    conversation, else the parent."""
    for attempt in reversed(request.history):
        if attempt.candidate is not None:
            return attempt.candidate.source
    return request.parent.candidate.source if request.parent is not None else None


def _plan(reply: str, limit: int = 500) -> str:
    """The text before the first code block: the model's stated plan."""
    head = reply.split("```", 1)[0].strip()
    return head[:limit]
