"""Reading a task file into a ``Task``, and importing it as a fresh module.

A task file is executed once at load time to check its contract (see
``contract.py``) and again by every ``import_task`` call, each time in a new
module object, so two imports never share state (module-level caches, RNG
objects, mutated globals).
"""

from __future__ import annotations

import itertools
import re
import sys
import traceback
import types
from pathlib import Path

from cudarwin.tasks.contract import check_contract
from cudarwin.types import Task, TaskError

_counter = itertools.count()
_NOT_IDENT = re.compile(r"\W")


def load_task(path: str | Path, suite: str = "") -> Task:
    """Load and validate one task file.

    Raises ``TaskError`` (``file:line: message``) when the file cannot be
    read, does not parse, raises while executing, or breaks the task contract
    (no ``Model``, no ``get_inputs``, bad ``SHAPES`` or ``META``).
    """
    file = Path(path).expanduser().resolve()
    source = _read(file)
    module = exec_source(source, file)
    shapes, meta = check_contract(module, source, file)
    return Task(name=file.stem, path=file, source=source, shapes=shapes, meta=meta, suite=suite)


def import_task(task: Task) -> types.ModuleType:
    """A fresh module object executed from ``task.source``.

    Each call gives a new module (its own ``Model`` class and globals), so
    state never leaks between two imports of the same task.
    """
    return exec_source(task.source, task.path)


def exec_source(source: str, file: Path) -> types.ModuleType:
    """Compile and execute ``source`` as a new module named after ``file``.

    The module sits in ``sys.modules`` only while it executes (``dataclasses``
    and ``typing`` look their class's module up there) and is removed after.
    """
    code = _compile(source, file)
    name = f"cudarwin_task_{_NOT_IDENT.sub('_', file.stem)}_{next(_counter)}"
    module = types.ModuleType(name)
    module.__file__ = str(file)
    sys.modules[name] = module
    try:
        exec(code, module.__dict__)
    except (Exception, SystemExit) as err:
        raise error_from_exception(err, file, "executing the task file raised") from None
    finally:
        sys.modules.pop(name, None)
    return module


def error_from_exception(err: BaseException, file: Path, what: str) -> TaskError:
    """A ``TaskError`` for an exception raised by code of the task file,
    located at the deepest traceback frame inside that file."""
    line = None
    for frame in traceback.extract_tb(err.__traceback__):
        if frame.filename == str(file):
            line = frame.lineno
    detail = f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
    return TaskError(f"{what} {detail}", path=file, line=line)


def _read(file: Path) -> str:
    if not file.is_file():
        raise TaskError("no such task file", path=file)
    try:
        return file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise TaskError(f"cannot read the task file: {err}", path=file) from None


def _compile(source: str, file: Path) -> types.CodeType:
    try:
        return compile(source, str(file), "exec", dont_inherit=True)
    except SyntaxError as err:
        raise TaskError(f"syntax error: {err.msg}", path=file, line=err.lineno) from None
    except ValueError as err:  # e.g. null bytes in the source
        raise TaskError(f"cannot compile the task file: {err}", path=file) from None
