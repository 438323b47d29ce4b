"""Small pure pieces of the search: tunables, elites, progress, providers, review parsing."""

from __future__ import annotations

import asyncio
import io
import random

import pytest

from cudarwin.agent.llm.client import LLMClient, ModelSpec
from cudarwin.agent.llm.providers import Endpoint, provider_names, register_provider
from cudarwin.agent.llm.request import ChatReply, Message
from cudarwin.agent.progress import ProgressView
from cudarwin.agent.proposer import Scored
from cudarwin.agent.review import flagged, parse_verdict
from cudarwin.agent.search.autotune import tuned_variants
from cudarwin.agent.search.context import TaskStats
from cudarwin.agent.search.elites import Elites
from cudarwin.agent.tunables import declared_tunables, neighbours, set_tunable
from cudarwin.types import Candidate, Evaluation, Policy, Reason, ShapeResult, Status, Timing, Verdict

SRC = """# tunable: BLOCK = 256 in [128, 256, 512]
BLOCK = 256  # threads per block
# tunable: VEC: int = 4 in [1, 4]
VEC: int = 4
# tunable: BROKEN = 1 in not a list
BROKEN = 1
"""


def scored(tag: str, fitness: float) -> Scored:
    t = Timing(1.0 / fitness, 1, 1, 1, 1, 0, 1) if fitness else None
    ev = Evaluation("t", tag, Verdict(Status.ACCEPTED if fitness else Status.REJECTED), Policy.STRICT, "cuda",
                    shapes=(ShapeResult(0, {}, candidate=t, eager=Timing(1, 1, 1, 1, 1, 0, 1)),))
    return Scored(Candidate(f"X = {tag!r}\n"), ev)


def test_tunables_are_declared_and_rewritten():
    found = {t.name: t for t in declared_tunables(SRC)}
    assert set(found) == {"BLOCK", "VEC"}
    assert found["BLOCK"].value == 256 and found["BLOCK"].choices == (128, 256, 512)
    assert "BLOCK = 512  # threads per block" in set_tunable(SRC, "BLOCK", 512)
    assert "VEC: int = 1" in set_tunable(SRC, "VEC", 1)
    variants = neighbours(SRC)
    assert len(variants) == 3 and dict(variants[0][1]) == {"BLOCK": 128, "VEC": 4}


def test_autotune_variants_skip_seen():
    parent = Scored(Candidate(SRC), None)
    first = tuned_variants(parent, set(), 10)
    assert len(first) == 3 and all(c.proposer == "autotune" and c.parents == (parent.candidate.id,) for c in first)
    assert len(tuned_variants(parent, {first[0].id}, 10)) == 2


def test_elites_keep_best_reject_failures_and_migrate():
    elites = Elites(islands=2, size=2)
    assert not elites.add(0, scored("bad", 0.0))
    for tag, fit in (("a", 1.0), ("b", 3.0), ("c", 2.0)):
        elites.add(0, scored(tag, fit))
    assert [s.fitness for s in elites.members(0)] == pytest.approx([3.0, 2.0])
    assert elites.members(1) == []
    elites.migrate()
    assert elites.members(1)[0].fitness == pytest.approx(3.0)
    parent = elites.members(0)[0]
    assert [s.fitness for s in elites.inspirations(parent, 3)] == pytest.approx([2.0])


def test_parent_choice_follows_fitness_with_exploration():
    elites = Elites(islands=1, size=4)
    elites.add(0, scored("slow", 1.0))
    elites.add(0, scored("fast", 9.0))
    rng = random.Random(1)
    picks = [round(elites.choose_parent(0, rng, exploration=0.0).fitness) for _ in range(1000)]
    assert 0.85 < picks.count(9) / 1000 < 0.95
    picks = [round(elites.choose_parent(0, rng, exploration=1.0).fitness) for _ in range(1000)]
    assert 0.4 < picks.count(9) / 1000 < 0.6


