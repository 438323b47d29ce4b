"""Tasks: the reference ``Model`` files cudarwin optimizes, and how to load them.

A task is one Python file in the KernelBench format (``Model``,
``get_inputs``, ``get_init_inputs``) with optional ``SHAPES`` and ``META``;
see ``contract.py``. Suites and reference solutions: ``suites.py``.
Well-posedness checks: ``admission.py``.
"""

from cudarwin.tasks.admission import AdmissionReport, ShapeAdmission, check_admission
from cudarwin.tasks.inputs import make_init_inputs, make_inputs, make_model, seed_everything
from cudarwin.tasks.loader import import_task, load_task
from cudarwin.tasks.sizing import smallest_shape_index
from cudarwin.tasks.suites import (
    SUITE_DIR,
    SuiteInfo,
    SuiteLoad,
    is_task_file,
    list_suites,
    load_suite,
    solutions_for,
    task_files,
    wrong_for,
)

__all__ = [
    "SUITE_DIR",
    "AdmissionReport",
    "ShapeAdmission",
    "SuiteInfo",
    "SuiteLoad",
    "check_admission",
    "import_task",
    "is_task_file",
    "list_suites",
    "load_suite",
    "load_task",
    "make_init_inputs",
    "make_inputs",
    "make_model",
    "seed_everything",
    "smallest_shape_index",
    "solutions_for",
    "task_files",
    "wrong_for",
]
