"""The LLM client against the fake OpenAI-compatible server."""

from __future__ import annotations

import asyncio
import random

import pytest

from cudarwin.agent.llm.budget import Budget, Price
from cudarwin.agent.llm.cache import SqliteCallStore
from cudarwin.agent.llm.client import LLMClient, ModelSpec
from cudarwin.agent.llm.errors import BudgetExhausted, ProviderConfigError
from cudarwin.agent.llm.request import Message
from cudarwin.agent.llm.retry import RetryPolicy, backoff_delay
from cudarwin.types import CudarwinError
from fakes.openai_server import FakeOpenAIServer, Scripted

MSGS = (Message("user", "write a kernel"),)


def spec(server: FakeOpenAIServer, **kw) -> ModelSpec:
    base = dict(name="m", model="fake-model", base_url=server.base_url, timeout=5.0, price=Price(1.0, 2.0))
    base.update(kw)
    return ModelSpec(**base)


def run(coro):
    return asyncio.run(coro)


class Sleeps:
    def __init__(self):
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


def test_reply_usage_and_cost():
    with FakeOpenAIServer([Scripted("hello", prompt_tokens=1000, completion_tokens=500)]) as server:
        async def go():
            client = LLMClient([spec(server)])
            call = await client.chat(client.models["m"], MSGS)
            await client.aclose()
            return client, call

        client, call = run(go())
    assert call.reply.text == "hello"
    assert call.cost_usd == pytest.approx((1000 * 1.0 + 500 * 2.0) / 1e6)
    total = client.usage.total()
    assert (total.calls, total.prompt_tokens, total.completion_tokens) == (1, 1000, 500)
    assert server.requests[0]["model"] == "fake-model"
    assert server.requests[0]["messages"] == [{"role": "user", "content": "write a kernel"}]


def test_429_retry_after_is_honoured_then_success():
    script = [Scripted("slow down", status=429, headers={"Retry-After": "7"}), Scripted("ok")]
    sleeps = Sleeps()
    with FakeOpenAIServer(script) as server:
        async def go():
            client = LLMClient([spec(server)], sleep=sleeps)
            return await client.chat(client.models["m"], MSGS)

        call = run(go())
    assert call.reply.text == "ok" and call.attempts == 2
    assert sleeps.delays == [7.0]


def test_5xx_backs_off_exponentially_then_gives_up():
    sleeps = Sleeps()
    with FakeOpenAIServer(lambda body: Scripted("down", status=503)) as server:
        async def go():
            client = LLMClient([spec(server)], sleep=sleeps, retry=RetryPolicy(max_retries=3, base_delay=1.0, jitter=0.0))
            return client, await client.chat(client.models["m"], MSGS)

        client, call = run(go())
    assert call.reply is None and "503" in call.error and call.attempts == 4
    assert sleeps.delays == [1.0, 2.0, 4.0]
    assert client.usage.total().failed == 1 and len(server.requests) == 4


def test_timeout_is_retried():
    script = [Scripted("late", delay=1.0), Scripted("on time")]
    sleeps = Sleeps()
    with FakeOpenAIServer(script) as server:
        async def go():
            client = LLMClient([spec(server, timeout=0.3)], sleep=sleeps)
            return await client.chat(client.models["m"], MSGS)

        call = run(go())
    assert call.reply.text == "on time" and len(sleeps.delays) == 1


def test_bad_key_stops_the_run():
    with FakeOpenAIServer([Scripted("no", status=401)]) as server:
        async def go():
            client = LLMClient([spec(server)])
            await client.chat(client.models["m"], MSGS)

        with pytest.raises(ProviderConfigError, match="API key"):
            run(go())


def test_missing_key_variable_is_named(monkeypatch):
    monkeypatch.delenv("CUDARWIN_TEST_KEY", raising=False)
    with pytest.raises(CudarwinError, match="CUDARWIN_TEST_KEY"):
        LLMClient([ModelSpec(name="m", model="x", api_key_env="CUDARWIN_TEST_KEY")])


