"""Input sets for correctness trials and timed calls.

Both the driver (to compute the reference) and the worker (to run the
candidate) build inputs from the same recipe ``InputRecipe(shape_index,
seed, variant, roll)``, so only the recipe crosses the process boundary.
Seeds are drawn by the driver with ``secrets`` after the candidate has been
constructed, so nothing in ``__init__`` can predict them.

Variants make each op of the reference matter (REWARD_HACKS.md #14):
``wide`` scales floating inputs up (a softmax without its max subtraction
overflows), ``tiny`` scales them down (a norm without its epsilon blows up).
Scaling by a positive factor keeps signs, so a task whose inputs must be
positive stays in its domain. ``roll`` shifts the contents of floating
inputs by a number of elements: the same values at other places, so caches
keyed by pointer, shape or a prefix return stale results (#8, #9).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from enum import Enum
from typing import Any

import torch


class Variant(str, Enum):
    NORMAL = "normal"  # the task's own get_inputs distribution
    WIDE = "wide"  # floating inputs x 64
    TINY = "tiny"  # floating inputs x 1/256


_SCALE = {Variant.NORMAL: 1.0, Variant.WIDE: 64.0, Variant.TINY: 1.0 / 256.0}

# Trials per shape: the task's distribution twice, then the adversarial ones.
DEFAULT_VARIANTS: tuple[Variant, ...] = (Variant.NORMAL, Variant.NORMAL, Variant.WIDE, Variant.TINY)


@dataclass(frozen=True)
class InputRecipe:
    """Everything needed to rebuild one input set in any process."""

    shape_index: int
    seed: int
    variant: Variant = Variant.NORMAL
    roll: int = 0  # elements to roll floating inputs by (0 = as generated)

    def to_dict(self) -> dict[str, Any]:
        return {"shape_index": self.shape_index, "seed": self.seed, "variant": self.variant.value, "roll": self.roll}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "InputRecipe":
        return cls(int(d["shape_index"]), int(d["seed"]), Variant(d["variant"]), int(d["roll"]))


def secret_seed() -> int:
    """A seed nobody can predict (63 bits, from the OS)."""
    return secrets.randbits(63)


def apply_variant(inputs: list[Any], variant: Variant) -> list[Any]:
    """Scale floating tensor inputs for an adversarial variant."""
    scale = _SCALE[variant]
    if scale == 1.0:
        return inputs
    return [_map_tensors(x, lambda t: t * scale if t.is_floating_point() else t) for x in inputs]


def roll_inputs(inputs: list[Any], shift: int) -> list[Any]:
    """Roll the flat contents of floating tensor inputs by ``shift`` elements."""
    if shift == 0:
        return inputs

    def roll(t: torch.Tensor) -> torch.Tensor:
        if not t.is_floating_point() or t.numel() < 2:
            return t
        return torch.roll(t.reshape(-1), shift % t.numel()).reshape(t.shape).contiguous()

    return [_map_tensors(x, roll) for x in inputs]


def roll_inputs_(inputs: list[Any], base: list[Any], shift: int) -> None:
    """In place: ``inputs[i] = roll(base[i], shift)`` for floating tensors.

    Keeps each tensor's storage (pointer) while changing its contents: the
    timing loop uses it between calls so pointer-keyed caches go stale.
    """
    for dst, src in zip(_flat_tensors(inputs), _flat_tensors(base)):
        if dst.is_floating_point() and dst.numel() >= 2:
            dst.copy_(torch.roll(src.reshape(-1), shift % src.numel()).reshape(src.shape))


def _map_tensors(x: Any, fn) -> Any:
    if isinstance(x, torch.Tensor):
        return fn(x)
    if isinstance(x, (list, tuple)):
        return type(x)(_map_tensors(v, fn) for v in x)
    return x


def _flat_tensors(x: Any) -> list[torch.Tensor]:
    if isinstance(x, torch.Tensor):
        return [x]
    if isinstance(x, (list, tuple)):
        out: list[torch.Tensor] = []
        for v in x:
            out.extend(_flat_tensors(v))
        return out
    return []


def flat_tensors(x: Any) -> list[torch.Tensor]:
    """All tensors in a (nested) list/tuple, in order."""
    return _flat_tensors(x)


def to_double(x: Any) -> Any:
    """Floating tensors to float64 (for the float64 reference); others unchanged."""
    return _map_tensors(x, lambda t: t.double() if t.is_floating_point() else t)


def checksum(tensors: list[torch.Tensor]) -> list[tuple]:
    """A cheap fingerprint of tensors' contents, to detect mutated inputs."""
    out = []
    for t in tensors:
        if t.numel() == 0:
            out.append((tuple(t.shape), 0.0, 0.0))
            continue
        f = t.detach().reshape(-1).double()
        w = torch.arange(1, f.numel() + 1, device=f.device, dtype=torch.float64).remainder_(97.0).add_(1.0)
        out.append((tuple(t.shape), float(torch.nansum(f)), float(torch.nansum(f * w)), int(torch.isnan(f).sum())))
    return out
