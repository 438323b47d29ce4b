"""Run-time guards used inside the worker around a candidate's calls.

* ``ComputeOpCounter``: a torch dispatch mode that records every aten op a
  candidate's ``forward`` runs; under the strict policy anything beyond
  allocation, views and copies is torch doing the work (REWARD_HACKS.md #15).
* ``Snapshot``: identities of the functions the harness and timing rely on
  and the global torch flags, taken before the candidate is imported and
  compared after each phase (#6, #29).
* ``thread_census``: Python threads and OS threads/child processes, before
  and after a call (#4).
* ``check_output``: the output is a plain, materialized tensor on the right
  device that shares no storage with an input (#5, #21).
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from cudarwin.types import Reason
from cudarwin.verifier.observations import OutputIssue

# aten ops that allocate, view, copy or fill memory: no arithmetic.
ALLOWED_STRICT_OPS = frozenset(
    """
    empty empty_like empty_strided new_empty new_empty_strided zeros zeros_like new_zeros
    fill fill_ zero_ full full_like new_full ones ones_like new_ones
    view _unsafe_view reshape _reshape_alias as_strided alias detach t transpose permute
    expand squeeze unsqueeze flatten unflatten select slice split split_with_sizes chunk
    unbind narrow view_as contiguous clone copy copy_ lift_fresh _to_copy
    _local_scalar_dense item sym_size sym_stride sym_numel is_contiguous set_ resize_
    record_stream size stride numel dim
    """.split()
)


def _op_name(func: Any) -> str:
    name = getattr(func, "__name__", str(func))  # e.g. "add.Tensor"
    return name.split(".")[0]


class ComputeOpCounter(TorchDispatchMode):
    """Records aten ops that do arithmetic (anything not in ALLOWED_STRICT_OPS)."""

    def __init__(self) -> None:
        super().__init__()
        self.compute_ops: dict[str, int] = {}

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = _op_name(func)
        if name == "_to_copy" and kwargs and kwargs.get("dtype") is not None:
            # a dtype conversion is arithmetic (and a precision downgrade path)
            self.compute_ops["to(dtype)"] = self.compute_ops.get("to(dtype)", 0) + 1
        elif name not in ALLOWED_STRICT_OPS:
            self.compute_ops[name] = self.compute_ops.get(name, 0) + 1
        return func(*args, **(kwargs or {}))


def _flags() -> dict[str, Any]:
    flags: dict[str, Any] = {
        "float32_matmul_precision": torch.get_float32_matmul_precision(),
        "deterministic": torch.are_deterministic_algorithms_enabled(),
        "default_dtype": str(torch.get_default_dtype()),
        "cudnn.benchmark": torch.backends.cudnn.benchmark,
        "cudnn.allow_tf32": torch.backends.cudnn.allow_tf32,
        "cudnn.deterministic": torch.backends.cudnn.deterministic,
        "grad_enabled": torch.is_grad_enabled(),
    }
    if hasattr(torch.backends, "cuda"):
        flags["cuda.matmul.allow_tf32"] = torch.backends.cuda.matmul.allow_tf32
        flags["cuda.matmul.allow_fp16_reduced"] = torch.backends.cuda.matmul.allow_fp16_reduced_precision_reduction
        flags["cuda.matmul.allow_bf16_reduced"] = torch.backends.cuda.matmul.allow_bf16_reduced_precision_reduction
    return flags


Watch = tuple[str, Any, tuple[str, ...]]  # (label, module or class, names of its functions)


def _watched(extra: tuple[Watch, ...] = ()) -> dict[str, Any]:
    watched = {
        "time.perf_counter": time.perf_counter,
        "time.perf_counter_ns": time.perf_counter_ns,
        "time.time": time.time,
        "torch.cuda.synchronize": torch.cuda.synchronize,
        "torch.cuda.Event": torch.cuda.Event,
        "torch.cuda.Event.record": torch.cuda.Event.record,
        "torch.cuda.Event.elapsed_time": torch.cuda.Event.elapsed_time,
        "torch.cuda.Event.synchronize": torch.cuda.Event.synchronize,
        "torch.cuda.current_stream": torch.cuda.current_stream,
        "torch.Tensor.clone": torch.Tensor.clone,
        "torch.Tensor.cpu": torch.Tensor.cpu,
        "torch.Tensor.to": torch.Tensor.to,
        "torch.Tensor.copy_": torch.Tensor.copy_,
        "torch.Tensor.data_ptr": torch.Tensor.data_ptr,
        "torch.Tensor.untyped_storage": torch.Tensor.untyped_storage,
        "torch.roll": torch.roll,
        "torch.save": torch.save,
        "torch.load": torch.load,
        "torch.manual_seed": torch.manual_seed,
        "torch.randn": torch.randn,
        "torch.rand": torch.rand,
        "torch.randint": torch.randint,
        "threading.enumerate": threading.enumerate,
        "os.listdir": os.listdir,
    }
    for prefix, owner, names in extra:  # the caller's own functions (the worker: launch counting, output export)
        for name in names:
            watched[f"{prefix}.{name}"] = getattr(owner, name)
    return watched


@dataclass(frozen=True)
class Snapshot:
    """Identities of watched functions and values of global flags.

    ``extra`` names further functions to watch, as (label, owner, names)
    triples: the harness passes its own in, so this module needs to know
    nothing about the modules that use it.
    """

    functions: tuple[tuple[str, int], ...]
    flags: tuple[tuple[str, Any], ...]
    extra: tuple[Watch, ...] = field(default=(), compare=False, repr=False)

    @classmethod
    def take(cls, extra: tuple[Watch, ...] = ()) -> "Snapshot":
        return cls(
            tuple((k, id(v)) for k, v in _watched(extra).items()),
            tuple(_flags().items()),
            tuple(extra),
        )

    def changes(self, now: "Snapshot | None" = None) -> list[str]:
        """Names of functions replaced and flags changed since this snapshot."""
        now = now or Snapshot.take(self.extra)
        before_f, after_f = dict(self.functions), dict(now.functions)
        out = [f"{k} was replaced" for k in before_f if after_f.get(k) != before_f[k]]
        before_g, after_g = dict(self.flags), dict(now.flags)
        out += [f"{k} changed from {before_g[k]!r} to {after_g.get(k)!r}" for k in before_g if after_g.get(k) != before_g[k]]
        return out


@dataclass(frozen=True)
class ThreadCensus:
    python_threads: int
    os_threads: int
    children: int


def thread_census() -> ThreadCensus:
    """Python threads, OS threads of this process, and its child processes."""
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        tasks = []
    children = 0
    for tid in tasks:
        try:
            with open(f"/proc/self/task/{tid}/children") as fh:
                children += len(fh.read().split())
        except OSError:
            pass
    return ThreadCensus(threading.active_count(), len(tasks), children)


def check_output(out: Any, inputs: list[Any], device: torch.device) -> OutputIssue | None:
    """Why ``out`` is not an acceptable output (``NOT_A_TENSOR`` or ``OUTPUT_ALIASES_INPUT``), or None."""
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    in_ranges = []
    for x in inputs:
        if isinstance(x, torch.Tensor):
            st = x.untyped_storage()
            in_ranges.append((st.data_ptr(), st.data_ptr() + st.nbytes()))
    for k, o in enumerate(outs):
        if isinstance(o, (int, float, bool)) and not isinstance(o, torch.Tensor):
            continue
        if type(o) is not torch.Tensor:
            return OutputIssue(Reason.NOT_A_TENSOR,
                               f"output {k} is a {type(o).__module__}.{type(o).__name__}, not a torch.Tensor")
        if o.is_meta or o.layout is not torch.strided:
            return OutputIssue(Reason.NOT_A_TENSOR, f"output {k} has no materialized strided storage")
        if o.device.type != device.type:
            return OutputIssue(Reason.NOT_A_TENSOR, f"output {k} is on {o.device}, expected {device.type}")
        try:
            st = o.untyped_storage()
            lo, hi = st.data_ptr(), st.data_ptr() + st.nbytes()
        except Exception as err:
            return OutputIssue(Reason.NOT_A_TENSOR, f"output {k} has no real storage ({err})")
        if hi > lo:
            for a, b in in_ranges:
                if lo < b and a < hi:
                    return OutputIssue(Reason.OUTPUT_ALIASES_INPUT, f"output {k} shares memory with an input")
    return None
