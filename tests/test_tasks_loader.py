"""Loading task files: the contract, error messages, fresh imports, seeded inputs."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

from cudarwin.tasks import import_task, load_task, make_init_inputs, make_inputs, make_model
from cudarwin.types import CudarwinError, TaskError

FIXTURES = Path(__file__).parent / "fixtures" / "tasks"
BAD = FIXTURES / "bad"
KERNELBENCH = FIXTURES / "kernelbench"

GOOD_TASK = '''
import random
import torch
import torch.nn as nn

CALLS = []


class Model(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.lin = nn.Linear(d, d)

    def forward(self, x, scale, pair):
        CALLS.append(1)
        return self.lin(x) * scale + pair[0] @ pair[1]


def get_inputs(n, d):
    return [torch.randn(n, d), 0.5 + random.random(), (torch.randn(n, d), torch.randn(d, d))]


def get_init_inputs(d, **_):
    return [d]


SHAPES = [dict(n=4, d=8), dict(n=3, d=5)]
META = dict(category="linear", source="test", atol=1e-4, rtol=1e-3,
            flops=lambda n, d: 2 * n * d * d, bytes=lambda **s: 4 * s["n"] * s["d"],
            extra=dict(note="fixture"))
'''


@pytest.fixture()
def good(tmp_path: Path) -> Path:
    path = tmp_path / "linear_task.py"
    path.write_text(GOOD_TASK)
    return path


def test_load_good_task(good: Path) -> None:
    task = load_task(good, suite="mine")
    assert task.name == "linear_task"
    assert task.path == good.resolve()
    assert task.source == GOOD_TASK
    assert task.suite == "mine"
    assert task.shapes == ({"n": 4, "d": 8}, {"n": 3, "d": 5})
    assert task.meta.category == "linear"
    assert (task.meta.atol, task.meta.rtol) == (1e-4, 1e-3)
    assert task.meta.flops is not None and task.meta.flops(n=2, d=3) == 36
    assert task.meta.extra == (("note", "fixture"),)


# (file, expected line or None, words the message must contain)
BAD_CASES = [
    ("syntax_error.py", 6, ["syntax error"]),
    ("no_model.py", None, ["class Model"]),
    ("model_not_module.py", 4, ["nn.Module"]),
    ("no_get_inputs.py", None, ["get_inputs"]),
    ("raises_on_import.py", 5, ["KeyError", "'m'"]),
    ("shape_key_rejected.py", 20, ["SHAPES[1]", "'dtype'", "get_inputs()"]),
    ("bad_meta_key.py", 18, ["atoll", "allowed keys", "category", "rtol"]),
]


@pytest.mark.parametrize(("name", "line", "words"), BAD_CASES, ids=[c[0] for c in BAD_CASES])
def test_bad_file_gives_one_task_error(name: str, line: int | None, words: list[str]) -> None:
    path = BAD / name
    with pytest.raises(TaskError) as info:
        load_task(path)
    err = info.value
    assert isinstance(err, CudarwinError)
    assert err.path == str(path.resolve())
    assert err.line == line
    message = str(err)
    assert message.startswith(f"{path.resolve()}:{line}: " if line else f"{path.resolve()}: ")
    for word in words:
        assert word in message
    assert "Traceback" not in message


def test_get_inputs_raising_names_file_and_line() -> None:
    path = BAD / "get_inputs_raises.py"
    task = load_task(path)  # the contract holds; the error shows when inputs are drawn
    with pytest.raises(TaskError) as info:
        make_inputs(import_task(task), task.shapes[0], seed=0)
    assert info.value.path == str(path.resolve())
    assert info.value.line == 11
    assert "get_inputs" in str(info.value) and "RuntimeError" in str(info.value)


def test_missing_file_is_task_error(tmp_path: Path) -> None:
    with pytest.raises(TaskError, match="no such task file"):
        load_task(tmp_path / "absent.py")


@pytest.mark.parametrize(
    ("snippet", "words"),
    [
        ("SHAPES = []", ["non-empty"]),
        ("SHAPES = [dict(n=4, d=8), 3]", ["SHAPES[1]", "dict"]),
        ("SHAPES = [dict(n=4)]", ["get_inputs", "'d'"]),
        ("META = dict(category=3)", ["category", "string"]),
        ("META = dict(atol='small')", ["atol", "number"]),
        ("META = dict(atol=True)", ["atol", "number"]),
        ("META = dict(backward=1)", ["backward"]),
        ("META = dict(flops=12)", ["flops", "callable"]),
        ("META = dict(flops=lambda n: n)", ["flops", "TypeError"]),
        ("META = dict(bytes=lambda **s: -1)", ["bytes", "non-negative"]),
        ("META = 'norm'", ["META must be a dict"]),
        ("get_init_inputs = 3", ["get_init_inputs", "function"]),
        ("del SHAPES", ["default shape {}", "missing a required argument: 'n'"]),
        ("import sys\nsys.exit(3)", ["SystemExit: 3"]),
        ("META = dict(extra=dict(note=[1, 2]))", ["extra", "dict of strings"]),
    ],
)
def test_contract_violations(tmp_path: Path, snippet: str, words: list[str]) -> None:
    path = tmp_path / "task.py"
    path.write_text(GOOD_TASK + "\n" + snippet + "\n")
    with pytest.raises(TaskError) as info:
        load_task(path)
    assert info.value.path == str(path.resolve())
    for word in words:
        assert word in str(info.value)


def test_kwargs_function_accepts_any_shape_key(tmp_path: Path) -> None:
    path = tmp_path / "task.py"
    text = GOOD_TASK.replace("def get_inputs(n, d):", "def get_inputs(n, d, **extra):")
    text = text.replace("lambda n, d:", "lambda n, d, **_:")
    path.write_text(text + "\nSHAPES = [dict(n=2, d=3, dtype='float32')]\n")
    assert load_task(path).shapes == ({"n": 2, "d": 3, "dtype": "float32"},)


@pytest.mark.parametrize("path", sorted(KERNELBENCH.glob("*.py")), ids=lambda p: p.name)
def test_kernelbench_files_load_unchanged(path: Path) -> None:
    task = load_task(path)
    assert task.shapes == ({},)
    assert task.meta.category == "uncategorized"
    module = import_task(task)
    inputs = make_inputs(module, {}, seed=1)
    model = make_model(module, {})
    out = model(*inputs)
    assert isinstance(out, torch.Tensor) and out.numel() > 0


def test_import_task_gives_fresh_modules(good: Path) -> None:
    task = load_task(good)
    first, second = import_task(task), import_task(task)
    assert first is not second and first.Model is not second.Model
    first.CALLS.append("x")
    assert second.CALLS == []
    assert first.__name__ != second.__name__
    assert first.__name__ not in sys.modules and second.__name__ not in sys.modules


def test_make_inputs_is_seeded_and_keeps_structure(good: Path) -> None:
    task = load_task(good)
    module = import_task(task)
    a = make_inputs(module, task.shapes[0], seed=7)
    b = make_inputs(import_task(task), task.shapes[0], seed=7)
    c = make_inputs(module, task.shapes[0], seed=8)
    assert isinstance(a[1], float) and a[1] == b[1] != c[1]  # python `random` seeded too
    assert torch.equal(a[0], b[0]) and not torch.equal(a[0], c[0])
    assert isinstance(a[2], tuple) and torch.equal(a[2][1], b[2][1])
    assert a[0].shape == (4, 8)


def test_make_init_inputs_and_model_are_deterministic(good: Path) -> None:
    task = load_task(good)
    module = import_task(task)
    assert make_init_inputs(module, task.shapes[1]) == [5]
    m1, m2 = make_model(module, task.shapes[1]), make_model(import_task(task), task.shapes[1])
    assert torch.equal(m1.lin.weight, m2.lin.weight)
    assert not torch.equal(m1.lin.weight, make_model(module, task.shapes[1], seed=3).lin.weight)


def test_get_inputs_must_return_a_list(tmp_path: Path) -> None:
    path = tmp_path / "task.py"
    path.write_text(GOOD_TASK.replace("return [torch.randn(n, d), 0.5", "return 1, [torch.randn(n, d), 0.5")
                    .replace("def get_inputs(n, d):", "def get_inputs(n, d):\n    return torch.randn(n)\n"))
    task = load_task(path)
    with pytest.raises(TaskError, match="must return a list"):
        make_inputs(import_task(task), task.shapes[0], seed=0)
