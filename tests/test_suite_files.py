"""Every task file of the shipped suite keeps the task contract and is well-posed.

Runs on CPU: each task is loaded, its SHAPES and META are checked, and it is
admitted (``check_admission``) on its smallest shape. The suite as a whole
must be broad (tasks, categories) and its quick list must resolve.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from cudarwin.tasks import SUITE_DIR, check_admission, load_suite, load_task, smallest_shape_index, task_files
from cudarwin.tasks.sizing import input_elements
from cudarwin.types import Task

MIN_TASKS = 40
MIN_CATEGORIES = 12
GPU_MEMORY_BYTES = 24e9  # every task must fit a 24 GB card
FP32_FLOPS = 50e12  # H100-class fp32 throughput, for the headline-size floor
BANDWIDTH = 3e12  # H100-class memory bandwidth, bytes/s
MIN_HEADLINE_FLOOR_S = 10e-6  # headline roofline floor: big enough to time on a GPU

FILES = task_files(SUITE_DIR)
IDS = [f"{p.parent.name}/{p.stem}" for p in FILES]


@pytest.fixture(scope="module", autouse=True)
def _few_threads():
    # the admission forwards are tiny; extra threads only add overhead
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def _load(path: Path) -> Task:
    return load_task(path, suite="full")


def _is_odd_size(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 1 and value % 32 != 0


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_task_has_shapes_with_an_odd_size(path: Path) -> None:
    task = _load(path)
    assert len(task.shapes) >= 3, f"{path}: needs at least 3 SHAPES"
    assert any(_is_odd_size(v) for shape in task.shapes for v in shape.values()), (
        f"{path}: no shape has a size that is not a multiple of 32"
    )


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_task_meta_is_complete(path: Path) -> None:
    task = _load(path)
    meta = task.meta
    assert meta.category == path.parent.name, f"{path}: META category must match its folder"
    assert meta.source.strip(), f"{path}: META source is empty"
    assert callable(meta.flops) and callable(meta.bytes), f"{path}: META needs flops and bytes callables"
    for shape in task.shapes:
        flops, nbytes = meta.flops(**shape), meta.bytes(**shape)
        assert flops > 0 and math.isfinite(flops), f"{path}: flops({shape}) = {flops}"
        assert nbytes > 0 and math.isfinite(nbytes), f"{path}: bytes({shape}) = {nbytes}"


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_headline_shape_is_gpu_sized_and_fits(path: Path) -> None:
    task = _load(path)
    headline = task.shapes[0]
    floor_s = max(task.meta.flops(**headline) / FP32_FLOPS, task.meta.bytes(**headline) / BANDWIDTH)
    assert floor_s >= MIN_HEADLINE_FLOOR_S, f"{path}: headline shape too small to time ({floor_s * 1e6:.1f} us floor)"
    # 8 bytes per element bounds every dtype, float64 reference copies included
    assert input_elements(task, headline) * 8 <= GPU_MEMORY_BYTES, f"{path}: headline inputs exceed 24 GB"


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_last_shape_is_the_small_one(path: Path) -> None:
    task = _load(path)
    assert smallest_shape_index(task) == len(task.shapes) - 1, f"{path}: the last shape must be the smallest"


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_task_is_admitted_on_cpu(path: Path) -> None:
    report = check_admission(_load(path), device="cpu")
    assert report.ok, f"{path}: " + "; ".join(report.problems)
    (shape,) = report.shapes
    assert shape.forward_s is not None and shape.forward_s < 1.0, f"{path}: smallest shape too slow on CPU"
    assert shape.inputs_checked >= 1


def test_suite_is_broad() -> None:
    # Counts the whole suite, including the tasks that ship with hand-written solutions.
    loaded = load_suite("full")
    assert not loaded.errors, [str(e) for e in loaded.errors]
    categories = {t.meta.category for t in loaded.tasks}
    assert len(loaded.tasks) >= MIN_TASKS, (
        f"the suite has {len(loaded.tasks)} tasks, expected at least {MIN_TASKS} "
        "(the 12 tasks with hand-written solutions count towards this)"
    )
    assert len(categories) >= MIN_CATEGORIES, f"only {len(categories)} categories: {sorted(categories)}"


def test_papers_suite_names_its_papers() -> None:
    loaded = load_suite("papers")
    assert len(loaded.tasks) >= 12
    assert all(len(t.meta.source) > 10 for t in loaded.tasks)


def test_quick_suite_resolves_to_one_task_per_category() -> None:
    loaded = load_suite("quick")
    assert not loaded.errors, [str(e) for e in loaded.errors]
    categories = [t.meta.category for t in loaded.tasks]
    assert 6 <= len(loaded.tasks) <= 12
    assert len(set(categories)) == len(categories), f"categories repeat: {categories}"
