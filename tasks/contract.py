"""The task contract: what an executed task module must define.

Required: ``class Model(nn.Module)``, ``get_inputs`` and ``get_init_inputs``.
Optional: ``SHAPES`` (a non-empty list of keyword-argument dicts, the first
being the headline shape) and ``META`` (see ``META_KEYS``). A KernelBench
file has neither and gets the one shape ``{}``.
"""

from __future__ import annotations

import ast
import inspect
import math
import numbers
import types
from pathlib import Path
from typing import Any, Callable

import torch.nn as nn

from cudarwin.types import Shape, TaskError, TaskMeta

META_KEYS: dict[str, str] = {
    "category": "a string, e.g. 'norm'",
    "source": "a string: the paper or model the task comes from",
    "atol": "a non-negative number",
    "rtol": "a non-negative number",
    "backward": "True or False",
    "flops": "a callable taking the shape's keyword arguments",
    "bytes": "a callable taking the shape's keyword arguments",
    "extra": "a dict of strings to strings/numbers, kept for reports",
}


def check_contract(module: types.ModuleType, source: str, file: Path) -> tuple[tuple[Shape, ...], TaskMeta]:
    """Validate an executed task module; return its shapes and metadata.

    Raises ``TaskError`` naming the file, the line where one is known, and
    what to change.
    """
    lines = _top_level_lines(source)
    _check_model(module, file, lines)
    get_inputs = _function(module, "get_inputs", file, lines)
    get_init_inputs = _function(module, "get_init_inputs", file, lines)
    shapes = _shapes(module, file, lines)
    for index, shape in enumerate(shapes):
        line = lines.get(f"SHAPES[{index}]", lines.get("SHAPES"))
        for fn in (get_inputs, get_init_inputs):
            _check_binds(fn, shape, index, file, line)
    meta = _meta(module, file, lines, shapes)
    return shapes, meta


def _top_level_lines(source: str) -> dict[str, int]:
    """Line of each top-level definition/assignment, and of each SHAPES entry."""
    lines: dict[str, int] = {}
    tree = ast.parse(source)
    for node in tree.body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            lines[node.name] = node.lineno
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(node, ast.AnnAssign):
            targets = [node.target]
        for target in targets:
            if isinstance(target, ast.Name):
                lines[target.id] = node.lineno
                value = node.value
                if target.id == "SHAPES" and isinstance(value, (ast.List, ast.Tuple)):
                    for i, elt in enumerate(value.elts):
                        lines[f"SHAPES[{i}]"] = elt.lineno
    return lines


def _check_model(module: types.ModuleType, file: Path, lines: dict[str, int]) -> None:
    model = getattr(module, "Model", None)
    if model is None:
        raise TaskError("defines no `class Model(nn.Module)`", path=file, hint="the reference must be named Model")
    if not (isinstance(model, type) and issubclass(model, nn.Module)):
        raise TaskError(
            f"`Model` must be a subclass of torch.nn.Module, got {_describe(model)}",
            path=file,
            line=lines.get("Model"),
        )


def _function(module: types.ModuleType, name: str, file: Path, lines: dict[str, int]) -> Callable[..., Any]:
    fn = getattr(module, name, None)
    if fn is None:
        raise TaskError(f"defines no `{name}()` function", path=file, hint=f"add `def {name}(): return [...]`")
    if not callable(fn):
        raise TaskError(f"`{name}` must be a function, got {_describe(fn)}", path=file, line=lines.get(name))
    return fn


def _shapes(module: types.ModuleType, file: Path, lines: dict[str, int]) -> tuple[Shape, ...]:
    if not hasattr(module, "SHAPES"):
        return ({},)
    shapes = module.SHAPES
    line = lines.get("SHAPES")
    if not isinstance(shapes, (list, tuple)) or not shapes:
        raise TaskError("SHAPES must be a non-empty list of dicts", path=file, line=line)
    out = []
    for index, shape in enumerate(shapes):
        at = lines.get(f"SHAPES[{index}]", line)
        if not isinstance(shape, dict):
            raise TaskError(f"SHAPES[{index}] must be a dict, got {_describe(shape)}", path=file, line=at)
        bad = [k for k in shape if not (isinstance(k, str) and k.isidentifier())]
        if bad:
            raise TaskError(f"SHAPES[{index}] has keys that are not argument names: {bad!r}", path=file, line=at)
        out.append(dict(shape))
    return tuple(out)


