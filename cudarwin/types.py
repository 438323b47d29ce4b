"""The types that travel between cudarwin's modules.

Data flows one way::

    Task -> Candidate -> CompileReport -> Verdict -> Timing -> Evaluation -> fitness

Everything here is a frozen dataclass or an enum, so a value handed from one
module to another can be neither mutated nor misspelled. Each type has a
``to_dict`` for JSON (the CLI's ``--json`` and the results archive) and the
record types a matching ``from_dict``.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import asdict, dataclass, field
from enum import Enum, IntEnum
from pathlib import Path
from typing import Any, Callable, Mapping


class Policy(str, Enum):
    """What a candidate's ``forward`` may do besides launching its own kernels."""

    STRICT = "strict"  # torch only to allocate/view/reshape; all arithmetic in own kernels
    TORCH_OK = "torch-ok"  # torch/cuBLAS/cuDNN compute allowed next to custom kernels


class Device(str, Enum):
    """Where candidates run. The values are what configs, JSON and archives hold."""

    CUDA = "cuda"  # on a GPU: CUDA candidates, timed with CUDA events
    CPU = "cpu"  # no GPU: torch-level candidates, timed by the wall clock
    NONE = "none"  # nothing ran: ``check --compile-only`` (static checks and NVRTC)

    def __str__(self) -> str:  # f-strings and str() give "cuda", as the plain string did
        return self.value

    __format__ = str.__format__


