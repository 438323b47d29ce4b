"""OfflineProposer through the Proposer protocol, and tunable variants."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from cudarwin.agent.offline import NoProposal, OfflineProposer, propose_offline, variants
from cudarwin.agent.proposer import Mode, Proposer, ProposalRequest, Scored
from cudarwin.agent.tunables import declared_tunables
from cudarwin.tasks import load_task
from cudarwin.types import Policy
from fakes.record import compile_generated, recorded

SUITE = Path(__file__).resolve().parent.parent / "tasks" / "suite"


@pytest.fixture(scope="module")
def softmax_task():
    return load_task(SUITE / "softmax" / "softmax.py")


def test_is_a_proposer():
    assert isinstance(OfflineProposer(), Proposer)


def test_translate_gives_default_then_variants(softmax_task):
    proposer = OfflineProposer(seed=1)
    out = asyncio.run(proposer.propose(ProposalRequest(task=softmax_task, mode=Mode.TRANSLATE, count=3)))
    assert len(out) == 3 and all(p.ok for p in out)
    assert out[0].candidate.proposer == "offline"
    assert len({p.candidate.id for p in out}) == 3
    assert all(p.candidate.parents == (out[0].candidate.id,) for p in out[1:])


def test_unsupported_task_gives_a_note_not_a_candidate():
    task = load_task(SUITE / "scan" / "cumsum.py")
    out = asyncio.run(OfflineProposer().propose(ProposalRequest(task=task, mode=Mode.TRANSLATE)))
    assert len(out) == 1 and not out[0].ok
    assert out[0].note.startswith("no proposal: op cumsum")


def test_strict_policy_refuses_library_ops():
    task = load_task(SUITE / "fused" / "linear_gelu_layernorm.py")
    strict = asyncio.run(OfflineProposer().propose(ProposalRequest(task=task, mode=Mode.TRANSLATE)))
    ok = asyncio.run(OfflineProposer().propose(ProposalRequest(task=task, mode=Mode.TRANSLATE, policy=Policy.TORCH_OK)))
    assert not strict[0].ok and "torch-ok" in strict[0].note
    assert ok[0].ok


def test_improve_mutates_the_parent_and_repair_declines(softmax_task):
    proposer = OfflineProposer()
    parent = propose_offline(softmax_task).candidate
    improve = asyncio.run(proposer.propose(ProposalRequest(task=softmax_task, mode=Mode.IMPROVE,
                                                           parent=Scored(parent), count=4)))
    assert len(improve) == 4 and all(p.ok and p.candidate.source != parent.source for p in improve)
    repair = asyncio.run(proposer.propose(ProposalRequest(task=softmax_task, mode=Mode.REPAIR, parent=Scored(parent))))
    assert not repair[0].ok


def test_variants_change_only_declared_tunables(softmax_task):
    parent = propose_offline(softmax_task).candidate
    declared = {t.name: t for t in declared_tunables(parent.source)}
    assert set(declared) == {"THREADS_PER_ROW", "ROWS_PER_BLOCK", "CACHE"}
    found = variants(parent, 6, seed=0)
    assert len(found) == 6 and len({c.source for c in found}) == 6
    for cand in found:
        values = {t.name: t.value for t in declared_tunables(cand.source)}
        assert all(values[k] in declared[k].choices for k in values)
        assert dict(cand.tunables) == values
        changed = [ln for a, b in zip(parent.source.splitlines(), cand.source.splitlines()) if a != b for ln in (b,)]
        assert changed and all(ln.split(" = ")[0] in declared for ln in changed)
    # nearest single changes come first
    first, base = dict(found[0].tunables), dict(parent.tunables)
    assert sum(first[k] != base[k] for k in base) == 1


@pytest.mark.parametrize("values", [
    {"THREADS_PER_ROW": 8, "ROWS_PER_BLOCK": 1, "CACHE": 0},
    {"THREADS_PER_ROW": 1024, "ROWS_PER_BLOCK": 8, "CACHE": 32},
])
def test_extreme_row_tunables_compile(softmax_task, values):
    from cudarwin.agent.tunables import set_tunable

    source = propose_offline(softmax_task).candidate.source
    for key, value in values.items():
        source = set_tunable(source, key, value)
    (rec,) = recorded(source)
    assert f"-DTPR={values['THREADS_PER_ROW']}" in rec.options
    assert compile_generated(source).kernels


def test_elementwise_scalar_variant_compiles():
    from cudarwin.agent.tunables import set_tunable

    source = propose_offline(load_task(SUITE / "elementwise" / "rope.py")).candidate.source
    source = set_tunable(set_tunable(source, "VEC", 1), "BLOCK", 1024)
    assert compile_generated(source).kernels


def test_no_proposal_is_a_value():
    result = propose_offline(load_task(SUITE / "reduction" / "argmax_rows.py"))
    assert isinstance(result, NoProposal) and "argmax" in result.reason


def test_cpu_device_gets_a_note(softmax_task):
    out = asyncio.run(OfflineProposer().propose(ProposalRequest(task=softmax_task, mode=Mode.TRANSLATE, device="cpu")))
    assert not out[0].ok and "CUDA" in out[0].note


def test_two_kernel_candidate_declares_separate_tunables():
    result = propose_offline(load_task(SUITE / "loss" / "kl_div_distill.py"))
    names = {t.name for t in declared_tunables(result.candidate.source)}
    assert {"S0_THREADS_PER_ROW", "S0_CACHE", "THREADS_PER_ROW", "CACHE"} <= names
    sources = recorded(result.candidate.source)
    assert len(sources) == 2 and any("-DTPR=" in o for o in sources[0].options)


def test_in_process_recording_finds_what_the_runner_finds(softmax_task):
    """The tests' fast in-process record mode agrees with the runner's isolated import."""
    from cudarwin.runner.compile import compile_candidate, extract_cuda_sources
    from cudarwin.types import Candidate

    source = propose_offline(softmax_task).candidate.source
    assert recorded(source).sources == extract_cuda_sources(source).sources
    fast, full = compile_generated(source), compile_candidate(Candidate(source))
    assert fast.ok and full.ok and fast.sources == full.sources == 1
    assert [k.name for k in fast.kernels] == [k.name for k in full.kernels]
