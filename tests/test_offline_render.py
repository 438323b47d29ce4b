"""What the candidate file keeps from the task file."""

from __future__ import annotations

from cudarwin.agent.offline.render import forward_signature, init_source, task_prelude

TASK = '''
import os
import torch
import torch.nn as nn
from torch.nn import functional as F

HIDDEN = 64
SCALE = 2.0


def make_weight(d):
    return torch.randn(d, HIDDEN)


def unused_helper(x):
    return os.listdir(x)


class Model(nn.Module):
    def __init__(self, d: int = HIDDEN):
        super(Model, self).__init__()
        self.w = nn.Parameter(make_weight(d))

    def forward(self, x, scale: float = SCALE):
        return x * scale


def get_inputs():
    return [torch.randn(2, 3)]


META = dict(category="elementwise")
'''


def test_prelude_keeps_what_init_needs_and_allowed_imports_only():
    prelude = task_prelude(TASK)
    assert "def make_weight(d):" in prelude and "HIDDEN = 64" in prelude and "SCALE = 2.0" in prelude
    assert "unused_helper" not in prelude and "import os" not in prelude
    assert "from torch.nn import functional as F" in prelude
    assert "get_inputs" not in prelude and "META" not in prelude and "class Model" not in prelude


def test_init_is_copied_for_modelnew():
    init = init_source(TASK)
    assert init.startswith("    def __init__(self, d: int = HIDDEN):")
    assert "super(ModelNew, self).__init__()" in init and "Model," not in init.replace("ModelNew", "")


def test_forward_signature_is_the_reference_one():
    assert forward_signature(TASK) == "self, x, scale: float=SCALE"
