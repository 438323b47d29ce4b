"""The provider registry: how a ``provider:`` name in the config becomes a client.

A provider is a factory ``(Endpoint) -> Provider``. Another distribution
adds one through the entry-point group ``cudarwin.providers`` (``name =
"package.module:factory"``); the built-in OpenAI-compatible provider is such
a ``module:attr`` name in :data:`PROVIDERS`, loaded the same way, so it has
no special path. :func:`register_provider` adds one in-process.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol

from cudarwin.agent.llm.request import ChatReply, ChatRequest
from cudarwin.registry import Registry

PROVIDERS = Registry(
    "LLM provider",
    "cudarwin.providers",
    {"openai": "cudarwin.agent.llm.openai_compat:OpenAICompatible"},
    setting="llm.models.<name>.provider",
)


@dataclass(frozen=True)
class Endpoint:
    """Where and how to reach a provider."""

    base_url: str = ""  # "" = the provider's default
    api_key: str = ""  # resolved from the environment variable named in the config
    timeout: float = 120.0  # seconds per request


class Provider(Protocol):
    """Sends one chat request. Raises TransientError (retry), RequestRejected
    (skip this request) or ProviderConfigError (stop the run)."""

    async def complete(self, request: ChatRequest) -> ChatReply: ...

    async def aclose(self) -> None: ...


ProviderFactory = Callable[[Endpoint], Provider]


def register_provider(name: str) -> Callable[[ProviderFactory], ProviderFactory]:
    """Decorator: make ``factory(endpoint) -> Provider`` available as ``name``
    in this process (installed plugins use the entry point instead)."""

    def deco(factory: ProviderFactory) -> ProviderFactory:
        return PROVIDERS.add(name, factory)

    return deco


def provider_names() -> list[str]:
    return PROVIDERS.names()


def make_provider(name: str, endpoint: Endpoint) -> Provider:
    """Build the provider registered as ``name``."""
    factory: ProviderFactory = PROVIDERS.load(name)
    return factory(endpoint)
