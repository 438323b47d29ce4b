"""Admission: is a task well-posed enough that passing it means something?

KernelBench issue #165 and robust-kbench show tasks where returning zeros or
a constant passes the correctness check. A task is admitted only if, on the
checked shape(s), its reference

- returns a tensor or a tuple of tensors, finite and not all zeros;
- leaves its inputs unchanged;
- is deterministic: a second forward on identical inputs agrees within 1e-6;
- is not near-constant: two random input draws give different outputs;
- depends on every tensor input: redrawing that input alone changes the output;
- depends on every floating parameter and buffer: perturbing it alone changes
  the output (buffers the forward itself rewrites, such as batch-norm running
  statistics in training mode, are state, not inputs, and are not checked).

"Changes" means by more than the comparison tolerance somewhere (``META``
atol/rtol, else a default per dtype), since an input whose effect stays
inside the tolerance could be dropped by a candidate and still pass.
"""

from __future__ import annotations

import math
import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Sequence

import torch
import torch.nn as nn

from cudarwin.tasks.inputs import make_inputs, make_model
from cudarwin.tasks.loader import error_from_exception, import_task
from cudarwin.tasks.sizing import smallest_shape_index
from cudarwin.types import Shape, Task, TaskError

TOO_SLOW_S = 20.0  # one CPU forward longer than this: ask for a smaller shape
DETERMINISM_TOL = 1e-6  # absolute and relative, between two identical forwards
# Tolerance an effect must exceed to count as a change, by output dtype (atol, rtol).
CHANGE_TOLERANCE: dict[torch.dtype, tuple[float, float]] = {
    torch.float64: (1e-7, 1e-7),
    torch.float32: (1e-4, 1e-4),
    torch.float16: (1e-2, 1e-2),
    torch.bfloat16: (2e-2, 2e-2),
}

LeafPath = tuple[int | str, ...]  # where a tensor sits in the nested inputs


@dataclass(frozen=True)
class ShapeAdmission:
    """The admission check of one shape."""

    index: int  # position in task.shapes
    shape: Shape
    problems: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()  # things not checked, and why
    forward_s: float | None = field(default=None, compare=False)  # wall time of one reference forward
    inputs_checked: int = 0  # tensor inputs shown to matter or found not to
    params_checked: int = 0  # parameters and buffers likewise

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class AdmissionReport:
    """Whether a task is admitted, every problem found, and the per-shape details."""

    task: str
    device: str
    ok: bool
    problems: tuple[str, ...]  # each prefixed with its shape
    shapes: tuple[ShapeAdmission, ...]


def check_admission(
    task: Task, *, device: str = "cpu", shape_indices: Sequence[int] | None = None, seed: int = 0
) -> AdmissionReport:
    """Check that ``task`` is well-posed on the given shapes (default: the smallest).

    Problems of the task's outputs are reported in the returned report; a task
    whose own code raises (``get_inputs``, ``Model(...)``, ``forward``) raises
    ``TaskError`` naming the file and line.
    """
    indices = list(shape_indices) if shape_indices is not None else [smallest_shape_index(task)]
    for index in indices:
        if not 0 <= index < len(task.shapes):
            raise TaskError(f"shape index {index} out of range: the task has {len(task.shapes)}", path=task.path)
    results = tuple(_check_shape(task, index, device, seed) for index in indices)
    problems = tuple(f"shape {r.index} {dict(r.shape)}: {p}" for r in results for p in r.problems)
    return AdmissionReport(task=task.name, device=str(device), ok=not problems, problems=problems, shapes=results)


# --------------------------------------------------------------------------- one shape


