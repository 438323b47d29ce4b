"""Comparing a candidate's output with the reference, in the trusted driver.

The reference is computed twice: in the task's own dtype (``ref``) and in
float64 on upcast inputs and parameters (``ref64``). The candidate is judged
against ``ref64``; its allowance per element is

    atol + rtol * |ref64| + slack,   slack = 4 * max |ref - ref64|

so a float32 kernel that sums in another order than PyTorch is not punished
for rounding that PyTorch's own float32 result shows as well, while a silent
downgrade (fp16 accumulation, tf32) beyond the tolerance is caught.
Non-finite reference values must be matched exactly (NaN where NaN, the same
infinity); a non-finite candidate value where the reference is finite is the
classic sign of an unwritten (NaN-poisoned) output.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from cudarwin.types import Reason, ReasonItem

# Default tolerances by output dtype (absolute, relative), against float64.
DEFAULT_TOLERANCE: dict[torch.dtype, tuple[float, float]] = {
    torch.float64: (1e-7, 1e-7),
    torch.float32: (1e-4, 1e-4),
    torch.float16: (1e-2, 1e-2),
    torch.bfloat16: (2e-2, 2e-2),
}
_SLACK_FACTOR = 4.0


@dataclass(frozen=True)
class Comparison:
    """Result of comparing one output structure with the reference."""

    ok: bool
    max_abs_err: float  # over all floating outputs
    max_rel_err: float  # max |err| / allowance; <= 1 passes
    problems: tuple[ReasonItem, ...] = ()


def flatten_outputs(out: Any) -> list[Any]:
    """Outputs as a flat list (a tensor, or a tuple/list of tensors and scalars)."""
    if isinstance(out, (tuple, list)):
        flat: list[Any] = []
        for item in out:
            flat.extend(flatten_outputs(item))
        return flat
    return [out]


def compare(
    out: Any,
    ref: Any,
    ref64: Any,
    *,
    atol: float | None = None,
    rtol: float | None = None,
    shape_index: int | None = None,
) -> Comparison:
    """Compare ``out`` with the reference pair; every element is checked."""
    outs, refs, refs64 = flatten_outputs(out), flatten_outputs(ref), flatten_outputs(ref64)
    if len(outs) != len(refs):
        return _fail(Reason.WRONG_SHAPE, f"{len(outs)} outputs, expected {len(refs)}", shape_index)
    max_abs, max_rel = 0.0, 0.0
    problems: list[ReasonItem] = []
    for i, (o, r, r64) in enumerate(zip(outs, refs, refs64)):
        res = _compare_one(o, r, r64, atol, rtol, f"output {i}" if len(outs) > 1 else "output", shape_index)
        max_abs, max_rel = max(max_abs, res.max_abs_err), max(max_rel, res.max_rel_err)
        problems.extend(res.problems)
    return Comparison(not problems, max_abs, max_rel, tuple(problems))


def _fail(code: Reason, message: str, shape_index: int | None) -> Comparison:
    return Comparison(False, float("inf"), float("inf"), (ReasonItem(code, message, shape_index),))


def _compare_one(o, r, r64, atol, rtol, label, shape_index) -> Comparison:
    if not isinstance(r, torch.Tensor):
        if isinstance(o, torch.Tensor) or o != r:
            return _fail(Reason.MISMATCH, f"{label}: got {o!r}, expected {r!r}", shape_index)
        return Comparison(True, 0.0, 0.0)
    if type(o) is not torch.Tensor:
        return _fail(Reason.NOT_A_TENSOR, f"{label}: got {type(o).__name__}, expected torch.Tensor", shape_index)
    if o.shape != r.shape:
        return _fail(Reason.WRONG_SHAPE, f"{label}: shape {tuple(o.shape)}, expected {tuple(r.shape)}", shape_index)
    if o.dtype != r.dtype:
        return _fail(Reason.WRONG_DTYPE, f"{label}: dtype {o.dtype}, expected {r.dtype}", shape_index)
    o = o.to(r.device)
    if not (r.is_floating_point() or r.is_complex()):
        # integers and booleans: exact, accepting either reference where they differ (argmax ties)
        bad = (o != r) & (o != r64.to(r.dtype))
        n_bad = int(bad.sum())
        if n_bad:
            return _fail(Reason.MISMATCH, f"{label}: {n_bad} of {o.numel()} elements differ", shape_index)
        return Comparison(True, 0.0, 0.0)
    return _compare_float(o, r, r64, atol, rtol, label, shape_index)


def _compare_float(o, r, r64, atol, rtol, label, shape_index) -> Comparison:
    d_atol, d_rtol = DEFAULT_TOLERANCE.get(r.dtype, (1e-4, 1e-4))
    atol = d_atol if atol is None else atol
    rtol = d_rtol if rtol is None else rtol
    o64, r64 = o.double(), r64.double()
    ref_finite = torch.isfinite(r64)
    # non-finite reference values must be matched exactly
    nf = ~ref_finite
    if bool(nf.any()):
        same = (torch.isnan(o64) & torch.isnan(r64)) | (o64 == r64)
        if not bool(same[nf].all()):
            n = int((~same & nf).sum())
            return _fail(Reason.MISMATCH, f"{label}: {n} non-finite reference values not matched", shape_index)
    out_bad = ~torch.isfinite(o64) & ref_finite
    if bool(out_bad.any()):
        n = int(out_bad.sum())
        idx = int(out_bad.flatten().nonzero()[0])
        return _fail(
            Reason.NONFINITE,
            f"{label}: {n} of {o.numel()} elements are NaN/inf where the reference is finite (first at flat index {idx})",
            shape_index,
        )
    if not bool(ref_finite.any()):
        return Comparison(True, 0.0, 0.0)
    r32 = r.double()
    ref_err = (r32 - r64).abs()[ref_finite & torch.isfinite(r32)]
    slack = _SLACK_FACTOR * float(ref_err.max()) if ref_err.numel() else 0.0
    err = (o64 - r64).abs()[ref_finite]
    allowance = atol + rtol * r64.abs()[ref_finite] + slack
    ratio = err / allowance
    max_abs, max_rel = float(err.max()), float(ratio.max())
    if max_rel > 1.0:
        n_bad = int((ratio > 1.0).sum())
        flat = int(ratio.argmax())
        return Comparison(False, max_abs, max_rel, (ReasonItem(
            Reason.MISMATCH,
            f"{label}: {n_bad} of {err.numel()} elements outside tolerance (max abs err {max_abs:.3g}, "
            f"{max_rel:.3g}x the allowance atol={atol:g} rtol={rtol:g}; worst at finite-element {flat})",
            shape_index,
        ),))
    return Comparison(True, max_abs, max_rel)
