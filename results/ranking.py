"""Which accepted evaluations may be ranked.

An accepted evaluation that carries one of ``UNRANKED_FLAGS`` is a finding,
not a result: a speedup beyond the physical floor of the hardware, or a kernel
an LLM review flagged, is reported for a person to look at but never ranked on
the leaderboard nor used as the best parent of a search.
"""

from __future__ import annotations

from typing import Iterable

from cudarwin.types import Evaluation, Reason

UNRANKED_FLAGS: frozenset[Reason] = frozenset({Reason.BEYOND_ROOFLINE, Reason.REVIEW_FLAGGED})


def is_ranked(evaluation: Evaluation) -> bool:
    """True if the evaluation is accepted and carries no unranked flag."""
    return evaluation.accepted and not any(f.code in UNRANKED_FLAGS for f in evaluation.flags)


def codes_are_ranked(status: str, flag_codes: Iterable[str]) -> bool:
    """``is_ranked`` for an archive row: status text and flag code strings."""
    unranked = {r.value for r in UNRANKED_FLAGS}
    return status == "accepted" and not any(code in unranked for code in flag_codes)