def test_key_is_sent(monkeypatch):
    monkeypatch.setenv("CUDARWIN_TEST_KEY", "sk-test")
    with FakeOpenAIServer([Scripted("ok")]) as server:
        async def go():
            client = LLMClient([spec(server, api_key_env="CUDARWIN_TEST_KEY")])
            return await client.chat(client.models["m"], MSGS)

        assert run(go()).reply.text == "ok"
    assert server.authorizations == ["Bearer sk-test"]


def test_cache_serves_repeated_request_without_http(tmp_path):
    with FakeOpenAIServer([Scripted("first"), Scripted("second")]) as server:
        async def go(store):
            client = LLMClient([spec(server)], store=store)
            a = await client.chat(client.models["m"], MSGS, sample_index=0)
            b = await client.chat(client.models["m"], MSGS, sample_index=0)
            c = await client.chat(client.models["m"], MSGS, sample_index=1)
            return a, b, c

        store = SqliteCallStore(tmp_path / "cache.sqlite")
        a, b, c = run(go(store))
        assert (a.reply.text, b.reply.text, c.reply.text) == ("first", "first", "second")
        assert b.cached and not a.cached and len(server.requests) == 2
        # a new client on the same cache file: no HTTP at all
        again = run(go(SqliteCallStore(tmp_path / "cache.sqlite")))
        assert [x.reply.text for x in again] == ["first", "first", "second"]
        assert len(server.requests) == 2


def test_concurrent_identical_requests_are_sent_once():
    with FakeOpenAIServer(lambda body: Scripted("same", delay=0.2)) as server:
        async def go():
            client = LLMClient([spec(server)])
            return await asyncio.gather(*(client.chat(client.models["m"], MSGS) for _ in range(3)))

        calls = run(go())
    assert [c.reply.text for c in calls] == ["same"] * 3 and len(server.requests) == 1


def test_call_budget_ends_cleanly():
    with FakeOpenAIServer(lambda body: Scripted("x")) as server:
        async def go():
            client = LLMClient([spec(server)], budget=Budget(max_calls=2))
            await client.chat(client.models["m"], MSGS, sample_index=0)
            await client.chat(client.models["m"], MSGS, sample_index=1)
            await client.chat(client.models["m"], MSGS, sample_index=2)

        with pytest.raises(BudgetExhausted, match="max_calls=2"):
            run(go())
    assert len(server.requests) == 2


def test_dollar_budget():
    with FakeOpenAIServer(lambda body: Scripted("x", prompt_tokens=1_000_000, completion_tokens=0)) as server:
        async def go():
            client = LLMClient([spec(server)], budget=Budget(max_dollars=1.5))
            for i in range(5):
                await client.chat(client.models["m"], MSGS, sample_index=i)

        with pytest.raises(BudgetExhausted, match="max_dollars"):
            run(go())
    assert len(server.requests) == 2


def test_concurrency_limit():
    active = {"now": 0, "max": 0}
    import threading

    lock = threading.Lock()

    def script(body):
        with lock:
            active["now"] += 1
            active["max"] = max(active["max"], active["now"])
        import time

        time.sleep(0.1)
        with lock:
            active["now"] -= 1
        return Scripted("x")

    with FakeOpenAIServer(script) as server:
        async def go():
            client = LLMClient([spec(server)], concurrency=2)
            await asyncio.gather(*(client.chat(client.models["m"], MSGS, sample_index=i) for i in range(6)))

        run(go())
    assert active["max"] == 2


def test_weighted_model_choice():
    a = ModelSpec(name="a", model="a", weight=3.0)
    b = ModelSpec(name="b", model="b", weight=1.0)
    client = LLMClient([a, b])
    rng = random.Random(0)
    picks = [client.pick(rng).name for _ in range(2000)]
    assert 0.7 < picks.count("a") / 2000 < 0.8


def test_backoff_caps_retry_after():
    policy = RetryPolicy(max_delay=10.0)
    assert backoff_delay(policy, 0, 99.0, random.Random(0)) == 10.0


def test_unknown_provider_is_a_config_error():
    client = LLMClient([ModelSpec(name="m", model="x", provider="nope")])
    with pytest.raises(CudarwinError, match="unknown LLM provider 'nope'"):
        run(client.chat(client.models["m"], MSGS))