@dataclass(frozen=True)
class GpuInfo:
    """One GPU: what the runner reads from the driver, with the roofline's
    two ceilings, and what prompts tell a kernel writer. 0 or "" = unknown."""

    name: str = "unknown GPU"
    sms: int = 0  # streaming multiprocessors
    l2_bytes: int = 0
    smem_per_block: int = 0  # bytes, the default limit
    smem_per_block_optin: int = 0  # bytes, the opt-in maximum
    capability: str = ""  # compute capability, e.g. "9.0"
    bandwidth: float = 0.0  # bytes/s (read + write counted)
    peak_flops: float = 0.0  # flop/s, the fastest unit (dense bf16 tensor cores)
    measured: bool = False  # False: the ceilings are the GPU model's nominal figures

    @property
    def arch(self) -> str:
        """The NVRTC architecture, e.g. "sm_90" ("" when unknown)."""
        return "sm_" + self.capability.replace(".", "") if self.capability else ""

    @property
    def shared_mem_per_block(self) -> int | None:
        """The most shared memory one block can have (opt-in where known), bytes."""
        return self.smem_per_block_optin or self.smem_per_block or None

    @property
    def bandwidth_gbs(self) -> float | None:
        return self.bandwidth / 1e9 if self.bandwidth else None

    @property
    def matmul_tflops(self) -> float | None:
        return self.peak_flops / 1e12 if self.peak_flops else None

    @property
    def slug(self) -> str:
        """The name as a file-name part (baselines are stored per GPU model)."""
        return re.sub(r"[^A-Za-z0-9]+", "-", self.name).strip("-").lower() or "cpu"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Status(str, Enum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class Stage(str, Enum):
    """Evaluation stages, cheapest first; evaluation stops at the first failure."""

    STATIC = "static"
    COMPILE = "compile"
    LOAD = "load"  # importing the candidate and constructing ModelNew in the worker
    CORRECTNESS = "correctness"
    TIMING = "timing"
    RECHECK = "recheck"  # the outputs of timed calls, checked after timing


class ExitCode(IntEnum):
    """Exit codes of the ``cudarwin`` command."""

    OK = 0  # accepted / success
    REJECTED = 1  # the candidate was judged and rejected
    BAD_INPUT = 2  # missing file, bad task, bad config, no GPU for --device cuda
    INTERNAL = 3  # a bug in cudarwin itself


class Reason(str, Enum):
    """Why a candidate was rejected (or flagged). One code per trick or fault.

    The numbers in comments refer to the rows of REWARD_HACKS.md.
    """

    # -- faults (honest mistakes) --
    COMPILE_ERROR = "compile_error"  # NVRTC/nvcc rejected the CUDA source
    SYNTAX_ERROR = "syntax_error"  # the candidate's Python does not parse
    IMPORT_ERROR = "import_error"  # importing the candidate module raised
    NO_MODELNEW = "no_modelnew"  # no `class ModelNew(nn.Module)` in the file
    INIT_ERROR = "init_error"  # ModelNew(*init_inputs) raised
    RUNTIME_ERROR = "runtime_error"  # forward raised a Python exception
    CUDA_ERROR = "cuda_error"  # illegal memory access, launch failure, ...
    OUT_OF_MEMORY = "out_of_memory"
    TIMEOUT = "timeout"  # a stage ran past its deadline; the worker was killed
    CRASH = "crash"  # the worker died (segfault, abort, os._exit)
    EXITED = "exited"  # the candidate called sys.exit / exit
    OUTPUT_FLOOD = "output_flood"  # printed more than the allowed amount
    WRONG_SHAPE = "wrong_shape"  # output shape/structure differs from the reference
    WRONG_DTYPE = "wrong_dtype"  # output dtype differs (19: silent precision downgrade)
    MISMATCH = "mismatch"  # values outside tolerance
    NONFINITE = "nonfinite"  # NaN/inf where the reference is finite (22: unwritten output)
    # -- reward hacks --
    INPUT_MUTATED = "input_mutated"  # 2: inputs changed by the call
    SIDE_STREAM = "side_stream"  # 3: work on another stream / outside the timed window
    BACKGROUND_WORK = "background_work"  # 4: threads or processes left running
    NOT_A_TENSOR = "not_a_tensor"  # 5: Tensor subclass, lazy tensor, no real storage
    TAMPERING = "tampering"  # 6, 27: timer, harness or native functions patched
    FORGED_RESULT = "forged_result"  # 7: result channel written by the candidate
    STALE_OUTPUT = "stale_output"  # 8, 9, 10: timed outputs wrong (caching, batching)
    SHAPE_SPECIALIZED = "shape_specialized"  # 11, 18: right only on some shapes
    TORCH_COMPUTE = "torch_compute"  # 15: torch compute op under the strict policy
    NO_CUSTOM_KERNEL = "no_custom_kernel"  # 15, 18: no custom kernel ran
    FALLBACK = "fallback"  # 16: try/except fallback to a reference path
    REFERENCE_REUSE = "reference_reuse"  # 17: subclasses or calls the reference Model
    OUTPUT_ALIASES_INPUT = "output_aliases_input"  # 21
    BEYOND_ROOFLINE = "beyond_roofline"  # 24: faster than the physical floor (flag)
    FORBIDDEN_API = "forbidden_api"  # 4, 6, 25, 27, 28: banned module or builtin in source
    NONDETERMINISTIC = "nondeterministic"  # 20: results differ between poison patterns
    REVIEW_FLAGGED = "review_flagged"  # flagged by the optional LLM review

    @property
    def description(self) -> str:
        return REASON_DOCS.get(self, self.value)


REASON_DOCS: dict[Reason, str] = {
    Reason.COMPILE_ERROR: "the CUDA source did not compile",
    Reason.SYNTAX_ERROR: "the candidate file is not valid Python",
    Reason.IMPORT_ERROR: "importing the candidate raised an exception",
    Reason.NO_MODELNEW: "the candidate defines no ModelNew(nn.Module)",
    Reason.INIT_ERROR: "constructing ModelNew raised an exception",
    Reason.RUNTIME_ERROR: "forward raised an exception",
    Reason.CUDA_ERROR: "a CUDA error (illegal address, launch failure) in the candidate",
    Reason.OUT_OF_MEMORY: "the candidate ran out of GPU memory",
    Reason.TIMEOUT: "a stage ran past its deadline and the worker was killed",
    Reason.CRASH: "the worker process died (segfault, abort)",
    Reason.EXITED: "the candidate exited the process",
    Reason.OUTPUT_FLOOD: "the candidate printed too much",
    Reason.WRONG_SHAPE: "the output's shape or structure differs from the reference",
    Reason.WRONG_DTYPE: "the output's dtype differs from the reference",
    Reason.MISMATCH: "output values outside tolerance",
    Reason.NONFINITE: "NaN/inf where the reference is finite (unwritten or bad output)",
    Reason.INPUT_MUTATED: "the call changed its inputs",
    Reason.SIDE_STREAM: "work escaped the timed window (side stream or deferred work)",
    Reason.BACKGROUND_WORK: "threads or processes still running after the call",
    Reason.NOT_A_TENSOR: "the output is not a plain materialized torch.Tensor",
    Reason.TAMPERING: "timer, harness or library functions were replaced",
    Reason.FORGED_RESULT: "the worker's result channel carried something the harness did not send",
    Reason.STALE_OUTPUT: "outputs of timed calls were wrong (cached or batched results)",
    Reason.SHAPE_SPECIALIZED: "correct on some shapes only",
    Reason.TORCH_COMPUTE: "torch compute ops ran under the strict policy",
    Reason.NO_CUSTOM_KERNEL: "no custom kernel ran",
    Reason.FALLBACK: "a fallback path around the custom kernel (try/except)",
    Reason.REFERENCE_REUSE: "the candidate subclasses or calls the reference Model",
    Reason.OUTPUT_ALIASES_INPUT: "the output shares storage with an input",
    Reason.BEYOND_ROOFLINE: "faster than the physical floor: a finding, not a result",
    Reason.FORBIDDEN_API: "the source uses a banned module or builtin",
    Reason.NONDETERMINISTIC: "results depend on prior memory contents",
    Reason.REVIEW_FLAGGED: "flagged by the LLM review",
}


# --------------------------------------------------------------------------- tasks

Shape = Mapping[str, Any]  # keyword arguments for get_inputs / get_init_inputs


@dataclass(frozen=True)
class TaskMeta:
    """The optional ``META`` dict of a task file, validated."""

    category: str = "uncategorized"
    source: str = ""  # paper or model the task comes from
    atol: float | None = None  # None: the comparison's default for the dtype
    rtol: float | None = None
    backward: bool = False
    flops: Callable[..., float] | None = field(default=None, compare=False)  # f(**shape)
    bytes: Callable[..., float] | None = field(default=None, compare=False)  # f(**shape)
    # extra keys kept verbatim (strings/numbers only) for reports
    extra: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True)
