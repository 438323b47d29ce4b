"""How big a task's shapes are, without allocating their inputs.

Suite tasks are sized for a GPU; drawing every shape's inputs on the CPU just
to pick the smallest could take gigabytes. ``get_inputs`` therefore runs with
PyTorch's default device set to ``meta`` (shapes only, no data); a task that
cannot run that way is sized by the product of its integer shape values.
"""

from __future__ import annotations

import math
import random

import torch

from cudarwin.tasks.loader import import_task
from cudarwin.types import Shape, Task


def input_elements(task: Task, shape: Shape) -> float:
    """Total elements of the tensors ``get_inputs(**shape)`` returns (an estimate
    when the task cannot be called on the meta device)."""
    module = import_task(task)
    state = random.getstate()
    try:
        with torch.device("meta"):
            values = module.get_inputs(**shape)
        return float(sum(t.numel() for t in _tensors(values)))
    except Exception:  # the task needs real data (e.g. .item()): estimate instead
        ints = [v for v in shape.values() if isinstance(v, int) and not isinstance(v, bool)]
        return float(math.prod(ints)) if ints else 0.0
    finally:
        random.setstate(state)


def smallest_shape_index(task: Task) -> int:
    """Index of the shape with the fewest input elements (the first on ties)."""
    if len(task.shapes) == 1:
        return 0
    sizes = [input_elements(task, shape) for shape in task.shapes]
    return min(range(len(sizes)), key=lambda i: sizes[i])


def _tensors(value: object) -> list[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (list, tuple)):
        return [t for item in value for t in _tensors(item)]
    if isinstance(value, dict):
        return [t for item in value.values() for t in _tensors(item)]
    return []
