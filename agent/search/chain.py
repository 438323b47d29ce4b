"""One conversation: propose, evaluate, and repair with feedback up to k turns.

Nothing is dropped silently: an answer without code, an edit that did not
apply, a cut-off answer or an exact duplicate becomes the feedback of the next
turn, which asks for a full rewrite.
"""

from __future__ import annotations

import time

from dataclasses import dataclass, replace

from cudarwin.agent.llm.errors import BudgetExhausted
from cudarwin.agent.proposer import Attempt, Mode, Proposal, ProposalRequest, Scored
from cudarwin.agent.search.context import SearchContext


@dataclass(frozen=True)
class ChainResult:
    accepted: Scored | None  # the first accepted candidate, if any
    evaluated: tuple[Scored, ...] = ()  # every candidate evaluated on the way, in order


def duplicate_problem(candidate_id: str) -> str:
    return (
        f"This answer is identical to an earlier candidate ({candidate_id}) once comments and layout are "
        "ignored, so it was not evaluated again. Propose a genuinely different implementation, as the "
        "complete file in one ```python block."
    )


async def run_chain(ctx: SearchContext, request: ProposalRequest, turns: int) -> ChainResult:
    """Ask, evaluate, and repair up to ``turns`` times. A spent budget ends the
    chain (and the task's search) with what it has. One proposal per turn:
    the request's ``count`` should be 1."""
    history: list[Attempt] = []
    evaluated: list[Scored] = []
    own: set[str] = set()
    for turn in range(turns + 1):
        if ctx.stopped:
            break
        ask = request if turn == 0 else replace(request, mode=Mode.REPAIR, history=tuple(history))
        asked = time.perf_counter()
        try:
            proposals = await ctx.proposer.propose(ask)
        except BudgetExhausted as err:
            ctx.stop(str(err))
            break
        finally:
            ctx.stats.propose_s += time.perf_counter() - asked
        proposal = proposals[0] if proposals else Proposal(None, note="the proposer returned nothing")
        ctx.stats.proposals += 1
        attempt, scored = await _judge(ctx, request, proposal, own)
        if scored is not None:
            evaluated.append(scored)
            ctx.offer(scored)
            if scored.evaluation is not None and scored.evaluation.accepted:
                return ChainResult(scored, tuple(evaluated))
        if attempt is None:  # nothing to tell the proposer: it has no proposal to make
            break
        history.append(attempt)
    ctx.on_update(ctx.stats)
    return ChainResult(None, tuple(evaluated))


async def _judge(ctx: SearchContext, request: ProposalRequest, proposal: Proposal, own: set[str]) -> tuple[Attempt | None, Scored | None]:
    """Evaluate one proposal; return the feedback for the next turn and the scored candidate."""
    task = ctx.task.name
    candidate = proposal.candidate
    if candidate is None:
        ctx.stats.no_proposal += 1
        if not proposal.problem:
            ctx.store.add_note(task, "no_proposal", proposal.note or "no proposal")
            return None, None
        return Attempt(proposal.reply, problem=proposal.problem), None
    if candidate.id in ctx.seen or candidate.id in own:
        ctx.stats.duplicates += 1
        return Attempt(proposal.reply, candidate, problem=duplicate_problem(candidate.id)), None
    own.add(candidate.id)
    ctx.store.add_candidate(candidate, task=task, generation=request.generation, island=request.island, model=proposal.proposer)
    if proposal.call_key:
        ctx.store.link_call(proposal.call_key, candidate.id)
    outcome = await ctx.evals.evaluate(ctx.task, candidate)
    ctx.stats.count(outcome.evaluation)
    return Attempt(proposal.reply, candidate, outcome.evaluation), Scored(candidate, outcome.evaluation)
