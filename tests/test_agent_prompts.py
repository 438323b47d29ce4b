"""Prompt rendering: pure functions from requests to messages."""

from __future__ import annotations

from pathlib import Path

from cudarwin.agent.examples import worked_example
from cudarwin.agent.prompts import build_messages, render_review
from cudarwin.agent.prompts.feedback import evaluation_summary, trim_log
from cudarwin.agent.prompts.render import render_hardware, render_shapes
from cudarwin.agent.proposer import Attempt, Mode, ProposalRequest, Scored
from cudarwin.types import (
    Candidate,
    CompileReport,
    Evaluation,
    GpuInfo,
    Policy,
    Reason,
    ReasonItem,
    ShapeResult,
    Stage,
    Status,
    Task,
    TaskMeta,
    Timing,
    Verdict,
)

REF = "class Model:\n    def forward(self, x):\n        return x * 2\n"
TASK = Task(name="double", path=Path("/nonexistent/double.py"), source=REF, shapes=({"n": 1024}, {"n": 7}), meta=TaskMeta(category="elementwise"))


def timing(ms: float) -> Timing:
    return Timing(ms, ms, ms, ms, ms, 0.0, 10)


def accepted(cid: str, cand_ms: float) -> Evaluation:
    shapes = (ShapeResult(0, {"n": 1024}, candidate=timing(cand_ms), eager=timing(1.0), compiled=timing(0.8), floor_ms=0.1),)
    return Evaluation(TASK.name, cid, Verdict(Status.ACCEPTED), Policy.STRICT, "cuda", shapes=shapes)


def test_translate_has_reference_contract_and_cheating_statement():
    msgs = build_messages(ProposalRequest(task=TASK, mode=Mode.TRANSLATE))
    assert [m.role for m in msgs] == ["system", "user"]
    assert "load_cuda" in msgs[0].content and "scores zero" in msgs[0].content
    assert "return x * 2" in msgs[1].content and "n=1024" in msgs[1].content


def test_cpu_contract_asks_for_torch_code():
    msgs = build_messages(ProposalRequest(task=TASK, mode=Mode.TRANSLATE, device="cpu", policy=Policy.TORCH_OK))
    assert "PyTorch operations only" in msgs[0].content
    assert "CPU only" in msgs[1].content


def test_improve_shows_parent_results_and_inspirations_side_by_side():
    parent = Scored(Candidate("PARENT_SRC = 1\n"), accepted("p", 0.5))
    insp = (Scored(Candidate("INSP_A = 1\n"), accepted("a", 0.25)), Scored(Candidate("INSP_B = 1\n"), accepted("b", 0.4)))
    msgs = build_messages(ProposalRequest(task=TASK, mode=Mode.IMPROVE, parent=parent, inspirations=insp))
    text = msgs[1].content
    assert "PARENT_SRC" in text and "2x" in text  # 1.0 / 0.5
    assert text.index("INSP_A") < text.index("INSP_B") and "4x over eager" in text
    assert "SEARCH" in text and "# tunable:" in text


def test_history_becomes_turns_with_feedback():
    log = "\n".join(["info line"] * 50 + ["kernel.cu(3): error: identifier \"foo\" is undefined"] + ["tail"] * 50)
    rejected = Evaluation(
        TASK.name, "c", Verdict(Status.REJECTED, (ReasonItem(Reason.COMPILE_ERROR, "nvrtc failed"),), Stage.COMPILE),
        Policy.STRICT, "cuda", compile=CompileReport(False, "sm_90", 0.1, log=log),
    )
    history = (Attempt("first answer", problem="Your answer contained no code."), Attempt("second answer", Candidate("x"), rejected))
    msgs = build_messages(ProposalRequest(task=TASK, mode=Mode.REPAIR, history=history))
    assert [m.role for m in msgs] == ["system", "user", "assistant", "user", "assistant", "user"]
    assert msgs[2].content == "first answer" and "contained no code" in msgs[3].content
    assert "compile_error" in msgs[5].content and "is undefined" in msgs[5].content
    assert msgs[5].content.count("info line") <= 1


def test_trim_log_keeps_errors_with_context():
    log = "a\nb\nc: error: boom\nd\ne\n"
    assert trim_log(log) == "b\nc: error: boom\nd"


def test_mismatch_summary_per_shape():
    shapes = (ShapeResult(1, {"n": 7}, max_abs_err=0.5, max_rel_err=12.0, trials=3),)
    ev = Evaluation(TASK.name, "c", Verdict(Status.REJECTED, (ReasonItem(Reason.MISMATCH, "n=7", 1),), Stage.CORRECTNESS), Policy.STRICT, "cuda", shapes=shapes)
    text = evaluation_summary(ev)
    assert "n=7" in text and "0.5" in text and "mismatch" in text


def test_hardware_facts_and_placeholders():
    hw = GpuInfo(name="NVIDIA H100", capability="9.0", sms=132, smem_per_block=49152, smem_per_block_optin=232448,
                 l2_bytes=50 << 20, bandwidth=3.0e12)
    text = render_hardware(hw)
    assert "132 SMs" in text and "50 MiB" in text and "3000 GB/s" in text and "matmul peak: unknown" in text
    assert "(sm_90)" in text and "227 KiB" in text and "nominal figures" in text
    assert render_hardware(GpuInfo()) == (
        "- GPU: unknown GPU (unknown arch), unknown SMs\n"
        "- Shared memory per block: unknown; L2 cache: unknown\n"
        "- Memory bandwidth: unknown; matmul peak: unknown"
    )
    assert render_hardware(None).startswith("- Device: CPU only")


def test_shapes_with_baselines():
    base = (ShapeResult(0, {"n": 1024}, eager=timing(2.0), compiled=timing(1.5), floor_ms=0.25),)
    text = render_shapes(TASK, base)
    assert "| n=1024 | 2 ms | 1.5 ms | 0.25 ms |" in text


def test_worked_example_is_another_task_of_the_category(tmp_path):
    folder = tmp_path / "cat"
    folder.mkdir()
    (folder / "mine.py").write_text(REF)
    (folder / "mine.solution.py").write_text("OWN = 1\n")
    (folder / "other.solution.py").write_text("OTHER = 1\n")
    task = Task(name="mine", path=folder / "mine.py", source=REF, shapes=({},), meta=TaskMeta(category="no-such-category"))
    assert worked_example(task) == ("other", "OTHER = 1\n")
    msgs = build_messages(ProposalRequest(task=task, mode=Mode.TRANSLATE), worked_example(task))
    assert "OTHER = 1" in msgs[1].content and "OWN" not in msgs[1].content


def test_review_prompt():
    msgs = render_review(REF, "class ModelNew: ...")
    assert "VERDICT: FLAG" in msgs[0].content and "class ModelNew" in msgs[0].content
