"""Scripted model behaviour for search tests: answers depend only on the
request (task, turn, parent), like a deterministic model."""

from __future__ import annotations

import re
import threading
from typing import Any

from fakes.openai_server import Scripted

TASK_TEMPLATE = '''import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x):
        return x * {k}


def get_inputs():
    return [torch.randn(16)]


def get_init_inputs():
    return []
'''


def candidate(marker: str, extra: str = "") -> str:
    return (
        "import torch\nimport torch.nn as nn\n\n"
        f"FAKE = \"{marker}\"\n{extra}"
        "class ModelNew(nn.Module):\n    def forward(self, x):\n        return x\n"
    )


def fenced(source: str) -> str:
    return f"Plan: do it.\n\n```python\n{source}```\n"


TUNABLE = "# tunable: BLOCK = 256 in [128, 256, 512]\nBLOCK = 256\n"

# task name -> replies per turn of a translate conversation
TRANSLATE: dict[str, list[str]] = {
    "t_correct": [fenced(candidate("accept 1.5", TUNABLE))],
    "t_compile": [fenced(candidate("compile_error")), fenced(candidate("accept 2.0"))],
    "t_wrong": [fenced(candidate("mismatch")), fenced(candidate("accept 1.2"))],
    "t_cheat": [fenced(candidate("cheat")), fenced(candidate("accept 1.1"))],
    "t_nocode": ["I believe the reference is already optimal.", fenced(candidate("accept 1.3"))],
    "t_edit": [
        fenced(candidate("mismatch")),
        "<<<<<<< SEARCH\nFAKE = \"nothing like this\"\n=======\nFAKE = \"accept 9\"\n>>>>>>> REPLACE\n",
        "<<<<<<< SEARCH\nFAKE = \"mismatch\"\n=======\nFAKE = \"accept 1.4\"\n>>>>>>> REPLACE\n",
    ],
}

_TASK = re.compile(r"# Task `(\w+)`")
_PARENT = re.compile(r"## Current version \(the parent\)\s+```python\n(.*?)```", re.DOTALL)
_SPEED = re.compile(r"FAKE = \"accept ([\d.]+)\"")


class Scripter:
    """Callable script for FakeOpenAIServer; ``transient`` maps a task to
    errors served before its first real answer (429, timeouts)."""

    def __init__(self, transient: dict[str, list[Scripted]] | None = None):
        self.transient = {k: list(v) for k, v in (transient or {}).items()}
        self._lock = threading.Lock()

    def __call__(self, body: dict[str, Any]) -> Scripted:
        messages = body["messages"]
        first = messages[1]["content"]
        task = _TASK.search(first).group(1)
        with self._lock:
            pending = self.transient.get(task)
            if pending:
                return pending.pop(0)
        turn = sum(1 for m in messages if m["role"] == "assistant")
        parent = _PARENT.search(first)
        if parent is not None:
            return Scripted(self._improve(parent.group(1), turn))
        replies = TRANSLATE[task]
        return Scripted(replies[min(turn, len(replies) - 1)])

    def _improve(self, parent: str, turn: int) -> str:
        speed = float(_SPEED.search(parent).group(1)) if _SPEED.search(parent) else 1.0
        if turn == 0 and speed < 2.0:  # an edit that works: a little faster
            old = _SPEED.search(parent).group(0)
            return f"<<<<<<< SEARCH\n{old}\n=======\nFAKE = \"accept {speed + 0.25:g}\"\n>>>>>>> REPLACE\n"
        return fenced(candidate(f"accept {speed + 0.1:g}", TUNABLE))
