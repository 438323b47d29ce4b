"""Admission: ill-posed tasks are rejected with a reason, well-posed ones pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from cudarwin.tasks import admission, load_task
from cudarwin.tasks.admission import check_admission
from cudarwin.tasks.sizing import smallest_shape_index
from cudarwin.types import TaskError

FIXTURES = Path(__file__).parent / "fixtures" / "tasks"

ILL_POSED = {
    "ignores_input.py": "does not depend on input 1",
    "ignores_parameter.py": "does not depend on parameter scale",
    "constant_output.py": "all zeros",
    "nondeterministic.py": "not deterministic",
    "near_constant.py": "near-constant",
    "stateful.py": "not deterministic",
    "mutates_input.py": "modifies its inputs",
    "returns_number.py": "not a tensor",
    "nan_output.py": "NaN",
    "fixed_inputs.py": "same data for every seed",
}


@pytest.mark.parametrize(("name", "words"), sorted(ILL_POSED.items()))
def test_ill_posed_task_is_rejected(name: str, words: str) -> None:
    report = check_admission(load_task(FIXTURES / "illposed" / name))
    assert not report.ok
    assert any(words in p for p in report.problems), report.problems
    assert all(p.startswith("shape 0 {}: ") for p in report.problems)


def test_ignored_input_is_the_only_problem() -> None:
    report = check_admission(load_task(FIXTURES / "illposed" / "ignores_input.py"))
    assert report.problems == ("shape 0 {}: output does not depend on input 1 (16,): redrawing it changes nothing",)
    assert report.shapes[0].inputs_checked == 2


WELL_POSED = sorted(
    p.relative_to(FIXTURES).as_posix() for folder in ("good", "kernelbench") for p in (FIXTURES / folder).glob("*.py")
)


@pytest.mark.parametrize("name", WELL_POSED)
def test_well_posed_task_is_admitted(name: str) -> None:
    report = check_admission(load_task(FIXTURES / name))
    assert report.ok, report.problems
    assert report.problems == ()
    assert report.shapes[0].inputs_checked >= 1
    assert report.shapes[0].forward_s is not None


def test_integer_and_boolean_inputs_and_parameters_are_checked() -> None:
    report = check_admission(load_task(FIXTURES / "good" / "masked_embedding.py"), shape_indices=[0, 1])
    assert report.ok, report.problems
    assert [s.index for s in report.shapes] == [0, 1]
    assert all(s.inputs_checked == 2 and s.params_checked == 2 for s in report.shapes)  # ids, mask; table, scale


def test_running_statistics_are_noted_not_required() -> None:
    report = check_admission(load_task(FIXTURES / "good" / "batchnorm_train.py"))
    assert report.ok, report.problems
    assert report.shapes[0].params_checked == 2  # bn.weight, bn.bias
    assert any("running_mean" in note for note in report.shapes[0].notes)


def test_smallest_shape_is_picked_without_drawing_the_headline() -> None:
    task = load_task(FIXTURES / "good" / "softmax_shapes.py")
    assert smallest_shape_index(task) == 1
    report = check_admission(task)  # the headline shape would need 256 GiB
    assert [s.index for s in report.shapes] == [1]
    assert report.problems == () and report.ok


def test_slow_forward_is_a_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(admission, "TOO_SLOW_S", 0.0)
    report = check_admission(load_task(FIXTURES / "kernelbench" / "3_Scaled_tanh.py"))
    assert not report.ok
    assert "too slow for a CPU admission check; add a smaller shape" in report.problems[0]


def test_shape_index_out_of_range() -> None:
    with pytest.raises(TaskError, match="shape index 3 out of range"):
        check_admission(load_task(FIXTURES / "good" / "gated_pair.py"), shape_indices=[3])


def test_forward_raising_is_a_task_error(tmp_path: Path) -> None:
    path = tmp_path / "broken_forward.py"
    path.write_text(
        "import torch\nimport torch.nn as nn\n\n\nclass Model(nn.Module):\n"
        "    def forward(self, x):\n        return x @ x\n\n\n"
        "def get_inputs():\n    return [torch.randn(3, 4)]\n\n\ndef get_init_inputs():\n    return []\n"
    )
    with pytest.raises(TaskError) as info:
        check_admission(load_task(path))
    assert info.value.line == 7 and "Model.forward raised RuntimeError" in str(info.value)


def test_meta_tolerance_decides_what_counts_as_a_change(tmp_path: Path) -> None:
    source = (FIXTURES / "good" / "gated_pair.py").read_text()
    source = source.replace("* a +", "* a * 1e-3 +")  # `a` matters only by about 1e-3
    path = tmp_path / "weak_input.py"
    path.write_text(source)
    assert check_admission(load_task(path)).ok
    path.write_text(source + "\nMETA = dict(atol=0.1, rtol=0.1)\n")
    report = check_admission(load_task(path))
    assert not report.ok and "input 0.0" in report.problems[0]


def test_admission_is_reproducible() -> None:
    task = load_task(FIXTURES / "good" / "masked_embedding.py")
    assert check_admission(task, seed=5) == check_admission(task, seed=5)


@pytest.mark.gpu
@pytest.mark.parametrize("name", WELL_POSED)
def test_well_posed_task_is_admitted_on_gpu(name: str) -> None:
    report = check_admission(load_task(FIXTURES / name), device="cuda")
    assert report.ok, report.problems


@pytest.mark.gpu
def test_ill_posed_task_is_rejected_on_gpu() -> None:
    assert not check_admission(load_task(FIXTURES / "illposed" / "ignores_parameter.py"), device="cuda").ok


def test_endless_forward_is_interrupted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "endless.py"
    path.write_text(
        "import time\nimport torch\nimport torch.nn as nn\n\n\nclass Model(nn.Module):\n"
        "    def forward(self, x):\n        while True:\n            try:\n                time.sleep(0.01)\n"
        "            except Exception:\n                pass\n\n\n"
        "def get_inputs():\n    return [torch.randn(3)]\n\n\ndef get_init_inputs():\n    return []\n"
    )
    monkeypatch.setattr(admission, "TOO_SLOW_S", 0.3)
    report = check_admission(load_task(path))
    assert not report.ok and "too slow" in report.problems[0]
    assert report.shapes[0].forward_s is not None and report.shapes[0].forward_s < 5


FIXED_INDEX_TASK = """
import torch
import torch.nn as nn


class Model(nn.Module):
    def forward(self, x, index, mask):
        return x[index] * MASK_USE


def get_inputs():
    index = torch.tensor([0, 5, 3, 3, 1, 7])  # the same every draw: admission must redraw it in range
    mask = torch.tensor([[True, False, True, True]] * 6)
    return [torch.randn(8, 4), index, mask]


def get_init_inputs():
    return []
"""


@pytest.mark.parametrize(("mask_use", "ok"), [("mask", True), ("1.0", False)])
def test_fixed_integer_and_boolean_inputs_are_redrawn_in_range(tmp_path: Path, mask_use: str, ok: bool) -> None:
    path = tmp_path / "gather_rows.py"
    path.write_text(FIXED_INDEX_TASK.replace("MASK_USE", mask_use))
    report = check_admission(load_task(path))
    assert report.shapes[0].inputs_checked == 3
    assert report.ok is ok
    if not ok:
        assert report.problems == (
            "shape 0 {}: output does not depend on input 2 (6, 4): redrawing it changes nothing",
        )