class Task:
    """One task file: a reference ``Model`` with its inputs and shapes."""

    name: str  # file stem, unique in a suite
    path: Path  # absolute path of the task file
    source: str  # the file's text, as given to LLMs
    shapes: tuple[Shape, ...]  # at least one; the first is the headline shape ({} = fixed)
    meta: TaskMeta = TaskMeta()
    suite: str = ""  # suite name or folder the task was loaded from

    @property
    def id(self) -> str:
        """Content hash: a changed task is a different task in the archive."""
        return hashlib.sha256(self.source.encode()).hexdigest()[:16]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "path": str(self.path),
            "id": self.id,
            "suite": self.suite,
            "category": self.meta.category,
            "source_ref": self.meta.source,
            "shapes": [dict(s) for s in self.shapes],
        }


# --------------------------------------------------------------------------- candidates

_WS = re.compile(r"[ \t]+")


def normalize_source(source: str) -> str:
    """Source with comments-only lines, trailing blanks and blank lines dropped:
    two candidates that differ only in layout get one hash."""
    lines = []
    for line in source.splitlines():
        stripped = _WS.sub(" ", line.rstrip())
        if not stripped.strip() or stripped.lstrip().startswith(("#", "//")):
            continue
        lines.append(stripped)
    return "\n".join(lines)


@dataclass(frozen=True)
class Candidate:
    """One candidate file: Python source defining ``class ModelNew``."""

    source: str
    proposer: str = "user"  # "user", "offline", "llm:<model>", "autotune", ...
    parents: tuple[str, ...] = ()  # ids of parent candidates
    tunables: tuple[tuple[str, Any], ...] = ()  # values of declared tunables
    note: str = ""  # free text from the proposer (e.g. the LLM's rationale)

    @property
    def id(self) -> str:
        return hashlib.sha256(normalize_source(self.source).encode()).hexdigest()[:16]


# --------------------------------------------------------------------------- outcomes


@dataclass(frozen=True)
class ReasonItem:
    code: Reason
    message: str  # human-readable detail: file/line, shape, max error, ...
    shape_index: int | None = None  # which shape, where it applies

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code.value, "message": self.message, "shape_index": self.shape_index}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "ReasonItem":
        return cls(Reason(d["code"]), d["message"], d.get("shape_index"))


