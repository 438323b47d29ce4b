"""The compile-only path of ``cudarwin check --compile-only``: no GPU needed.

Static checks first (a candidate that fails them is not run at all, not even
in the record-mode subprocess), then every CUDA source the candidate builds
is compiled for the requested architecture.
"""

from __future__ import annotations

import time

from cudarwin.runner.compile import compile_candidate
from cudarwin.types import Candidate, Evaluation, Policy, Reason, ReasonItem, Stage, Status, Verdict
from cudarwin.verifier.static import check_source


def compile_only(candidate: Candidate, *, arch: str = "sm_90", policy: Policy | None = None, task: str = "") -> Evaluation:
    """Static checks and compile of every CUDA source, as an ``Evaluation``."""
    policy = policy or Policy.STRICT
    t0 = time.perf_counter()
    static = check_source(candidate.source, policy=policy)
    stages = [("static", time.perf_counter() - t0)]

    def result(stage, reasons, report=None) -> Evaluation:
        status = Status.REJECTED if reasons else Status.ACCEPTED
        return Evaluation(
            task=task, candidate_id=candidate.id, verdict=Verdict(status, tuple(reasons), stage if reasons else None),
            policy=policy, device="none", compile=report, stage_seconds=tuple(stages),
        )

    if not static.ok:
        return result(Stage.STATIC, static.reasons)
    t1 = time.perf_counter()
    report = compile_candidate(candidate, arch=arch)
    stages.append(("compile", time.perf_counter() - t1))
    if not report.ok:
        # sources after a failing import line were never seen: that is the import's fault
        code = Reason.IMPORT_ERROR if report.log.startswith("import failed") else Reason.COMPILE_ERROR
        return result(Stage.COMPILE, (ReasonItem(code, report.log),), report)
    if report.sources == 0 and policy is Policy.STRICT:
        return result(Stage.COMPILE, (ReasonItem(
            Reason.NO_CUSTOM_KERNEL, "the candidate compiles no CUDA source (load_cuda or load_inline)"),), report)
    return result(None, (), report)
