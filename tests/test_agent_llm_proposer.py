"""The LLM proposer over the fake server: parsing, edits, truncation, records."""

from __future__ import annotations

import asyncio
from pathlib import Path

from cudarwin.agent.llm.client import LLMClient, ModelSpec
from cudarwin.agent.llm.cache import MemoryCallStore
from cudarwin.agent.llm.proposer import LLMProposer
from cudarwin.agent.proposer import Attempt, Mode, ProposalRequest, Scored
from cudarwin.types import Candidate, Task
from fakes.openai_server import FakeOpenAIServer, Scripted

TASK = Task("double", Path("/nonexistent/double.py"), "class Model: ...\n", ({},))
PARENT = Candidate("import torch\nBLOCK = 256\nclass ModelNew:\n    pass\n")


def propose(server: FakeOpenAIServer, request: ProposalRequest, **models):
    async def go():
        specs = [ModelSpec(name=n, model=n, base_url=server.base_url, weight=w) for n, w in (models or {"m": 1.0}).items()]
        store = MemoryCallStore()
        proposer = LLMProposer(LLMClient(specs, store=store), examples=False)
        out = await proposer.propose(request)
        await proposer.aclose()
        return out, store

    return asyncio.run(go())


def test_full_file_becomes_a_candidate_with_plan_and_label():
    reply = "Plan: fuse.\n```python\nclass ModelNew:\n    x = 1\n```"
    with FakeOpenAIServer([Scripted(reply)]) as server:
        (p,), store = propose(server, ProposalRequest(task=TASK, mode=Mode.TRANSLATE, conversation="c1"))
    assert p.ok and p.candidate.source == "class ModelNew:\n    x = 1\n"
    assert p.candidate.proposer == "llm:m" and p.candidate.note == "Plan: fuse." and p.candidate.parents == ()
    (call,) = store.calls
    assert (call.context.task, call.context.strategy, call.context.conversation, call.context.turn) == ("double", "translate", "c1", 0)


def test_edits_apply_to_the_parent_and_name_it():
    reply = "<<<<<<< SEARCH\nBLOCK = 256\n=======\nBLOCK = 512\n>>>>>>> REPLACE\n"
    with FakeOpenAIServer([Scripted(reply)]) as server:
        (p,), _ = propose(server, ProposalRequest(task=TASK, mode=Mode.IMPROVE, parent=Scored(PARENT)))
    assert "BLOCK = 512" in p.candidate.source and p.candidate.parents == (PARENT.id,)


def test_repair_edits_apply_to_the_last_attempt():
    last = Candidate("import torch\nBLOCK = 128\nclass ModelNew:\n    pass\n")
    reply = "<<<<<<< SEARCH\nBLOCK = 128\n=======\nBLOCK = 64\n>>>>>>> REPLACE\n"
    request = ProposalRequest(task=TASK, mode=Mode.REPAIR, parent=Scored(PARENT), history=(Attempt("x", last),))
    with FakeOpenAIServer([Scripted(reply)]) as server:
        (p,), _ = propose(server, request)
    assert "BLOCK = 64" in p.candidate.source


def test_length_limit_is_reported_as_truncated():
    with FakeOpenAIServer([Scripted("```python\nclass ModelNew:\n    pass\n```", finish_reason="length")]) as server:
        (p,), _ = propose(server, ProposalRequest(task=TASK, mode=Mode.TRANSLATE))
    assert not p.ok and p.note == "truncated" and "cut off" in p.problem and p.reply


def test_failed_call_is_a_note_not_an_exception():
    with FakeOpenAIServer(lambda body: Scripted("bad request", status=400)) as server:
        (p,), _ = propose(server, ProposalRequest(task=TASK, mode=Mode.TRANSLATE))
    assert not p.ok and "400" in p.note and not p.problem


def test_model_choice_is_reproducible_per_request():
    with FakeOpenAIServer(lambda body: Scripted("```python\nclass ModelNew: pass\n```")) as server:
        picks = []
        for sample in range(6):
            req = ProposalRequest(task=TASK, mode=Mode.TRANSLATE, sample_index=sample)
            (a,), _ = propose(server, req, a=1.0, b=1.0)
            (b,), _ = propose(server, req, a=1.0, b=1.0)
            assert a.proposer == b.proposer
            picks.append(a.proposer)
    assert set(picks) == {"llm:a", "llm:b"}
