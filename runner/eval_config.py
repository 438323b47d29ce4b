"""``EvalConfig``: how candidates are evaluated (hydra's ``runner.eval.*`` lands here)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cudarwin.runner.timing import TimingConfig
from cudarwin.types import CudarwinError, Policy
from cudarwin.verifier.inputs import DEFAULT_VARIANTS, Variant


BASELINE_MODES = ("eager", "compile")  # eager PyTorch, and the reference under torch.compile


@dataclass(frozen=True)
class EvalConfig:
    """How candidates are evaluated. Defaults are what ``cudarwin check`` uses."""

    device: str = "cuda"  # "cuda" or "cpu"
    policy: Policy = Policy.STRICT
    gpus: tuple[int, ...] = ()  # () = every visible GPU, one worker slot each
    variants: tuple[Variant, ...] = DEFAULT_VARIANTS  # correctness trials per shape
    time_candidates: bool = True
    baselines: tuple[str, ...] = ("eager", "compile")  # measured with the same method
    timing: TimingConfig = TimingConfig()
    timed_checks: int = 2  # hidden checks among the timed calls (plus the last call)
    input_sets: int = 3  # rotating input sets per timing loop (fewer if memory is short)
    input_set_bytes: int = 2 << 30  # memory budget for the rotating sets
    deadline_load_s: float = 180.0
    deadline_run_s: float = 60.0
    deadline_time_s: float = 300.0
    deadline_baseline_s: float = 900.0
    deadline_compile_s: float = 150.0  # torch.compile of one shape; longer: that baseline is n/a
    side_stream_gap_ms: float = 0.05  # device busy this long after the end event: hidden work
    roofline_margin: float = 0.8  # faster than this fraction of the floor is flagged
    baseline_dir: Path | None = None  # where measured baselines are written
    hidden_shapes: bool = True  # also check one secret shape not listed in SHAPES
    static_checks: bool = True  # off only to test the harness's run-time defenses
    spare_workers: int = 5  # warm workers kept per GPU slot (1 on CPU): start-up (~5 s) outlasts an evaluation
    ipc_outputs: bool = True  # GPU outputs reach the driver through CUDA IPC (else over the socket)

    def __post_init__(self) -> None:
        unknown = [b for b in self.baselines if b not in BASELINE_MODES]
        if unknown:
            raise CudarwinError(f"unknown baseline(s) {unknown}", hint=f"runner.eval.baselines takes {list(BASELINE_MODES)}")
