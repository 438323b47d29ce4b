"""Reference outputs, computed in the trusted driver, and the secret hidden shapes.

The driver keeps each task's reference models (in the task's dtype and in
float64) in a small LRU cache, and computes from pristine inputs what a
candidate's outputs are judged against: expected values never enter a
worker. Every evaluation also draws a shape not listed in ``SHAPES``
(REWARD_HACKS.md #11), kept only if the reference runs on it.
"""

from __future__ import annotations

import copy
import json
import random
import secrets
import threading
from collections import OrderedDict
from typing import Any

import torch

from cudarwin.tasks import import_task, make_inputs, make_model
from cudarwin.types import Shape, Task
from cudarwin.verifier.compare import flatten_outputs
from cudarwin.verifier.inputs import InputRecipe, apply_variant, flat_tensors, roll_inputs, secret_seed, to_double

CACHE_SIZE = 24  # reference models kept (about 3 shapes x 8 tasks)


class References:
    """Reference models per (task, shape, device) in a bounded LRU cache; thread-safe.

    Bounded because every evaluation draws a new hidden shape, and a long
    search would otherwise keep a reference model per draw on the GPU.
    """

    def __init__(self, size: int = CACHE_SIZE):
        self.size = size
        self._models: OrderedDict[tuple, Any] = OrderedDict()
        self._lock = threading.Lock()

    def models(self, task: Task, shape: Shape, device: torch.device):
        """(task module, model, float64 model) for one shape."""
        key = (task.id, shape_key(shape), str(device))
        with self._lock:
            if key in self._models:
                self._models.move_to_end(key)
                return self._models[key]
        module = import_task(task)
        model = make_model(module, shape, device=device)
        entry = (module, model, copy.deepcopy(model).double())
        with self._lock:
            self._models[key] = entry
            while len(self._models) > self.size:
                self._models.popitem(last=False)
        return entry

    def expected(self, task: Task, shape: Shape, recipe: InputRecipe, device: torch.device):
        """Reference outputs (native dtype, float64) for a recipe on ``shape``."""
        module, model, model64 = self.models(task, shape, device)
        inputs = build_inputs(module, shape, recipe, device)
        with torch.no_grad():
            ref = model(*inputs)
            try:
                ref64 = model64(*to_double(inputs))
            except Exception:  # a reference that cannot run in float64 is judged against itself
                ref64 = ref
        return ref, ref64

    def hidden_shape(self, task: Task, device: torch.device) -> dict[str, Any] | None:
        """A shape not listed in ``SHAPES``, drawn anew for every evaluation (REWARD_HACKS #11).

        The smallest listed shape with its integer sizes moved by small random
        amounts (all at once, else one at a time), kept only if the reference
        runs on it and gives finite output: tasks whose sizes are tied to each
        other simply get fewer or no hidden shapes. Only sizes that differ
        between the listed shapes move.
        """
        base = dict(task.shapes[min(range(len(task.shapes)), key=lambda i: input_bytes(task, i))])
        # only sizes the task itself varies across SHAPES: a size fixed in every shape (a head
        # dimension, say) is part of the problem, and kernels may rely on it
        varying = {k for k in base if len({shape_key({"v": dict(s).get(k)}) for s in task.shapes}) > 1}
        ints = [k for k, v in base.items()
                if k in varying and isinstance(v, int) and not isinstance(v, bool) and v >= 2]
        rng = random.Random(secrets.randbits(64))
        tries = [ints] + [[k] for k in rng.sample(ints, len(ints))]
        listed = {shape_key(s) for s in task.shapes}
        for keys in tries:
            shape = {**base, **{k: base[k] + rng.choice((1, 2, 3, 5)) for k in keys}}
            if keys and shape_key(shape) not in listed and self._runs(task, shape, device):
                return shape
        return None

    def _runs(self, task: Task, shape: Shape, device: torch.device) -> bool:
        try:
            ref, _ = self.expected(task, shape, InputRecipe(0, secret_seed()), device)
        except Exception:  # the task does not accept this size: no hidden shape from it
            return False
        return all(bool(torch.isfinite(t).all()) for t in flatten_outputs(ref)
                   if isinstance(t, torch.Tensor) and t.is_floating_point())


def build_inputs(module, shape: Shape, recipe: InputRecipe, device: torch.device) -> list:
    """The inputs a recipe denotes on ``shape``; the worker builds the same ones."""
    inputs = make_inputs(module, shape, seed=recipe.seed, device=device)
    return roll_inputs(apply_variant(inputs, recipe.variant), recipe.roll)


_INPUT_BYTES: dict[tuple[str, int], int] = {}


def input_bytes(task: Task, shape_index: int) -> int:
    """Bytes of one input set of a listed shape (computed once per task and shape)."""
    key = (task.id, shape_index)
    if key not in _INPUT_BYTES:
        module = import_task(task)
        try:  # sizes without allocating: most tasks' get_inputs runs on the meta device
            inputs = make_inputs(module, task.shapes[shape_index], seed=0, device="meta")
        except Exception:
            inputs = make_inputs(module, task.shapes[shape_index], seed=0, device="cpu")
        _INPUT_BYTES[key] = sum(t.numel() * t.element_size() for t in flat_tensors(inputs))
    return _INPUT_BYTES[key]


def input_sets(task: Task, shape_index: int, wanted: int, budget_bytes: int) -> int:
    """Rotating input sets for a timing loop: ``wanted``, fewer if they overrun the budget, at least 2."""
    nbytes = input_bytes(task, shape_index)
    if nbytes <= 0:
        return wanted
    fit = int(budget_bytes // max(nbytes, 1))
    return max(2, min(wanted, fit))


def shape_key(shape: Shape) -> str:
    return json.dumps(dict(shape), sort_keys=True, default=str)
