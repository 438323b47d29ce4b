"""The ``chat`` proposer entry: an LLM behind an OpenAI-compatible (or other
registered) provider, configured by the ``llm=openai|vllm|sglang|ollama|openrouter``
presets.

:class:`ChatSetup` is the ``llm`` group as a dataclass; making one checks the
models and reads their API keys, so a missing key fails before a run folder
exists.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Mapping

from cudarwin.agent.llm.budget import Budget, Price
from cudarwin.agent.llm.cache import CallStore, ChainStore, SqliteCallStore
from cudarwin.agent.llm.client import LLMClient, ModelSpec, resolve_api_key
from cudarwin.agent.llm.proposer import LLMProposer
from cudarwin.agent.llm.retry import RetryPolicy
from cudarwin.agent.proposers import BuiltProposer, RunResources
from cudarwin.types import CudarwinError

MODEL_FIELDS = ("provider", "model", "base_url", "api_key_env", "price", "temperature", "top_p", "max_tokens", "timeout", "weight", "extra")


@dataclass(frozen=True)
class ChatSetup:
    """The ``llm`` group of a chat preset. The model fields are the defaults of
    every entry of ``models`` (or the one model when ``models`` is empty)."""

    model: str | None = None  # the provider's model id
    provider: str = "openai"  # a registered LLM provider
    base_url: str = ""
    api_key_env: str | None = None  # the environment variable holding the key (None: no key)
    price: Mapping[str, float] | None = None  # US dollars per million tokens: {input, output}
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    timeout: float | None = None  # seconds per request (None: 120)
    weight: float | None = None
    extra: Mapping[str, Any] | None = None  # passed to the provider as extra body fields
    name: str | None = None  # the single model's name in reports (None: its id)
    models: Mapping[str, Mapping[str, Any]] | None = None  # name -> overrides of the fields above
    concurrency: int | None = None  # requests in flight (None: 4)
    retry: Mapping[str, float] | None = None  # RetryPolicy fields
    budget: Mapping[str, float | None] | None = None  # max_calls, max_tokens, max_dollars
    shared_cache: str | None = None  # a cache file shared by runs
    examples: bool = True  # show a solved task of the same category
    specs: tuple[ModelSpec, ...] = field(init=False, compare=False)

    def __post_init__(self) -> None:
        specs = tuple(model_specs({f: getattr(self, f) for f in (*MODEL_FIELDS, "name", "models")}))
        for spec in specs:
            resolve_api_key(spec)
        object.__setattr__(self, "specs", specs)

    def build(self, run: RunResources) -> BuiltProposer:
        shared = SqliteCallStore(self.shared_cache) if self.shared_cache else None
        client = make_client(self, ChainStore(run.calls, shared) if shared else run.calls)
        return BuiltProposer(LLMProposer(client, seed=run.seed, examples=self.examples, shared=shared), client)


def model_specs(llm: Mapping[str, Any]) -> list[ModelSpec]:
    """``llm.models`` entries (each falling back to the top-level fields), or
    the single top-level model when ``models`` is empty."""
    base = {k: llm.get(k) for k in MODEL_FIELDS if k in llm}
    entries = dict(llm.get("models") or {}) or {str(llm.get("name") or llm.get("model")): {}}
    specs = []
    for name, over in entries.items():
        unknown = set(over or {}) - set(MODEL_FIELDS)
        if unknown:
            raise CudarwinError(f"llm.models.{name} has unknown key(s) {sorted(unknown)}", hint=f"known: {', '.join(MODEL_FIELDS)}")
        f = {**base, **(over or {})}
        if not f.get("model"):
            raise CudarwinError(f"llm.models.{name} names no model", hint="set its `model:` to the provider's model id")
        price = f.get("price") or {}
        specs.append(
            ModelSpec(
                name=str(name),
                model=str(f["model"]),
                provider=str(f.get("provider") or "openai"),
                base_url=str(f.get("base_url") or ""),
                api_key_env=f.get("api_key_env"),
                weight=float(f.get("weight", 1.0) if f.get("weight") is not None else 1.0),
                price=Price(float(price.get("input", 0.0)), float(price.get("output", 0.0))),
                temperature=f.get("temperature"),
                top_p=f.get("top_p"),
                max_tokens=f.get("max_tokens"),
                timeout=float(f.get("timeout") or 120.0),
                extra=tuple(sorted((f.get("extra") or {}).items())),
            )
        )
    return specs


def make_client(setup: ChatSetup, store: CallStore) -> LLMClient:
    """The client over the setup's models, budget, retries and concurrency."""
    budget = setup.budget or {}
    retry = setup.retry or {}
    return LLMClient(
        list(setup.specs),
        store=store,
        budget=Budget(budget.get("max_calls"), budget.get("max_tokens"), budget.get("max_dollars")),
        retry=RetryPolicy(**{k: v for k, v in retry.items() if k in {f.name for f in fields(RetryPolicy)}}),
        concurrency=int(setup.concurrency or 4),
    )
