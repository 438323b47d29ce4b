"""The runner: isolated workers, timing, baselines and the evaluation pipeline."""

from cudarwin.runner.evaluator import EvalConfig, Evaluator
from cudarwin.runner.timing import TimingConfig

__all__ = ["EvalConfig", "Evaluator", "TimingConfig", "compile_only"]


def compile_only(candidate, arch: str = "sm_90", policy=None):
    """Static checks and NVRTC compile of a candidate, no GPU needed (see runner.checks)."""
    from cudarwin.runner.checks import compile_only as _compile_only

    return _compile_only(candidate, arch=arch, policy=policy)
