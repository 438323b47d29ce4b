"""Records the archive stores that are not part of cudarwin.types."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Mapping, Sequence


@dataclass(frozen=True)
class LLMCallRecord:
    """One request to an LLM and its reply, as the archive keeps it.

    ``request_hash`` identifies the full request (model, messages, sampling
    parameters); a resumed run looks it up with ``Archive.cached_llm_reply``
    instead of paying for the same call twice.
    """

    request_hash: str
    model: str
    messages_json: str  # the request's messages, as JSON text (OpenAI chat format)
    reply: str  # the reply's text ("" when the call failed)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    latency_s: float = 0.0
    cache_hit: bool = False  # answered from the archive, not the provider
    task: str = ""
    candidate_id: str | None = None  # the candidate parsed from the reply, if any
    conversation: str = ""  # groups the turns of one multi-turn exchange
    turn: int = 0  # 0 for the first request of a conversation
    strategy: str = ""  # "translate", "repair", "evolve", ...
    error: str = ""  # provider or parse error, if the call produced no candidate

    @classmethod
    def from_messages(cls, messages: Sequence[Mapping[str, Any]], **fields: Any) -> "LLMCallRecord":
        """Build a record from chat messages (list of {"role", "content"} dicts)."""
        return cls(messages_json=json.dumps(list(messages), ensure_ascii=False), **fields)

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The request's messages, parsed."""
        return json.loads(self.messages_json)

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class Note:
    """A remark about a task that is not an evaluation (e.g. "no proposal: op X unsupported")."""

    task: str
    kind: str
    message: str
    created_at: float
