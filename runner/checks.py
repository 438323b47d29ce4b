"""The compile-only path of ``cudarwin check --compile-only``: no GPU needed.

Static checks first (a candidate that fails them is not run at all, not even
in the record-mode subprocess), then every CUDA source the candidate builds
is compiled for the requested architecture; ``verifier.judge`` judges the
report and ``verifier.verdict`` makes the ``Evaluation``, as in the full
pipeline.
"""

from __future__ import annotations

import time

from cudarwin.runner.compile import compile_candidate
from cudarwin.types import Candidate, Evaluation, Policy, Stage
from cudarwin.verifier.judge import judge_compile
from cudarwin.verifier.static import check_source
from cudarwin.verifier.verdict import build_evaluation


def compile_only(candidate: Candidate, *, arch: str = "sm_90", policy: Policy | None = None, task: str = "") -> Evaluation:
    """Static checks and compile of every CUDA source, as an ``Evaluation``."""
    policy = policy or Policy.STRICT
    t0 = time.perf_counter()
    static = check_source(candidate.source, policy=policy)
    stages = [("static", time.perf_counter() - t0)]
    common = dict(task=task, candidate_id=candidate.id, policy=policy, device="none")
    if not static.ok:
        return build_evaluation(**common, reasons=static.reasons, stage=Stage.STATIC, stage_seconds=stages)
    t1 = time.perf_counter()
    report = compile_candidate(candidate, arch=arch)
    stages.append(("compile", time.perf_counter() - t1))
    return build_evaluation(**common, reasons=judge_compile(report, policy), stage=Stage.COMPILE, compile=report,
                            stage_seconds=stages)
