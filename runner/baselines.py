"""Eager and ``torch.compile`` baseline timings, cached per GPU.

A baseline is measured in a fresh worker with the same timing method as a
candidate, and stored under the key (task content hash, shape, mode, torch
version) in one JSON file per GPU, together with the GPU's measured
ceilings. ``cudarwin baseline`` writes ``results/baselines/<gpu>.json`` in
the repository; evaluations read that file and the user's cache
(``~/.cache/cudarwin/baselines``) and add what they measure to the cache.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

import torch

from cudarwin.types import Task, Timing

REPO_BASELINES = Path(__file__).resolve().parent.parent / "results" / "baselines"


def user_cache_dir() -> Path:
    root = os.environ.get("CUDARWIN_BASELINE_DIR")
    return Path(root) if root else Path.home() / ".cache" / "cudarwin" / "baselines"


def baseline_key(task: Task, shape_index: int, mode: str) -> str:
    shape = json.dumps(dict(task.shapes[shape_index]), sort_keys=True)
    return f"{task.name}|{task.id}|{shape}|{mode}|torch-{torch.__version__}"


class BaselineStore:
    """Baseline timings of one GPU, read from several files, written to one."""

    def __init__(self, gpu_slug: str, write_dir: Path | None = None, read_dirs: tuple[Path, ...] = ()):
        self.gpu_slug = gpu_slug
        self.write_path = (write_dir or user_cache_dir()) / f"{gpu_slug}.json"
        self._lock = threading.Lock()
        self.data: dict[str, Any] = {"gpu": gpu_slug, "ceilings": None, "timings": {}}
        for d in (*read_dirs, REPO_BASELINES, self.write_path.parent):
            self._merge(d / f"{gpu_slug}.json")

    def _merge(self, path: Path) -> None:
        try:
            loaded = json.loads(path.read_text())
        except (OSError, ValueError):
            return
        self.data["timings"].update(loaded.get("timings", {}))
        if loaded.get("ceilings"):
            self.data["ceilings"] = loaded["ceilings"]
        for key in ("gpu_name", "torch", "gpu_info"):
            if key in loaded:
                self.data[key] = loaded[key]

    def get(self, task: Task, shape_index: int, mode: str) -> Timing | None:
        entry = self.data["timings"].get(baseline_key(task, shape_index, mode))
        return Timing.from_dict(entry) if entry and "unavailable" not in entry else None

    def missing(self, task: Task, shape_index: int, mode: str) -> bool:
        """No timing stored and not known to be unmeasurable: this baseline is still to measure."""
        return self.get(task, shape_index, mode) is None and not self.unavailable(task, shape_index, mode)

    def unavailable(self, task: Task, shape_index: int, mode: str) -> str | None:
        """Why this baseline cannot be measured here (e.g. torch.compile timed out), if known."""
        entry = self.data["timings"].get(baseline_key(task, shape_index, mode))
        return entry.get("unavailable") if entry else None

    def put_unavailable(self, task: Task, shape_index: int, mode: str, reason: str) -> None:
        """Record that a baseline cannot be measured, so nobody waits for it again."""
        with self._lock:
            self.data["timings"][baseline_key(task, shape_index, mode)] = {"unavailable": reason}

    def put(self, task: Task, shape_index: int, mode: str, timing: Timing) -> None:
        with self._lock:
            self.data["timings"][baseline_key(task, shape_index, mode)] = timing.to_dict()

    @property
    def ceilings(self) -> tuple[float, float] | None:
        c = self.data.get("ceilings")
        return (float(c["bandwidth"]), float(c["peak_flops"])) if c else None

    def set_ceilings(self, bandwidth: float, peak: float) -> None:
        with self._lock:
            self.data["ceilings"] = {"bandwidth": bandwidth, "peak_flops": peak}

    def save(self) -> Path:
        """Write atomically (temp file + rename): a crash never leaves half a file."""
        with self._lock:
            self.write_path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.write_path.parent, suffix=".tmp")
            with os.fdopen(fd, "w") as fh:
                json.dump(self.data, fh, indent=1, sort_keys=True)
            os.replace(tmp, self.write_path)
        return self.write_path
