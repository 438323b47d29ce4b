"""Configuration of ``cudarwin optimize``: Hydra's compose API over ``cudarwin/conf``.

Config groups: ``llm`` (offline, openai, vllm, sglang, ollama, openrouter),
``search`` (evolve, translate, repair, autotune), ``suite`` (quick, full,
papers) and ``runner`` (default). Overrides are Hydra's ``key=value``
strings, e.g. ``llm=openai llm.model=gpt-4.1 search.generations=20``.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Sequence

from omegaconf import DictConfig, OmegaConf

from cudarwin.types import CudarwinError

CONFIG_MODULE = "cudarwin.conf"
CONFIG_NAME = "config"
GROUPS = ("llm", "search", "suite", "runner")


def compose_config(overrides: Sequence[str] = ()) -> DictConfig:
    """The resolved config for these overrides; a bad override is a CudarwinError."""
    from hydra import compose, initialize_config_module
    from hydra.core.global_hydra import GlobalHydra

    GlobalHydra.instance().clear()
    try:
        with initialize_config_module(config_module=CONFIG_MODULE, version_base=None):
            cfg = compose(config_name=CONFIG_NAME, overrides=list(overrides))
    except Exception as err:  # Hydra's own errors name the override; keep their text
        raise CudarwinError(f"bad configuration override: {_first_line(err)}", hint="see `cudarwin optimize --help`") from None
    finally:
        GlobalHydra.instance().clear()
    return cfg


def load_saved_config(run_dir: Path | str, overrides: Sequence[str] = ()) -> DictConfig:
    """The config a run folder was started with, with ``overrides`` applied on top
    (e.g. a larger budget for a resumed run)."""
    path = Path(run_dir) / "config.yaml"
    if not path.is_file():
        raise CudarwinError("no config.yaml in the run folder", path=run_dir, hint="pass a folder written by `cudarwin optimize`")
    cfg = OmegaConf.load(path)
    overrides = [o for o in overrides if not o.startswith("resume=")]
    groups = [o for o in overrides if o.split("=", 1)[0].lstrip("+~") in GROUPS]
    if groups:
        raise CudarwinError(
            f"a resumed run keeps its config groups; {groups[0]!r} cannot change them",
            hint="override single keys instead (e.g. llm.budget.max_dollars=10), or start a new run",
        )
    try:
        cfg.merge_with_dotlist(overrides)
    except Exception as err:
        raise CudarwinError(f"bad override for a resumed run: {_first_line(err)}", hint="only key=value overrides apply") from None
    return cfg  # type: ignore[return-value]


def to_yaml(cfg: DictConfig) -> str:
    return OmegaConf.to_yaml(cfg, resolve=True)


def split_sweep(override: str) -> list[str]:
    """``a=1,2`` -> ``["a=1", "a=2"]``; values inside brackets or quotes are not split."""
    key, eq, value = override.partition("=")
    if not eq or "," not in value or value.strip().startswith(("[", "{", "'", '"')):
        return [override]
    return [f"{key}={v.strip()}" for v in value.split(",")]


def expand_multirun(overrides: Sequence[str]) -> list[list[str]]:
    """Every combination of comma-separated override values, in order."""
    choices = [split_sweep(o) for o in overrides]
    return [list(combo) for combo in itertools.product(*choices)]


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
