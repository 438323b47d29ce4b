"""Choosing the proposer: ``llm._target_`` names an entry of :data:`PROPOSERS`.

An entry is a callable taking the ``llm`` group's other keys and returning a
:class:`ProposerSetup`: the proposer's settings, checked before the run
folder is made (a missing API key fails first). ``setup.build(run)`` then
makes the run's proposer. Built in: ``offline`` (no network) and ``chat``
(any OpenAI-compatible endpoint: the ``llm=openai``, ``vllm``, ... presets).
A third-party proposer declares an entry point in the group
``cudarwin.proposers`` and is chosen as ``llm._target_=<its name>``.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping, Protocol

from cudarwin.agent.llm.cache import CallStore
from cudarwin.agent.proposer import Proposer
from cudarwin.registry import Registry
from cudarwin.types import CudarwinError, Device

if TYPE_CHECKING:
    from cudarwin.agent.llm.client import LLMClient

PROPOSERS = Registry(
    "proposer",
    "cudarwin.proposers",
    {"offline": "cudarwin.agent.proposers:OfflineSetup", "chat": "cudarwin.agent.llm.setup:ChatSetup"},
    setting="llm._target_",
)


@dataclass(frozen=True)
class RunResources:
    """What a run lends its proposer."""

    seed: int  # the run seed
    device: Device  # where candidates will run
    calls: CallStore  # where LLM calls are recorded and answered from (the run's archive)


@dataclass(frozen=True)
class BuiltProposer:
    """A run's proposer, with the LLM client it calls through (if any): the
    run reports that client's usage, and the optional reviewer shares it."""

    proposer: Proposer
    client: LLMClient | None = None


class ProposerSetup(Protocol):
    """A proposer's checked settings (what an entry of PROPOSERS returns)."""

    def build(self, run: RunResources) -> BuiltProposer: ...


def proposer_setup(llm: Mapping[str, Any]) -> ProposerSetup:
    """The setup named by ``llm._target_``, built from the group's other keys."""
    params = dict(llm)
    # A run folder written before ``_target_`` named the proposer says ``kind: offline|chat``.
    legacy = params.pop("kind", None)
    target = params.pop("_target_", None)
    name = str(legacy or target or "")
    if not name:
        raise CudarwinError("the llm config names no proposer", hint=f"set llm._target_ to one of: {', '.join(PROPOSERS.names())}")
    factory = PROPOSERS.load(name)
    try:
        return factory(**params)
    except TypeError as err:  # an unknown or missing key
        raise CudarwinError(f"llm: {err}", hint=f"check the llm.* keys for the proposer {name!r}") from None


class OfflineSetup:
    """The built-in offline proposer; any keys are passed to ``OfflineProposer``."""

    def __init__(self, **params: Any):
        from cudarwin.agent.offline import OfflineProposer

        accepted = inspect.signature(OfflineProposer).parameters
        unknown = set(params) - set(accepted)
        if unknown:
            raise CudarwinError(f"llm has unknown key(s) {sorted(unknown)} for the offline proposer", hint=f"known: {', '.join(accepted)}")
        self.params = params

    def build(self, run: RunResources) -> BuiltProposer:
        from cudarwin.agent.offline import OfflineProposer

        return BuiltProposer(OfflineProposer(**{"seed": run.seed, "device": run.device, **self.params}))
