"""Building the run's parts from the resolved config: tasks, device, policy,
evaluation settings and backend. Each function reads one config group (the
proposer's is ``agent.proposers``, the strategy's ``agent.search.base``)."""

from __future__ import annotations

from dataclasses import fields
from functools import partial
from typing import Any, Callable, Mapping

from omegaconf import DictConfig, OmegaConf

from cudarwin.backends import BACKENDS, Evaluator
from cudarwin.types import CudarwinError, Device, Policy, Task


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


def backend(runner: Mapping[str, Any]) -> Callable[[Any], Evaluator]:
    """``EvalConfig -> Evaluator`` for ``runner.backend``; its own settings,
    if any, are the keys of ``runner.<backend name>``."""
    name = str(runner.get("backend") or "local")
    factory = BACKENDS.load(name)
    options = runner.get(name)
    return partial(factory, **options) if isinstance(options, Mapping) else factory


def worker_count(runner: Mapping[str, Any], device: Device) -> int:
    if runner.get("workers"):
        return int(runner["workers"])
    if device is Device.CUDA:
        import torch

        return len(runner.get("gpus") or ()) or max(1, torch.cuda.device_count())
    return 1
