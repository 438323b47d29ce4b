"""Building the run's parts from the resolved config: tasks, device, models,
proposer, evaluation settings. Each function reads one config group."""

from __future__ import annotations

from dataclasses import fields
from typing import Any, Callable, Mapping

from omegaconf import DictConfig, OmegaConf

from cudarwin.agent.llm.budget import Budget, Price
from cudarwin.agent.llm.cache import CallStore
from cudarwin.agent.llm.client import LLMClient, ModelSpec
from cudarwin.agent.llm.retry import RetryPolicy
from cudarwin.agent.proposer import Proposer
from cudarwin.types import CudarwinError, Device, Policy, Task

_MODEL_FIELDS = ("provider", "model", "base_url", "api_key_env", "price", "temperature", "top_p", "max_tokens", "timeout", "weight", "extra")


def plain(cfg: Any) -> Any:
    """A config node as plain Python containers."""
    return OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) else cfg


def resolve_device(requested: str) -> Device:
    """``auto`` -> cuda when a GPU is visible; ``cuda`` without a GPU is a user error."""
    if requested not in ("auto", Device.CUDA.value, Device.CPU.value):
        raise CudarwinError(f"runner.device={requested!r} is not one of auto, cuda, cpu")
    if requested == Device.CPU.value:
        return Device.CPU
    import torch

    if torch.cuda.is_available():
        return Device.CUDA
    raise CudarwinError(
        "no CUDA GPU is visible, so candidates cannot be run on a GPU",
        hint="run the whole loop on the CPU with torch-level candidates: cudarwin optimize runner.device=cpu",
    )


def resolve_policy(value: str | None, device: Device) -> Policy:
    if value is None:
        return Policy.STRICT if device is Device.CUDA else Policy.TORCH_OK
    try:
        return Policy(value)
    except ValueError:
        raise CudarwinError(f"runner.policy={value!r} is not one of strict, torch-ok") from None


def select_tasks(suite_cfg: Mapping[str, Any]) -> list[Task]:
    """The suite's tasks, filtered by ``suite.tasks`` and cut to ``suite.max_tasks``.
    Files that fail to load are an error: a run must not silently skip them."""
    from cudarwin.tasks.suites import load_suite

    loaded = load_suite(str(suite_cfg["name"]))
    if loaded.errors:
        raise loaded.errors[0]
    tasks = loaded.tasks
    wanted = list(suite_cfg.get("tasks") or [])
    if wanted:
        by_name = {t.name: t for t in tasks}
        missing = [n for n in wanted if n not in by_name]
        if missing:
            raise CudarwinError(f"suite.tasks names unknown task(s) {missing} in suite {suite_cfg['name']!r}", hint="see `cudarwin tasks list`")
        tasks = [by_name[n] for n in wanted]
    limit = suite_cfg.get("max_tasks")
    if limit is not None:
        tasks = tasks[: int(limit)]
    if not tasks:
        raise CudarwinError(f"suite {suite_cfg['name']!r} has no tasks")
    return tasks


def model_specs(llm: Mapping[str, Any]) -> list[ModelSpec]:
    """``llm.models`` entries (each falling back to the top-level fields), or
    the single top-level model when ``models`` is empty."""
    base = {k: llm.get(k) for k in _MODEL_FIELDS if k in llm}
    entries = dict(llm.get("models") or {}) or {str(llm.get("name") or llm.get("model")): {}}
    specs = []
    for name, over in entries.items():
        unknown = set(over or {}) - set(_MODEL_FIELDS)
        if unknown:
            raise CudarwinError(f"llm.models.{name} has unknown key(s) {sorted(unknown)}", hint=f"known: {', '.join(_MODEL_FIELDS)}")
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


def make_client(llm: Mapping[str, Any], store: CallStore) -> LLMClient:
    budget = llm.get("budget") or {}
    retry = llm.get("retry") or {}
    return LLMClient(
        model_specs(llm),
        store=store,
        budget=Budget(budget.get("max_calls"), budget.get("max_tokens"), budget.get("max_dollars")),
        retry=RetryPolicy(**{k: v for k, v in retry.items() if k in {f.name for f in fields(RetryPolicy)}}),
        concurrency=int(llm.get("concurrency") or 4),
    )


def make_offline_proposer(llm: Mapping[str, Any], *, seed: int, device: Device) -> Proposer:
    """The proposer named by ``llm._target_`` (the offline one by default)."""
    from hydra.utils import get_class

    target = llm.get("_target_")
    if not target:
        raise CudarwinError("llm.kind=offline needs llm._target_", hint="use llm=offline")
    try:
        cls: Callable[..., Proposer] = get_class(target)
    except Exception as err:
        raise CudarwinError(f"cannot import the proposer {target!r}: {err}", hint="is that part of cudarwin installed?") from None
    params = {k: v for k, v in llm.items() if k not in ("_target_", "kind")}
    import inspect

    accepted = inspect.signature(cls).parameters
    for key, value in (("seed", seed), ("device", device)):
        if key in accepted and key not in params:
            params[key] = value
    return cls(**params)


def eval_config(runner: Mapping[str, Any], device: Device, policy: Policy) -> Any:
    """The runner's EvalConfig; ``runner.eval`` passes further fields through."""
    from cudarwin.runner import EvalConfig

    known = {f.name: f for f in fields(EvalConfig)}
    extra = {k: v for k, v in (runner.get("eval") or {}).items() if v is not None}
    unknown = set(extra) - set(known)
    if unknown:
        raise CudarwinError(f"runner.eval has unknown key(s) {sorted(unknown)}", hint=f"EvalConfig fields: {', '.join(known)}")
    for key, value in list(extra.items()):
        if isinstance(value, list):
            extra[key] = tuple(value)
    if isinstance(extra.get("timing"), dict):
        from cudarwin.runner import TimingConfig

        extra["timing"] = TimingConfig(**extra["timing"])
    gpus = tuple(runner.get("gpus") or ())
    if gpus:
        extra["gpus"] = gpus
    return EvalConfig(device=device, policy=policy, **extra)


def worker_count(runner: Mapping[str, Any], device: Device) -> int:
    if runner.get("workers"):
        return int(runner["workers"])
    if device is Device.CUDA:
        import torch

        return len(runner.get("gpus") or ()) or max(1, torch.cuda.device_count())
    return 1