def test_plain_progress_prints_changes_only():
    out = io.StringIO()
    view = ProgressView("plain", out=out)
    stats = TaskStats("softmax")
    view.start([stats])
    view.update(stats)
    view.update(stats)
    stats.evaluated, stats.accepted, stats.best_fitness = 1, 1, 2.5
    view.update(stats)
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and "best 2.5x" in lines[1] and "offline" in lines[1]


def test_live_progress_renders_a_table():
    out = io.StringIO()
    view = ProgressView("live", out=out)
    stats = TaskStats("softmax", evaluated=3, accepted=2, best_fitness=1.7)
    view.start([stats])
    view.update(stats)
    view.stop()
    assert "softmax" in out.getvalue() and "1.7x" in out.getvalue()


def test_a_registered_provider_is_used_by_name():
    @register_provider("echo-test")
    class Echo:
        def __init__(self, endpoint: Endpoint):
            self.endpoint = endpoint

        async def complete(self, request):
            return ChatReply(request.messages[-1].content.upper(), prompt_tokens=3, completion_tokens=4)

        async def aclose(self):
            pass

    assert "echo-test" in provider_names()
    client = LLMClient([ModelSpec(name="e", model="x", provider="echo-test")])
    call = asyncio.run(client.chat(client.models["e"], [Message("user", "hi")]))
    assert call.reply.text == "HI" and client.usage.total().tokens == 7


def test_review_verdicts():
    assert parse_verdict("VERDICT: FLAG\nhard-coded n") is True
    assert parse_verdict("thinking...\nverdict: ok") is False
    assert parse_verdict("no idea") is None
    ev = scored("a", 2.0).evaluation
    kept = flagged(ev, "hard-coded", reject=False)
    assert kept.accepted and kept.flags[-1].code is Reason.REVIEW_FLAGGED
    assert flagged(ev, "hard-coded", reject=True).fitness == 0.0


def test_prompt_baselines_round_trip_through_the_store():
    from cudarwin.agent.store import BASELINES_NOTE, MemoryRunStore, encode_baselines

    shapes = (ShapeResult(0, {"n": 4}, eager=Timing(2.0, 2, 2, 2, 2, 0, 5), floor_ms=0.5),)
    store = MemoryRunStore()
    assert store.prompt_baselines("t") is None
    store.add_note("t", BASELINES_NOTE, encode_baselines(shapes))
    assert store.prompt_baselines("t") == shapes


def test_roofline_floor_from_meta():
    from pathlib import Path

    from cudarwin.agent.baselines import roofline_floor_ms
    from cudarwin.types import GpuInfo, Task, TaskMeta

    meta = TaskMeta(flops=lambda n: 2e12 * n, bytes=lambda n: 1e9 * n)
    task = Task("t", Path("t.py"), "", ({"n": 1},), meta)
    # 2e12 flop at 1 TFLOP/s = 2 s; 1e9 B at 1000 GB/s = 1 ms -> compute bound
    assert roofline_floor_ms(task, 0, GpuInfo(bandwidth=1e12, peak_flops=1e12)) == pytest.approx(2000.0)
    assert roofline_floor_ms(task, 0, GpuInfo()) is None


def test_one_gpu_description_gives_the_units_prompts_need():
    from cudarwin.types import GpuInfo

    info = GpuInfo(name="NVIDIA H100 80GB HBM3", capability="9.0", sms=132, smem_per_block=49152, smem_per_block_optin=232448,
                   l2_bytes=50 << 20, bandwidth=3.0e12, peak_flops=900e12, measured=True)
    assert info.bandwidth_gbs == 3000.0 and info.matmul_tflops == 900.0 and info.arch == "sm_90"
    assert info.shared_mem_per_block == 232448 and info.slug == "nvidia-h100-80gb-hbm3"
    assert GpuInfo(smem_per_block=49152).shared_mem_per_block == 49152
    unknown = GpuInfo()
    assert (unknown.arch, unknown.shared_mem_per_block, unknown.bandwidth_gbs, unknown.matmul_tflops) == ("", None, None, None)
