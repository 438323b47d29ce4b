"""Tasks: the reference ``Model`` files cudarwin optimizes, and how to load them.

A task is one Python file in the KernelBench format (``Model``,
``get_inputs``, ``get_init_inputs``) with optional ``SHAPES`` and ``META``.
"""

from cudarwin.tasks.inputs import make_init_inputs, make_inputs, make_model, seed_everything
from cudarwin.tasks.loader import import_task, load_task

__all__ = [
    "import_task",
    "load_task",
    "make_init_inputs",
    "make_inputs",
    "make_model",
    "seed_everything",
]