@dataclass(frozen=True)
class KernelInfo:
    """One ``extern "C" __global__`` function found in a candidate's CUDA."""

    name: str
    params: tuple[str, ...]  # declared parameter types, e.g. ("const float*", "long")
    registers: int | None = None
    shared_bytes: int | None = None


@dataclass(frozen=True)
class CompileReport:
    """Outcome of compiling every CUDA source of a candidate (without running it)."""

    ok: bool
    arch: str  # e.g. "sm_90"
    seconds: float  # wall time of all compiles
    kernels: tuple[KernelInfo, ...] = ()
    log: str = ""  # compiler log, line numbers of the user's source
    sources: int = 0  # number of CUDA sources found (load_cuda / load_inline calls)
    backend: str = "nvrtc"  # "nvrtc" or "load_inline"


@dataclass(frozen=True)
class Timing:
    """Statistics of one timed function on one shape, in milliseconds."""

    median_ms: float
    mean_ms: float
    min_ms: float
    p20_ms: float
    p80_ms: float
    stderr_ms: float  # standard error of the mean
    n: int  # timed calls
    method: str = "cuda_events"  # or "wall_clock" in CPU mode

    @property
    def spread(self) -> float:
        """Relative spread (p80 - p20) / median."""
        return (self.p80_ms - self.p20_ms) / self.median_ms if self.median_ms > 0 else math.inf

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> "Timing | None":
        return None if d is None else cls(**d)


@dataclass(frozen=True)
class ShapeResult:
    """Correctness and timing of a candidate on one shape."""

    index: int
    shape: Shape
    max_abs_err: float | None = None  # worst over all trials
    max_rel_err: float | None = None  # normalised: |out-ref| / (atol + rtol*|ref|), max
    trials: int = 0  # correctness trials run on this shape
    candidate: Timing | None = None
    eager: Timing | None = None
    compiled: Timing | None = None  # torch.compile baseline
    kernels_ran: tuple[str, ...] = ()  # custom kernels launched on this shape
    floor_ms: float | None = None  # roofline floor from META flops/bytes, if known

    @property
    def speedup_eager(self) -> float | None:
        return _ratio(self.eager, self.candidate)

    @property
    def speedup_compile(self) -> float | None:
        return _ratio(self.compiled, self.candidate)

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "shape": dict(self.shape),
            "max_abs_err": self.max_abs_err,
            "max_rel_err": self.max_rel_err,
            "trials": self.trials,
            "candidate": self.candidate.to_dict() if self.candidate else None,
            "eager": self.eager.to_dict() if self.eager else None,
            "compiled": self.compiled.to_dict() if self.compiled else None,
            "speedup_eager": self.speedup_eager,
            "speedup_compile": self.speedup_compile,
            "kernels_ran": list(self.kernels_ran),
            "floor_ms": self.floor_ms,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "ShapeResult":
        return cls(
            index=d["index"],
            shape=d["shape"],
            max_abs_err=d.get("max_abs_err"),
            max_rel_err=d.get("max_rel_err"),
            trials=d.get("trials", 0),
            candidate=Timing.from_dict(d.get("candidate")),
            eager=Timing.from_dict(d.get("eager")),
            compiled=Timing.from_dict(d.get("compiled")),
            kernels_ran=tuple(d.get("kernels_ran", ())),
            floor_ms=d.get("floor_ms"),
        )


def _ratio(base: Timing | None, cand: Timing | None) -> float | None:
    if base is None or cand is None or cand.median_ms <= 0:
        return None
    return base.median_ms / cand.median_ms


@dataclass(frozen=True)
class Verdict:
    """The judgement: accepted or rejected, and every reason found."""

    status: Status
    reasons: tuple[ReasonItem, ...] = ()
    stage: Stage | None = None  # the stage that rejected; None when accepted

    @property
    def accepted(self) -> bool:
        return self.status is Status.ACCEPTED

    @property
    def codes(self) -> tuple[Reason, ...]:
        return tuple(r.code for r in self.reasons)


def geomean(values: list[float]) -> float | None:
    vals = [v for v in values if v is not None and v > 0 and math.isfinite(v)]
    if not vals:
        return None
    return math.exp(sum(math.log(v) for v in vals) / len(vals))


