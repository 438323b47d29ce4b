"""Retries with exponential backoff that honours the server's Retry-After."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from typing import Awaitable, Callable, TypeVar

from cudarwin.agent.llm.errors import TransientError

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 4  # retries after the first attempt
    base_delay: float = 1.0  # seconds before the first retry
    max_delay: float = 60.0  # cap on any single wait, Retry-After included
    jitter: float = 0.1  # up to this fraction added at random


def backoff_delay(policy: RetryPolicy, retry: int, retry_after: float | None, rng: random.Random) -> float:
    """Seconds to wait before retry number ``retry`` (0-based). A server's
    Retry-After wins over the exponential schedule (it knows its own limits)."""
    if retry_after is not None and retry_after >= 0:
        return min(retry_after, policy.max_delay)
    delay = min(policy.base_delay * (2**retry), policy.max_delay)
    return delay * (1.0 + policy.jitter * rng.random())


async def with_retries(
    call: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    *,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    rng: random.Random | None = None,
) -> tuple[T, int]:
    """Run ``call`` until it succeeds or a non-transient error is raised;
    returns the result and the number of attempts. The last TransientError is
    re-raised when retries run out."""
    rng = rng or random.Random()
    retry = 0
    while True:
        try:
            return await call(), retry + 1
        except TransientError as err:
            if retry >= policy.max_retries:
                raise
            await sleep(backoff_delay(policy, retry, err.retry_after, rng))
            retry += 1
