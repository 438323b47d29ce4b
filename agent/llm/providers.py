"""The provider registry: how a ``provider:`` name in the config becomes a client.

Providers register a factory under a name with :func:`register_provider`, or
from another distribution through the entry-point group
``cudarwin.providers`` (``name = "package.module:factory"``). The built-in
OpenAI-compatible provider registers itself the same way, so it has no
special path.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Callable, Protocol

from cudarwin.agent.llm.request import ChatReply, ChatRequest
from cudarwin.types import CudarwinError

ENTRY_POINT_GROUP = "cudarwin.providers"


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
_REGISTRY: dict[str, ProviderFactory] = {}


def register_provider(name: str) -> Callable[[ProviderFactory], ProviderFactory]:
    """Decorator: make ``factory(endpoint) -> Provider`` available as ``name``."""

    def deco(factory: ProviderFactory) -> ProviderFactory:
        _REGISTRY[name] = factory
        return factory

    return deco


def provider_names() -> list[str]:
    _load_builtin()
    return sorted(set(_REGISTRY) | {ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)})


def make_provider(name: str, endpoint: Endpoint) -> Provider:
    """Build the provider registered as ``name``."""
    _load_builtin()
    if name not in _REGISTRY:
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            if ep.name == name:
                _REGISTRY[name] = ep.load()
    if name not in _REGISTRY:
        raise CudarwinError(
            f"unknown LLM provider {name!r}",
            hint=f"set llm.models.<name>.provider to one of: {', '.join(provider_names())}",
        )
    return _REGISTRY[name](endpoint)


def _load_builtin() -> None:
    # Importing the module runs its @register_provider decorator.
    import cudarwin.agent.llm.openai_compat  # noqa: F401
