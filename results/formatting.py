"""How numbers read in the Markdown and HTML reports, and the definitions shown beside them."""

from __future__ import annotations

import math

DASH = "—"

DEFINITIONS: tuple[tuple[str, str], ...] = (
    ("speedup", "baseline median time / candidate median time, geometric mean over the task's shapes; "
                "vs eager PyTorch and vs torch.compile, both timed on the same GPU in the same run."),
    ("best", "the accepted kernel of highest speedup vs eager; results flagged beyond_roofline or "
             "review_flagged are findings, listed separately and never ranked."),
    ("fast_p", "share of all tasks with a verified kernel faster than p x eager (strictly); tasks "
               "without an accepted kernel count as not fast, so fast_0 is the share of tasks solved."),
    ("geomean (solved)", "geometric mean of the best speedups over the solved tasks."),
    ("geomean (all)", "over all tasks, max(best, 1) and 1 for unsolved tasks: the speedup of keeping "
                      "eager PyTorch wherever no kernel wins."),
    ("roofline", "physical floor time (from the task's flops and bytes) / kernel time; 100% is the floor."),
    ("policy", "strict: all arithmetic in the candidate's own kernels; torch-ok: torch/cuBLAS/cuDNN "
               "calls allowed next to custom kernels. Numbers of different policies are never mixed."),
)  # fmt: skip


def missing(v: float | None) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def speedup(v: float | None) -> str:
    return DASH if missing(v) else f"{v:.2f}x"


def percent(v: float | None) -> str:
    return DASH if missing(v) else f"{v * 100:.0f}%"


def ms(v: float | None) -> str:
    if missing(v):
        return DASH
    return f"{v:.3g}" if v < 100 else f"{v:.0f}"


def usd(v: float | None) -> str:
    if missing(v):
        return DASH
    return "$0" if v == 0 else f"${v:.2f}" if v >= 1 else f"${v:.2g}"


def count(v: int | None) -> str:
    return DASH if v is None else f"{v:,}"


def short_id(candidate_id: str) -> str:
    return candidate_id[:8]


def fast_label(p: float) -> str:
    return f"fast_{p:g}"
