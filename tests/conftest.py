"""Shared test set-up: measured baselines and compiled kernels go to a
temporary folder, never into the user's cache or the repository."""

from __future__ import annotations

import os
import tempfile

_TMP = tempfile.mkdtemp(prefix="cudarwin-tests-")
os.environ.setdefault("CUDARWIN_BASELINE_DIR", os.path.join(_TMP, "baselines"))