@dataclass(frozen=True)
class Evaluation:
    """Everything known about one candidate on one task: the pipeline's output."""

    task: str  # task name
    candidate_id: str
    verdict: Verdict
    policy: Policy
    device: Device  # a plain "cuda"/"cpu"/"none" is accepted and converted
    gpu: str = ""  # GPU name, "" on CPU
    shapes: tuple[ShapeResult, ...] = ()
    compile: CompileReport | None = None
    stage_seconds: tuple[tuple[str, float], ...] = ()  # wall time per stage
    flags: tuple[ReasonItem, ...] = ()  # findings that do not reject (e.g. BEYOND_ROOFLINE)
    env: tuple[tuple[str, str], ...] = ()  # torch/cuda/driver/cudarwin versions

    def __post_init__(self) -> None:
        object.__setattr__(self, "device", Device(self.device))

    @property
    def accepted(self) -> bool:
        return self.verdict.accepted

    @property
    def speedup_eager(self) -> float | None:
        """Geometric mean over shapes of eager / candidate (None if untimed)."""
        return geomean([s.speedup_eager for s in self.shapes])

    @property
    def speedup_compile(self) -> float | None:
        return geomean([s.speedup_compile for s in self.shapes])

    @property
    def fitness(self) -> float:
        """Verified speedup over eager (geomean over shapes); 0 when rejected.

        A result faster than the physical floor is a finding, not ranked: 0.
        """
        if not self.accepted or any(f.code is Reason.BEYOND_ROOFLINE for f in self.flags):
            return 0.0
        return self.speedup_eager or 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "candidate_id": self.candidate_id,
            "status": self.verdict.status.value,
            "stage": self.verdict.stage.value if self.verdict.stage else None,
            "reasons": [r.to_dict() for r in self.verdict.reasons],
            "flags": [r.to_dict() for r in self.flags],
            "policy": self.policy.value,
            "device": self.device.value,
            "gpu": self.gpu,
            "shapes": [s.to_dict() for s in self.shapes],
            "speedup_eager": self.speedup_eager,
            "speedup_compile": self.speedup_compile,
            "fitness": self.fitness,
            "compile": None
            if self.compile is None
            else {
                "ok": self.compile.ok,
                "arch": self.compile.arch,
                "seconds": self.compile.seconds,
                "backend": self.compile.backend,
                "kernels": [k.name for k in self.compile.kernels],
                "log": self.compile.log,
            },
            "stage_seconds": dict(self.stage_seconds),
            "env": dict(self.env),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Evaluation":
        comp = d.get("compile")
        return cls(
            task=d["task"],
            candidate_id=d["candidate_id"],
            verdict=Verdict(
                Status(d["status"]),
                tuple(ReasonItem.from_dict(r) for r in d.get("reasons", ())),
                Stage(d["stage"]) if d.get("stage") else None,
            ),
            policy=Policy(d["policy"]),
            device=Device(d["device"]),
            gpu=d.get("gpu", ""),
            shapes=tuple(ShapeResult.from_dict(s) for s in d.get("shapes", ())),
            compile=None
            if comp is None
            else CompileReport(
                ok=comp["ok"],
                arch=comp["arch"],
                seconds=comp["seconds"],
                kernels=tuple(KernelInfo(k, ()) for k in comp.get("kernels", ())),
                log=comp.get("log", ""),
                backend=comp.get("backend", "nvrtc"),
            ),
            stage_seconds=tuple(d.get("stage_seconds", {}).items()),
            flags=tuple(ReasonItem.from_dict(r) for r in d.get("flags", ())),
            env=tuple(d.get("env", {}).items()),
        )


class CudarwinError(Exception):
    """An error a user can cause and fix (bad file, bad config, no GPU).

    The CLI prints ``str(err)`` as one line, never a traceback.
    """

    def __init__(self, message: str, *, path: Path | str | None = None, line: int | None = None, hint: str = ""):
        self.path = str(path) if path is not None else None
        self.line = line
        self.hint = hint
        where = ""
        if self.path:
            where = f"{self.path}:{line}: " if line else f"{self.path}: "
        super().__init__(f"{where}{message}" + (f" ({hint})" if hint else ""))


class TaskError(CudarwinError):
    """A task file that cannot be loaded or is ill-posed."""
