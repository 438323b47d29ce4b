"""The LLM client: model choice, concurrency, retries, cache, usage and budgets.

Every request goes through :meth:`LLMClient.chat`, which

1. answers from the call store when the exact request was answered before
   (so a resumed or repeated run makes no duplicate calls),
2. otherwise stops with BudgetExhausted if a budget is spent,
3. sends it through the model's provider under a concurrency limit, retrying
   transient failures with exponential backoff (Retry-After honoured),
4. records the call with its tokens and cost.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Sequence

from cudarwin.agent.llm.budget import Budget, Price, Usage
from cudarwin.agent.llm.cache import CallStore, MemoryCallStore
from cudarwin.agent.llm.errors import BudgetExhausted, RequestRejected, TransientError
from cudarwin.agent.llm.providers import Endpoint, Provider, make_provider
from cudarwin.agent.llm.request import CallContext, ChatReply, ChatRequest, LLMCall, Message
from cudarwin.agent.llm.retry import RetryPolicy, with_retries
from cudarwin.types import CudarwinError


@dataclass(frozen=True)
class ModelSpec:
    """One configured model (an entry of ``llm.models``)."""

    name: str  # the config key; what reports show
    model: str  # the provider's model id
    provider: str = "openai"
    base_url: str = ""
    api_key_env: str | None = None  # environment variable holding the key; None = no key
    weight: float = 1.0  # relative sampling weight
    price: Price = Price()
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    timeout: float = 120.0
    extra: tuple[tuple[str, Any], ...] = ()

    def request(self, messages: Sequence[Message], *, sample_index: int, seed: int | None = None) -> ChatRequest:
        return ChatRequest(
            model=self.model,
            messages=tuple(messages),
            temperature=self.temperature,
            top_p=self.top_p,
            max_tokens=self.max_tokens,
            seed=seed,
            sample_index=sample_index,
            provider=self.provider,
            base_url=self.base_url,
            extra=self.extra,
        )


def resolve_api_key(spec: ModelSpec) -> str:
    """The key from the environment; a missing variable is a user error."""
    if not spec.api_key_env:
        return ""
    key = os.environ.get(spec.api_key_env, "")
    if not key:
        raise CudarwinError(
            f"environment variable {spec.api_key_env} is not set; it holds the API key for model {spec.name!r}",
            hint=f"export {spec.api_key_env}=... or set llm.models.{spec.name}.api_key_env=null for servers without keys",
        )
    return key


class LLMClient:
    """Async chat client over several weighted models."""

    def __init__(
        self,
        models: Sequence[ModelSpec],
        *,
        store: CallStore | None = None,
        budget: Budget = Budget(),
        retry: RetryPolicy = RetryPolicy(),
        concurrency: int = 4,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ):
        if not models:
            raise CudarwinError("no LLM models configured", hint="add an entry under llm.models")
        if sum(m.weight for m in models) <= 0:
            raise CudarwinError("the weights of llm.models sum to zero", hint="give at least one model weight > 0")
        self.models = {m.name: m for m in models}
        self._keys = {m.name: resolve_api_key(m) for m in models}  # fail early, before any call
        self.store = store if store is not None else MemoryCallStore()
        self.usage = Usage(budget)
        self.retry = retry
        self._sleep = sleep
        self._limit = asyncio.Semaphore(max(1, concurrency))
        self._providers: dict[str, Provider] = {}
        self._inflight: dict[str, asyncio.Future[LLMCall]] = {}
        self._reserved = 0  # calls sent but not finished, counted against max_calls
        self.http_calls = 0  # requests actually sent (attempts), for tests and reports

    def pick(self, rng: random.Random) -> ModelSpec:
        """Draw a model by weight."""
        specs = list(self.models.values())
        return rng.choices(specs, weights=[m.weight for m in specs], k=1)[0]

    async def chat(
        self,
        spec: ModelSpec,
        messages: Sequence[Message],
        *,
        sample_index: int = 0,
        seed: int | None = None,
        context: CallContext = CallContext(),
    ) -> LLMCall:
        """Answer one request (cached, or sent). Raises BudgetExhausted when a
        budget is spent and ProviderConfigError when the provider is misconfigured;
        a request that fails for good comes back with ``reply=None`` and ``error``."""
        request = spec.request(messages, sample_index=sample_index, seed=seed)
        key = request.key()
        if key in self._inflight:  # the same request already on its way: share its answer
            return await asyncio.shield(self._inflight[key])
        future: asyncio.Future[LLMCall] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            call = await self._answer(spec, request, key, context)
            future.set_result(call)
            return call
        except BaseException as err:
            future.set_exception(err)
            future.exception()  # mark retrieved: waiters re-raise it themselves
            raise
        finally:
            del self._inflight[key]

    async def _answer(self, spec: ModelSpec, request: ChatRequest, key: str, context: CallContext) -> LLMCall:
        cached = self.store.get(key)
        if cached is not None:
            cost = spec.price.cost(cached.prompt_tokens, cached.completion_tokens)
            call = LLMCall(key, spec.name, request, cached, cost, task=context.task, cached=True, context=context)
            self.usage.record(spec.name, cached.prompt_tokens, cached.completion_tokens, cost, cached=True)
            self.store.put(call)
            return call
        self._reserve()
        try:
            call = await self._send(spec, request, key, context)
        finally:
            self._reserved -= 1
        self.usage.record(spec.name, call.prompt_tokens, call.completion_tokens, call.cost_usd, cached=False, failed=call.reply is None)
        self.store.put(call)
        return call

    def _reserve(self) -> None:
        budget = self.usage.budget
        if budget.max_calls is not None and self.usage.total().calls + self._reserved >= budget.max_calls:
            raise BudgetExhausted(f"llm.budget.max_calls={budget.max_calls} reached")
        self.usage.check()
        self._reserved += 1

    async def _send(self, spec: ModelSpec, request: ChatRequest, key: str, context: CallContext) -> LLMCall:
        provider = self._provider(spec)
        start = time.monotonic()

        sent = 0

        async def attempt() -> ChatReply:
            nonlocal sent
            async with self._limit:
                sent += 1
                self.http_calls += 1
                return await provider.complete(request)

        try:
            reply, attempts = await with_retries(attempt, self.retry, sleep=self._sleep)
        except (TransientError, RequestRejected) as err:
            seconds = time.monotonic() - start
            return LLMCall(key, spec.name, request, None, seconds=seconds, attempts=sent, error=str(err), task=context.task, context=context)
        cost = spec.price.cost(reply.prompt_tokens, reply.completion_tokens)
        return LLMCall(key, spec.name, request, reply, cost, time.monotonic() - start, attempts, task=context.task, context=context)

    def _provider(self, spec: ModelSpec) -> Provider:
        if spec.name not in self._providers:
            endpoint = Endpoint(base_url=spec.base_url, api_key=self._keys[spec.name], timeout=spec.timeout)
            self._providers[spec.name] = make_provider(spec.provider, endpoint)
        return self._providers[spec.name]

    async def aclose(self) -> None:
        for provider in self._providers.values():
            await provider.aclose()
        self._providers.clear()

