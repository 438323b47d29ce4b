"""Filling the prompt templates: small pure functions from values to text.

The templates are the ``*.md`` files next to this module (``$name`` fields,
``string.Template``), so the wording can be changed without touching code.
"""

from __future__ import annotations

import string
from functools import lru_cache
from pathlib import Path

from cudarwin.agent.llm.request import Message
from cudarwin.agent.prompts.feedback import evaluation_summary, format_ms
from cudarwin.agent.proposer import Attempt, ProposalRequest, Scored
from cudarwin.types import Device, GpuInfo, Policy, Shape, ShapeResult, Task

TEMPLATE_DIR = Path(__file__).resolve().parent
MAX_EXAMPLE_CHARS = 6000


@lru_cache(maxsize=None)
def template(name: str) -> string.Template:
    """The template file ``<name>.md``."""
    return string.Template((TEMPLATE_DIR / f"{name}.md").read_text(encoding="utf-8"))


def fill(template_name: str, /, **fields: object) -> str:
    return template(template_name).substitute({k: str(v) for k, v in fields.items()}).strip() + "\n"


def _size(n: int | None, unit: str = "B") -> str:
    if n is None:
        return "unknown"
    for scale, suffix in ((1 << 20, "Mi"), (1 << 10, "Ki")):
        if n >= scale:
            return f"{n / scale:.4g} {suffix}{unit}"
    return f"{n} {unit}"


def render_hardware(hw: GpuInfo | None) -> str:
    """The GPU's facts as a bullet list; ``None``: the run has no GPU."""
    if hw is None:
        return (
            "- Device: CPU only (no GPU in this run). Candidates are judged on the CPU:\n"
            "  torch-level code is acceptable; CUDA kernels cannot run here."
        )

    def num(v: float | None, unit: str) -> str:
        return "unknown" if v is None else f"{v:.4g} {unit}"

    return "\n".join(
        [
            f"- GPU: {hw.name} ({hw.arch or 'unknown arch'}), {hw.sms or 'unknown'} SMs",
            f"- Shared memory per block: {_size(hw.shared_mem_per_block)}; L2 cache: {_size(hw.l2_bytes or None)}",
            f"- Memory bandwidth: {num(hw.bandwidth_gbs, 'GB/s')}; matmul peak: {num(hw.matmul_tflops, 'TFLOP/s')}"
            + ("" if hw.measured or hw.bandwidth_gbs is None else " (nominal figures for this GPU model)"),
        ]
    )


def _shape_text(shape: Shape) -> str:
    return ", ".join(f"{k}={v}" for k, v in shape.items()) or "(fixed)"


def render_shapes(task: Task, baselines: tuple[ShapeResult, ...]) -> str:
    """Each shape with the eager / torch.compile times and the roofline floor when measured."""
    if not baselines:
        lines = [f"- {_shape_text(s)}" + (" (headline)" if i == 0 else "") for i, s in enumerate(task.shapes)]
        return "\n".join(lines) + "\n(baselines not measured yet)"
    rows = ["| shape | eager | torch.compile | roofline floor |", "|---|---|---|---|"]
    for b in baselines:
        floor = f"{b.floor_ms:.4g} ms" if b.floor_ms else "-"
        rows.append(f"| {_shape_text(b.shape)} | {format_ms(b.eager)} | {format_ms(b.compiled)} | {floor} |")
    return "\n".join(rows)


def render_contract(policy: Policy, device: Device) -> str:
    if policy is Policy.STRICT and device is Device.CUDA:
        return fill("contract_strict", policy=policy.value)
    note = (
        "In this CPU-only run no CUDA can execute: write `ModelNew` with PyTorch operations only "
        "(do not call load_cuda); it is judged for correctness and CPU speed."
        if device is not Device.CUDA
        else ""
    )
    return fill("contract_torch", policy=policy.value, device_note=note)


def render_example(example: tuple[str, str] | None) -> str:
    """A worked example from the suite: (task name, solution source)."""
    if example is None:
        return ""
    name, source = example
    if len(source) > MAX_EXAMPLE_CHARS:
        source = source[:MAX_EXAMPLE_CHARS] + "\n# ... (cut)"
    return f"\n## Worked example: an accepted solution of the related task `{name}`\n\n```python\n{source.rstrip()}\n```\n"


def render_inspirations(items: tuple[Scored, ...]) -> str:
    """Other elites side by side with their speedups."""
    if not items:
        return ""
    parts = ["\n## Other good versions (for ideas)"]
    for i, s in enumerate(items, 1):
        speed = f"{s.fitness:.3g}x over eager" if s.fitness else "not faster"
        parts.append(f"\n### Version {i}: {speed}\n\n```python\n{s.candidate.source.rstrip()}\n```")
    return "\n".join(parts) + "\n"


def render_attempt_feedback(attempt: Attempt) -> str:
    """What went wrong with one earlier answer."""
    if attempt.problem:
        return attempt.problem
    if attempt.evaluation is None:
        return "The candidate could not be evaluated."
    return evaluation_summary(attempt.evaluation)


def render_task(request: ProposalRequest, example: tuple[str, str] | None) -> str:
    task = request.task
    return fill(
        "task",
        name=task.name,
        category=task.meta.category,
        source=task.source.rstrip(),
        hardware=render_hardware(request.hardware if request.device is Device.CUDA else None),
        shapes=render_shapes(task, request.baselines),
        example=render_example(example),
    )


def render_instruction(request: ProposalRequest) -> str:
    parent = request.parent
    if parent is not None:  # improving (or repairing an attempt at improving) a parent
        results = evaluation_summary(parent.evaluation) if parent.evaluation else "(not evaluated)"
        return fill(
            "improve",
            parent=parent.candidate.source.rstrip(),
            parent_results=results,
            inspirations=render_inspirations(request.inspirations),
        )
    return fill("translate")


def build_messages(request: ProposalRequest, example: tuple[str, str] | None = None) -> list[Message]:
    """The chat messages for a request: system rules, the task with its
    context and request, then each earlier answer followed by its feedback."""
    system = fill("system", contract=render_contract(request.policy, request.device))
    first = render_task(request, example) + "\n" + render_instruction(request)
    messages = [Message("system", system), Message("user", first)]
    for attempt in request.history:
        messages.append(Message("assistant", attempt.reply or "(no answer)"))
        messages.append(Message("user", fill("repair", feedback=render_attempt_feedback(attempt))))
    return messages


def render_review(reference: str, candidate: str) -> list[Message]:
    """Messages asking a reviewer model to flag dishonest optimizations."""
    return [Message("user", fill("review", reference=reference.rstrip(), candidate=candidate.rstrip()))]