class _Runner:
    """Runs the reference forward on copies of inputs, from a saved model state."""

    def __init__(self, task: Task, model: nn.Module, device: str) -> None:
        self.task = task
        self.model = model
        self.device = device
        self.state = {k: v.detach().clone() for k, v in model.state_dict().items()}

    def __call__(
        self, inputs: list, *, restore: bool = True, tweak: Callable[[], None] | None = None, copy: bool = True
    ) -> Any:
        """The output of one forward; ``inputs`` themselves are used only with ``copy=False``."""
        if restore:
            self.model.load_state_dict(self.state)
        if tweak is not None:
            tweak()
        try:
            with torch.no_grad():
                out = self.model(*(_clone(inputs) if copy else inputs))
            if str(self.device).startswith("cuda"):
                torch.cuda.synchronize()
        except Exception as err:  # the task's own code: report it with its line
            raise error_from_exception(err, self.task.path, "Model.forward raised") from None
        return out


def _check_shape(task: Task, index: int, device: str, seed: int) -> ShapeAdmission:
    shape = task.shapes[index]
    module = import_task(task)
    run = _Runner(task, make_model(module, shape, seed=seed, device=device), device)
    inputs = make_inputs(module, shape, seed=seed, device=device)

    used = _clone(inputs)  # the first forward gets these themselves, to catch in-place writes
    ref, forward_s = _first_forward(run, used, limit=TOO_SLOW_S if str(device) == "cpu" else math.inf)
    if ref is None:
        msg = f"one forward took {forward_s:.0f} s or more: too slow for a CPU admission check; add a smaller shape"
        return ShapeAdmission(index, shape, (msg,), forward_s=forward_s)
    problems = _output_problems(ref)
    if problems:
        return ShapeAdmission(index, shape, tuple(problems), forward_s=forward_s)
    if _change(inputs, used, 0.0, 0.0) > 0:
        problems.append("forward modifies its inputs in place")

    other = make_inputs(module, shape, seed=seed + 1, device=device)
    tol = _tolerance(task, ref)
    problems += _behaviour_problems(run, ref, inputs, other, tol)
    input_problems, input_notes, n_inputs = _input_dependence(run, ref, inputs, other, tol, seed)
    param_problems, param_notes, n_params = _param_dependence(run, ref, inputs, tol, seed)
    return ShapeAdmission(
        index,
        shape,
        tuple(problems + input_problems + param_problems),
        tuple(input_notes + param_notes),
        forward_s=forward_s,
        inputs_checked=n_inputs,
        params_checked=n_params,
    )


def _first_forward(run: _Runner, inputs: list, *, limit: float) -> tuple[Any, float]:
    """The reference output (None when it ran past ``limit`` seconds) and its wall time."""
    start = time.perf_counter()
    try:
        with _deadline(limit):
            out = run(inputs, copy=False)
    except _TooSlow:
        out = None
    seconds = time.perf_counter() - start
    return (None if seconds > limit else out), seconds


def _behaviour_problems(run: _Runner, ref: Any, inputs: list, other: list, tol: tuple[float, float]) -> list[str]:
    """Determinism, and whether the output varies with the input draw at all."""
    problems = []
    again = run(inputs, restore=False)  # from the state the first forward left behind
    if _change(ref, again, DETERMINISM_TOL, DETERMINISM_TOL) > 1:
        problems.append("not deterministic: a second forward on identical inputs gives a different output")
    if _change(inputs, other, 0.0, 0.0) == 0:
        problems.append("get_inputs returns the same data for every seed; draw inputs at random")
    elif _change(ref, run(other), *tol) <= 1:
        problems.append("near-constant output: two random input draws give the same output")
    return problems


class _TooSlow(BaseException):
    """Raised by the alarm into a forward that runs past its deadline
    (a BaseException, so the task's own ``except Exception`` cannot swallow it)."""


@contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    """Interrupt the block after ``seconds`` (main thread, POSIX only; else no limit).

    A forward that loops in Python stops at the deadline; one long native op
    finishes first and is then reported by its measured time.
    """
    main_thread = threading.current_thread() is threading.main_thread()
    usable = 0 < seconds < math.inf and hasattr(signal, "setitimer") and main_thread
    if not usable:
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise _TooSlow

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _output_problems(out: Any) -> list[str]:
    leaves = list(_leaves(out))
    if not leaves:
        return ["forward returns an empty tuple"]
    problems = []
    for path, value in leaves:
        label = "output" if not path else f"output {_label(path)}"
        if not isinstance(value, torch.Tensor):
            problems.append(f"{label} is a {type(value).__name__}, not a tensor")
        elif value.numel() == 0:
            problems.append(f"{label} is empty")
        elif (value.is_floating_point() or value.is_complex()) and not bool(torch.isfinite(value).all()):
            problems.append(f"{label} has NaN/inf on random inputs")
        elif not bool(value.any()):
            problems.append(f"{label} is all zeros")
    return problems


def _input_dependence(
    run: _Runner, ref: Any, inputs: list, other: list, tol: tuple[float, float], seed: int
) -> tuple[list[str], list[str], int]:
    problems, notes, checked = [], [], 0
    redraws = dict(_leaves(other))
    gen_seed = seed + 2
    for path, tensor in _leaves(inputs):
        if not isinstance(tensor, torch.Tensor):
            continue  # scalars are configuration, not data
        label = f"input {_label(path)}"
        new = _redraw(tensor, redraws.get(path), gen_seed)
        gen_seed += 1
        if new is None:
            notes.append(f"{label} not checked: it is constant or empty, so it cannot be redrawn in range")
            continue
        checked += 1
        if _change(ref, run(_replace(inputs, path, new)), *tol) <= 1:
            problems.append(f"output does not depend on {label} {tuple(tensor.shape)}: redrawing it changes nothing")
    return problems, notes, checked


def _param_dependence(
    run: _Runner, ref: Any, inputs: list, tol: tuple[float, float], seed: int
) -> tuple[list[str], list[str], int]:
    problems, notes, checked = [], [], 0
    after = run.model.state_dict()  # state after the last forward: rewritten buffers differ
    named = list(run.model.named_parameters()) + list(run.model.named_buffers())
    gen = torch.Generator(device="cpu").manual_seed(seed + 1000)
    for name, tensor in named:
        if not (tensor.is_floating_point() or tensor.is_complex()) or tensor.numel() == 0:
            continue
        kind = "parameter" if isinstance(tensor, nn.Parameter) else "buffer"
        if kind == "buffer" and name in run.state and not torch.equal(after[name], run.state[name]):
            notes.append(f"buffer {name} not checked: the forward rewrites it (running state)")
            continue
        noise = _noise_like(tensor, gen)
        checked += 1
        out = run(inputs, tweak=lambda t=tensor, n=noise: t.data.add_(n))
        if _change(ref, out, *tol) <= 1:
            what = f"{kind} {name} {tuple(tensor.shape)}"
            problems.append(f"output does not depend on {what}: perturbing it changes nothing")
    run.model.load_state_dict(run.state)
    return problems, notes, checked


# --------------------------------------------------------------------------- perturbations


def _redraw(tensor: torch.Tensor, other: Any, seed: int) -> torch.Tensor | None:
    """New values for one input: the same input from another get_inputs draw when
    that differs (it keeps the task's own distribution: valid indices, positive
    variances), else random values of the same dtype in the same range."""
    if tensor.numel() == 0:
        return None
    if isinstance(other, torch.Tensor) and other.shape == tensor.shape and other.dtype == tensor.dtype:
        if not torch.equal(other, tensor):
            return other
    gen = torch.Generator(device="cpu").manual_seed(seed)
    cpu = tensor.detach().cpu()
    if cpu.dtype == torch.bool:
        flip = torch.rand(cpu.shape, generator=gen) < 0.5
        flip.view(-1)[0] = True  # at least one entry changes
        return (cpu ^ flip).to(tensor.device)
    if cpu.is_floating_point() or cpu.is_complex():
        return (cpu + _noise_like(cpu, gen)).to(tensor.device)
    low, high = int(cpu.min()), int(cpu.max())
    if low == high:
        return None
    return torch.randint(low, high + 1, cpu.shape, generator=gen, dtype=cpu.dtype).to(tensor.device)


