"""`cudarwin optimize` end to end against the fake OpenAI-compatible server,
with the real evaluator: on the CPU by default, on a GPU with `-m gpu`."""

from __future__ import annotations

import json

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cudarwin.cli import main
from cudarwin.results import Archive
from fakes.openai_server import FakeOpenAIServer, Scripted

TASK = Path(__file__).parent / "fakes" / "tasks" / "scaled_relu.py"

HEAD = "import torch\nimport torch.nn as nn\n\n\nclass ModelNew(nn.Module):\n    def __init__(self, scale):\n        super().__init__()\n        self.scale = scale\n\n"
# Writes the answer into its input: passes a naive check, must score zero.
CPU_CHEAT = HEAD + "    def forward(self, x):\n        x.clamp_(min=0.0).mul_(self.scale)\n        return x\n"
CPU_HONEST = HEAD + "    def forward(self, x):\n        return torch.clamp(x, min=0.0) * self.scale\n"

KERNEL = r'''
extern "C" __global__ void scaled_relu(const float* x, float* y, float scale, long n) {
    long i = (long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = (x[i] > 0.f ? x[i] : 0.f) * scale;
}
'''
GPU_HONEST = (
    "import torch\nimport torch.nn as nn\nfrom cudarwin.runtime import load_cuda\n\n"
    f"mod = load_cuda(r'''{KERNEL}''')\n\n\n"
    "class ModelNew(nn.Module):\n    def __init__(self, scale):\n        super().__init__()\n        self.scale = scale\n\n"
    "    def forward(self, x):\n        x = x.contiguous()\n        y = torch.empty_like(x)\n        n = x.numel()\n"
    "        mod.scaled_relu(grid=((n + 255) // 256,), block=(256,), args=(x, y, self.scale, n))\n        return y\n"
)
GPU_BROKEN = GPU_HONEST.replace("y[i] =", "y[i] = undefined_name +")


def script(first: str, second: str):
    def reply(body):
        turn = sum(1 for m in body["messages"] if m["role"] == "assistant")
        return Scripted(f"```python\n{first if turn == 0 else second}```\n")

    return reply


def overrides(server: FakeOpenAIServer, run_dir: Path, *extra: str) -> list[str]:
    return [
        "optimize", "llm=openai", f"llm.base_url={server.base_url}", "llm.api_key_env=null",
        "llm.price.input=1.0", "llm.price.output=2.0", f"suite.name={TASK}", "search=repair",
        f"run_dir={run_dir}", "progress=plain", "report=false", *extra,
    ]


def evaluations(run_dir: Path) -> int:
    try:
        with sqlite3.connect(f"file:{run_dir / 'archive.sqlite'}?mode=ro", uri=True) as db:
            return db.execute("SELECT count(*) FROM evaluations").fetchone()[0]
    except sqlite3.Error:
        return 0


def run_killed_after_first_evaluation(args: list[str], run_dir: Path) -> None:
    """Start the command in its own process group and kill it (SIGKILL) once
    one evaluation is in the archive."""
    proc = subprocess.Popen([sys.executable, "-m", "cudarwin.cli", *args], start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while evaluations(run_dir) < 1 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def check_run(run_dir: Path, honest: str, bad: str, server: FakeOpenAIServer) -> None:
    with Archive.open(run_dir, readonly=True) as archive:
        cand, ev = archive.best(TASK.stem)
        assert cand.source == honest and ev.accepted and ev.fitness > 0
        evs = {e.candidate_id: e for e in archive.evaluations(TASK.stem)}
        bad_id = next(c.id for c in archive.candidates(TASK.stem) if c.source == bad)
        assert len(evs) == 2 and evs[bad_id].fitness == 0.0 and not evs[bad_id].accepted
        calls = archive.llm_calls()
        paid = [c for c in calls if not c.cache_hit]
        assert len(paid) == 2 and sum(c.cost_usd for c in paid) == pytest.approx(2 * (100 + 2 * 50) / 1e6)
    # the killed run's answered call was replayed from the archive, not repeated (its
    # repair request may have been cut off by the kill before it was recorded)
    first_turns = [b for b in server.requests if len(b["messages"]) == 2]
    assert len(first_turns) == 1 and len(server.requests) <= 3


def run_e2e(tmp_path: Path, device_args: list[str], first: str, second: str) -> None:
    run_dir = tmp_path / "run"
    with FakeOpenAIServer(script(first, second)) as server:
        args = overrides(server, run_dir, *device_args)
        run_killed_after_first_evaluation(args, run_dir)
        assert evaluations(run_dir) == 1 and len(server.requests) >= 1
        assert main(args[:1] + [f"resume={run_dir}"]) == 0
        check_run(run_dir, second, first, server)
        t = json.loads((run_dir / "summary.json").read_text())["throughput"]
        assert t["wall_s"] > 0 and t["evaluation_busy_s"] > 0 and t["evaluations_per_min"] > 0
        assert 0 < t["evaluation_busy_share"] <= 1.0 and t["proposal_wait_s"] >= 0
        assert 0 < t["proposal_wait_share"] < 1.0  # the fake server answers at once; evaluations dominate
        # the same command again: zero HTTP calls, zero evaluations
        sent = len(server.requests)
        assert main(args) == 0
        assert len(server.requests) == sent and evaluations(run_dir) == 2


def test_optimize_cpu_end_to_end(tmp_path: Path):
    run_e2e(tmp_path, ["runner=smoke"], CPU_CHEAT, CPU_HONEST)


@pytest.mark.gpu
def test_optimize_gpu_end_to_end(tmp_path: Path):
    run_e2e(tmp_path, ["runner.device=cuda", "runner.eval.baselines=[eager]"], GPU_BROKEN, GPU_HONEST)