def _check_binds(fn: Callable[..., Any], shape: Shape, index: int, file: Path, line: int | None) -> None:
    """The shape's keys must be accepted by ``fn``, and must give its required arguments."""
    name = getattr(fn, "__name__", "function")
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return  # builtins without a signature: checked when called
    params = sig.parameters.values()
    if not any(p.kind is p.VAR_KEYWORD for p in params):
        named = {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
        for key in shape:
            if key not in named:
                raise TaskError(
                    f"SHAPES[{index}] key {key!r} is not accepted by {name}()",
                    path=file,
                    line=line,
                    hint=f"add a parameter `{key}` or `**shape` to {name}",
                )
    try:
        sig.bind(**shape)
    except TypeError as err:
        what = f"SHAPES[{index}]" if shape else "the default shape {} (no SHAPES)"
        raise TaskError(f"{name}(**{what}) cannot be called: {err}", path=file, line=line) from None


def _meta(module: types.ModuleType, file: Path, lines: dict[str, int], shapes: tuple[Shape, ...]) -> TaskMeta:
    if not hasattr(module, "META"):
        return TaskMeta()
    meta = module.META
    line = lines.get("META")
    if not isinstance(meta, dict):
        raise TaskError(f"META must be a dict, got {_describe(meta)}", path=file, line=line)
    unknown = sorted(str(k) for k in meta if k not in META_KEYS)
    if unknown:
        raise TaskError(
            f"META has unknown keys {unknown}; allowed keys: {', '.join(META_KEYS)}",
            path=file,
            line=line,
            hint="put free-form fields under META['extra']",
        )
    fields: dict[str, Any] = {}
    for key, value in meta.items():
        fields[key] = _meta_value(key, value, file, line, shapes)
    return TaskMeta(**fields)


def _meta_value(key: str, value: Any, file: Path, line: int | None, shapes: tuple[Shape, ...]) -> Any:
    def bad() -> TaskError:
        return TaskError(f"META[{key!r}] must be {META_KEYS[key]}, got {_describe(value)}", path=file, line=line)

    if key in ("category", "source"):
        if not isinstance(value, str):
            raise bad()
        return value
    if key in ("atol", "rtol"):
        if value is None:
            return None
        if not _is_number(value) or not (value >= 0 and math.isfinite(value)):
            raise bad()
        return float(value)
    if key == "backward":
        if not isinstance(value, bool):
            raise bad()
        return value
    if key in ("flops", "bytes"):
        if value is None:
            return None
        if not callable(value):
            raise bad()
        _check_cost(key, value, file, line, shapes)
        return value
    # extra
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, (str, int, float, bool)) for k, v in value.items()
    ):
        raise bad()
    return tuple(sorted(value.items()))


def _check_cost(key: str, fn: Callable[..., Any], file: Path, line: int | None, shapes: tuple[Shape, ...]) -> None:
    """META flops/bytes must give a non-negative number for every shape."""
    for index, shape in enumerate(shapes):
        try:
            value = fn(**shape)
        except Exception as err:  # the task's own code: report it, never a traceback
            raise TaskError(
                f"META[{key!r}](**SHAPES[{index}]) raised {type(err).__name__}: {err}", path=file, line=line
            ) from None
        if not _is_number(value) or not value >= 0:
            raise TaskError(
                f"META[{key!r}](**SHAPES[{index}]) must return a non-negative number, got {value!r}",
                path=file,
                line=line,
            )


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _describe(value: Any) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text[:60]}"