def _noise_like(tensor: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Gaussian noise on the scale of ``tensor``: its spread, else its magnitude, else 1."""
    wide = _wide(tensor.cpu())
    spread = wide.std().item() if wide.numel() > 1 else 0.0
    scale = spread or wide.abs().max().item() or 1.0
    noise = torch.randn(wide.shape, generator=gen, dtype=torch.float64) * scale
    return noise.to(device=tensor.device, dtype=tensor.dtype)


# --------------------------------------------------------------------------- comparison


def _tolerance(task: Task, ref: Any) -> tuple[float, float]:
    dtypes = [t.dtype for _, t in _leaves(ref) if isinstance(t, torch.Tensor)]
    atol, rtol = max((CHANGE_TOLERANCE.get(d, (0.0, 0.0)) for d in dtypes), default=(0.0, 0.0))
    return (
        task.meta.atol if task.meta.atol is not None else atol,
        task.meta.rtol if task.meta.rtol is not None else rtol,
    )


def _change(a: Any, b: Any, atol: float, rtol: float) -> float:
    """Largest change between two values, in units of ``atol + rtol*|a|``
    (structures differing, or any change with zero tolerance, give inf)."""
    left, right = list(_leaves(a)), list(_leaves(b))
    if [p for p, _ in left] != [p for p, _ in right]:
        return float("inf")
    worst = 0.0
    for (_, x), (_, y) in zip(left, right):
        worst = max(worst, _change_one(x, y, atol, rtol))
    return worst


def _change_one(x: Any, y: Any, atol: float, rtol: float) -> float:
    if not (isinstance(x, torch.Tensor) and isinstance(y, torch.Tensor)):
        return 0.0 if type(x) is type(y) and x == y else float("inf")
    if x.shape != y.shape or x.dtype != y.dtype:
        return float("inf")
    if not (x.is_floating_point() or x.is_complex()):
        return 0.0 if torch.equal(x, y) else float("inf")
    xd, yd = _wide(x), _wide(y)
    same = (xd == yd) | (torch.isnan(xd) & torch.isnan(yd))  # equal infinities and NaN pairs are no change
    diff = torch.where(same, 0.0, torch.nan_to_num((xd - yd).abs(), nan=float("inf")))
    if diff.numel() == 0 or not bool((diff > 0).any()):
        return 0.0
    if atol == 0.0 and rtol == 0.0:
        return float("inf")
    allowance = atol + rtol * torch.nan_to_num(xd.abs(), nan=0.0, posinf=0.0)
    return float((diff / allowance).max())


def _wide(x: torch.Tensor) -> torch.Tensor:
    return x.detach().to(torch.complex128 if x.is_complex() else torch.float64)


# --------------------------------------------------------------------------- nested inputs/outputs


def _leaves(value: Any, prefix: LeafPath = ()) -> Iterator[tuple[LeafPath, Any]]:
    """(path, leaf) for every leaf of nested lists, tuples and dicts."""
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _leaves(item, prefix + (i,))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, prefix + (key,))
    else:
        yield prefix, value


def _replace(value: Any, path: LeafPath, new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {k: (_replace(v, rest, new) if k == head else v) for k, v in value.items()}
    items = [(_replace(v, rest, new) if i == head else v) for i, v in enumerate(value)]
    return items if isinstance(value, list) else tuple(items)


def _clone(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.clone()
    if isinstance(value, list):
        return [_clone(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_clone(v) for v in value)
    if isinstance(value, dict):
        return {k: _clone(v) for k, v in value.items()}
    return value


def _label(path: LeafPath) -> str:
    return ".".join(str(p) for p in path)
