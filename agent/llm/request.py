"""The values an LLM call is made of: request, reply, and the call record.

A request's :meth:`ChatRequest.key` hashes everything that shapes the answer
(model, endpoint, messages, sampling parameters and the sample index), so the
same request is answered from the cache instead of the network.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Message:
    role: str  # "system", "user" or "assistant"
    content: str


@dataclass(frozen=True)
class ChatRequest:
    """One chat completion request."""

    model: str  # the provider's model id
    messages: tuple[Message, ...]
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    seed: int | None = None
    sample_index: int = 0  # distinguishes repeated samples of the same prompt
    provider: str = "openai"  # registry name of the provider
    base_url: str = ""  # part of the key: the same model id at two endpoints differs
    extra: tuple[tuple[str, Any], ...] = ()  # further provider parameters (JSON-able)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["messages"] = [asdict(m) for m in self.messages]
        d["extra"] = dict(self.extra)
        return d

    def key(self) -> str:
        """Hash of the full request: the cache key."""
        blob = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()


@dataclass(frozen=True)
class ChatReply:
    """A provider's answer."""

    text: str
    finish_reason: str = "stop"  # "length" when cut off by max_tokens
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def truncated(self) -> bool:
        return self.finish_reason == "length"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ChatReply":
        return cls(d.get("text", ""), d.get("finish_reason", "stop"), d.get("prompt_tokens", 0), d.get("completion_tokens", 0))


@dataclass(frozen=True)
class CallContext:
    """Where a call belongs in the search, for the archive (not part of the key)."""

    task: str = ""
    strategy: str = ""  # "translate", "repair", "evolve", ...
    conversation: str = ""  # groups the turns of one exchange
    turn: int = 0


@dataclass(frozen=True)
class LLMCall:
    """What the archive records for every call made (or replayed)."""

    key: str  # ChatRequest.key()
    model: str  # configured model name (the key of the models table)
    request: ChatRequest
    reply: ChatReply | None  # None when the call failed for good
    cost_usd: float = 0.0
    seconds: float = 0.0  # wall time including retries
    attempts: int = 1
    error: str = ""
    task: str = ""
    cached: bool = field(default=False, compare=False)  # True when answered from the cache
    context: "CallContext" = field(default_factory=lambda: CallContext(), compare=False)

    @property
    def prompt_tokens(self) -> int:
        return self.reply.prompt_tokens if self.reply else 0

    @property
    def completion_tokens(self) -> int:
        return self.reply.completion_tokens if self.reply else 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "model": self.model,
            "task": self.task,
            "request": self.request.to_dict(),
            "reply": self.reply.to_dict() if self.reply else None,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cost_usd": self.cost_usd,
            "seconds": self.seconds,
            "attempts": self.attempts,
            "error": self.error,
        }
