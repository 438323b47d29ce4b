"""Calling a task's ``get_inputs`` / ``get_init_inputs`` / ``Model`` reproducibly.

The same seed gives the same data in any process: torch's, Python's and
NumPy's global generators are all seeded before the task's code runs, since
a task may draw from any of them.
"""

from __future__ import annotations

import random
import types
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn as nn

from cudarwin.tasks.loader import error_from_exception
from cudarwin.types import Shape, TaskError

INIT_SEED = 0  # fixed: the reference and every candidate get the same init arguments


def seed_everything(seed: int) -> None:
    """Seed torch (all devices), Python's ``random`` and NumPy's global RNG."""
    torch.manual_seed(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)


def make_inputs(module: types.ModuleType, shape: Shape, *, seed: int, device: str | torch.device = "cpu") -> list:
    """``get_inputs(**shape)`` drawn under ``seed``, tensors on ``device``.

    Off the CPU, the task's factory calls run with ``device`` as the default
    device, so the same seed gives the same data in any process on that kind
    of device (CPU and CUDA draws differ from each other).

    Scalars and other non-tensor values are kept as they are; tensors nested
    in lists, tuples or dicts are moved too.
    """
    seed_everything(seed)
    if torch.device(device).type == "cpu":
        values = _call(module, "get_inputs", shape)
    else:
        # factory calls (randn, randint...) create on the device directly: drawing a GPU-sized
        # input on the CPU and copying it costs far more than the kernel under test
        with torch.device(device):
            values = _call(module, "get_inputs", shape)
    return [_to_device(v, device) for v in values]


def make_init_inputs(module: types.ModuleType, shape: Shape) -> list:
    """``get_init_inputs(**shape)`` under a fixed seed, so it is the same every call."""
    seed_everything(INIT_SEED)
    return list(_call(module, "get_init_inputs", shape))


def make_model(
    module: types.ModuleType, shape: Shape, *, seed: int = INIT_SEED, device: str | torch.device = "cpu"
) -> nn.Module:
    """``Model(*make_init_inputs(...))`` with parameters drawn under ``seed``, on ``device``.

    The module is left in its default (training) mode, as KernelBench runs it.
    """
    init = make_init_inputs(module, shape)
    seed_everything(seed)
    file = Path(module.__file__ or "<task>")
    try:
        model = module.Model(*init)
    except Exception as err:  # the task's own code: report it with its line
        raise error_from_exception(err, file, f"Model(*get_init_inputs(**{dict(shape)})) raised") from None
    return model.to(device)


def _call(module: types.ModuleType, name: str, shape: Shape) -> list:
    file = Path(module.__file__ or "<task>")
    try:
        values = getattr(module, name)(**shape)
    except Exception as err:  # the task's own code: report it with its line
        raise error_from_exception(err, file, f"{name}(**{dict(shape)}) raised") from None
    if not isinstance(values, (list, tuple)):
        raise TaskError(f"{name}() must return a list, got {type(values).__name__}", path=file)
    return list(values)


def _to_device(value: Any, device: str | torch.device) -> Any:
    if isinstance(value, torch.Tensor):
        return value.to(device)
    if isinstance(value, (list, tuple)):
        moved = [_to_device(v, device) for v in value]
        return type(value)(moved) if type(value) in (list, tuple) else moved
    if isinstance(value, dict):
        return {k: _to_device(v, device) for k, v in value.items()}
    return value
