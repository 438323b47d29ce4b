"""Messages between the trusted driver and an untrusted worker process.

Requests (driver -> worker) and observations (worker -> driver, the types of
``verifier.observations``) are frozen dataclasses. On the wire they are plain
containers (dicts, lists, numbers, strings, bytes, CPU tensors) written with
``torch.save`` and read back with ``torch.load(weights_only=True)``: the
driver never unpickles arbitrary objects from a worker (a pickle from an
untrusted process is code execution in the trusted one).

Every request carries a nonce that the reply must echo, so a reply the
harness did not write in answer to that request is detected (REWARD_HACKS.md
#7). A reply is decoded in one place, ``read_reply``, against the field types
of the observation it must be: a wrong nonce, a missing field, a value of the
wrong type, a reason code the harness never sends or an output of a kind the
harness never produces makes the reply a ``Fault(FORGED_RESULT)``, a verdict
like any other, never an exception in the driver.
"""

from __future__ import annotations

import dataclasses
import enum
import io
import math
import secrets
import types
import typing
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, Union

import torch

from cudarwin.runner.ipc import MARK
from cudarwin.runner.timing import TimingConfig
from cudarwin.types import Policy, Reason
from cudarwin.verifier.inputs import InputRecipe
from cudarwin.verifier.observations import (
    OUTPUT_ISSUES, WORKER_FAULTS, Fault, LoadObservation, Observation, RunObservation, TimeObservation,
)

MAX_MESSAGE_BYTES = 2 << 30  # a reply larger than this is a flood, not a result
_MAX_DEPTH = 32  # nesting of an output structure; deeper is not something the harness sends


class ProtocolError(Exception):
    """A message that is malformed, oversized or does not answer the request."""


class Kind(str, enum.Enum):
    """What a worker loads: the candidate, or the reference for a baseline."""

    CANDIDATE = "candidate"
    EAGER = "eager"
    COMPILE = "compile"  # the reference under torch.compile


# ----------------------------------------------------------------------------- requests


@dataclass(frozen=True)
class LoadRequest:
    """Load the task, then import the candidate (or prepare the reference for a baseline)."""

    task_path: str
    kind: Kind = Kind.CANDIDATE
    candidate_path: str = ""
    policy: Policy = Policy.STRICT
    hidden_shapes: tuple[dict, ...] = ()  # secret shapes; their indices follow the listed ones


@dataclass(frozen=True)
class RunRequest:
    """One correctness call on the inputs a recipe denotes."""

    recipe: InputRecipe
    poison_bytes: int = 0  # memory to fill with ``poison_value`` before the call
    poison_value: float = math.nan
    ipc: bool = False  # send GPU outputs as CUDA IPC descriptors


@dataclass(frozen=True)
class TimeRequest:
    """The timing loop on one shape over rotating input sets, with hidden checks."""

    shape_index: int
    recipes: tuple[InputRecipe, ...]
    timing: TimingConfig = TimingConfig()
    check_calls: tuple[int, ...] = ()  # timed calls (0-based) whose outputs come back
    ipc: bool = False


@dataclass(frozen=True)
class ExitRequest:
    """End the worker's loop."""


@dataclass(frozen=True)
class Ready:
    """The worker's first message: started, CUDA initialized, primitives captured."""

    pid: int
    gpu: str = ""


Request = Union[LoadRequest, RunRequest, TimeRequest, ExitRequest]
_OPS: dict[str, type] = {"load": LoadRequest, "run": RunRequest, "time": TimeRequest, "exit": ExitRequest}
_OP_OF = {cls: op for op, cls in _OPS.items()}
REPLIES: dict[str, type] = {"load": LoadObservation, "run": RunObservation, "time": TimeObservation}


def op_of(request: Request) -> str:
    return _OP_OF[type(request)]


def new_nonce() -> str:
    return secrets.token_hex(16)


# ----------------------------------------------------------------------------- bytes


def encode(message: dict[str, Any]) -> bytes:
    buf = io.BytesIO()
    torch.save(message, buf)
    return buf.getvalue()


def decode(data: bytes) -> dict[str, Any]:
    try:
        obj = torch.load(io.BytesIO(data), weights_only=True, map_location="cpu")
    except Exception as err:  # anything the safe unpickler refuses
        raise ProtocolError(f"unreadable message: {err}") from None
    if not isinstance(obj, dict):
        raise ProtocolError(f"message is a {type(obj).__name__}, expected a dict")
    return obj


def recv_bytes(conn: Connection) -> bytes:
    try:
        return conn.recv_bytes(MAX_MESSAGE_BYTES)
    except OSError as err:
        raise ProtocolError(f"oversized or broken message: {err}") from None


# ----------------------------------------------------------------------------- driver side


def request_bytes(request: Request, nonce: str) -> bytes:
    return encode({"op": op_of(request), "nonce": nonce, **_encode(type(request), request)})


def send_request(conn: Connection, request: Request) -> str:
    """Send a request; returns the nonce its reply must echo."""
    nonce = new_nonce()
    conn.send_bytes(request_bytes(request, nonce))
    return nonce


def read_reply(data: bytes, op: str, nonce: str) -> Observation:
    """The observation a reply to request ``op`` carries; a bad reply is a ``FORGED_RESULT`` fault."""
    cls = REPLIES[op]
    try:
        raw = decode(data)
        if raw.get("nonce") != nonce or raw.get("op") != op:
            raise ProtocolError("a reply on the result channel did not answer the harness's request")
        obs = _decode(cls, {k: v for k, v in raw.items() if k not in ("op", "nonce")}, op)
        _check_codes(obs)
        return obs
    except ProtocolError as err:
        return cls(fault=Fault(Reason.FORGED_RESULT, str(err), fatal=True))
    except Exception as err:  # noqa: BLE001 -- whatever a hostile reply triggers is the reply's fault
        return cls(fault=Fault(Reason.FORGED_RESULT, f"undecodable reply: {type(err).__name__}: {err}", fatal=True))


def read_ready(data: bytes) -> Ready:
    raw = decode(data)
    if raw.get("op") != "ready":
        raise ProtocolError("unexpected first message from worker")
    return _decode(Ready, {k: v for k, v in raw.items() if k != "op"}, "ready")


def _check_codes(obs: Observation) -> None:
    """Reason codes a worker may send: faults it classifies, issues its output check finds."""
    if obs.fault is not None and obs.fault.code not in WORKER_FAULTS:
        raise ProtocolError(f"a worker does not report the fault {obs.fault.code.value!r}")
    issues = [c.issue for c in getattr(obs, "checked", ())]
    guards = getattr(obs, "guards", None)
    if guards is not None:
        issues.append(guards.issue)
    for issue in issues:
        if issue is not None and issue.code not in OUTPUT_ISSUES:
            raise ProtocolError(f"an output check does not find {issue.code.value!r}")
    if isinstance(obs, TimeObservation) and obs.fault is None:
        if len(obs.tail_ms) != len(obs.event_ms):
            raise ProtocolError(f"{len(obs.event_ms)} timed calls but {len(obs.tail_ms)} tails")
        if not obs.event_ms:
            raise ProtocolError("a timing loop without a timed call")


# ----------------------------------------------------------------------------- worker side


def send_ready(conn: Connection, ready: Ready) -> None:
    conn.send_bytes(encode({"op": "ready", **_encode(Ready, ready)}))


def read_request(data: bytes) -> tuple[str, str, Request]:
    """(op, nonce, request) of a driver's message; ``ProtocolError`` if it is not one."""
    raw = decode(data)
    op, nonce = raw.get("op"), raw.get("nonce")
    if op not in _OPS or not isinstance(nonce, str):
        raise ProtocolError(f"unknown op {op!r}")
    return op, nonce, _decode(_OPS[op], {k: v for k, v in raw.items() if k not in ("op", "nonce")}, op)


def reply_bytes(op: str, nonce: str, obs: Observation) -> bytes:
    return encode({"op": op, "nonce": nonce, **_encode(type(obs), obs)})


def send_reply(conn: Connection, op: str, nonce: str, obs: Observation) -> None:
    conn.send_bytes(reply_bytes(op, nonce, obs))


def request_header(data: bytes) -> tuple[Any, Any]:
    """(op, nonce) of a message that did not decode as a request, to answer it with a fault."""
    try:
        raw = decode(data)
    except ProtocolError:
        return None, None
    return raw.get("op"), raw.get("nonce")


# ----------------------------------------------------------------------------- typed codec

_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def _encode(tp: Any, value: Any) -> Any:
    """Plain containers for a typed value (dataclasses as dicts, enums as values, tuples as lists)."""
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        hints = _hints(tp)
        return {f.name: _encode(hints[f.name], getattr(value, f.name)) for f in dataclasses.fields(tp)}
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if value is None:
        return None
    if origin in (Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        return _encode(inner[0], value) if len(inner) == 1 else value
    if origin is tuple:
        item = args[0] if len(args) == 2 and args[1] is Ellipsis else None
        return [_encode(item if item is not None else args[k], v) for k, v in enumerate(value)]
    if isinstance(value, enum.Enum):
        return value.value
    return value  # numbers, strings, dicts and outputs travel as they are


def _decode(tp: Any, value: Any, path: str) -> Any:
    """``value`` read back as ``tp``, checking every field's presence and type."""
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        return _decode_dataclass(tp, value, path)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _decode(inner[0], value, path)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ProtocolError(f"{path}: expected a list, got {type(value).__name__}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_decode(args[0], v, f"{path}[{k}]") for k, v in enumerate(value))
        if len(value) != len(args):
            raise ProtocolError(f"{path}: expected {len(args)} items, got {len(value)}")
        return tuple(_decode(a, v, f"{path}[{k}]") for k, (a, v) in enumerate(zip(args, value)))
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        try:
            return tp(value)
        except (ValueError, TypeError):
            raise ProtocolError(f"{path}: {value!r} is not a {tp.__name__} code") from None
    if tp is Any:
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ProtocolError(f"{path}: expected a number, got {type(value).__name__}")
        return float(value)
    if tp in (int, str, bool, dict):
        if not isinstance(value, tp) or (tp is int and isinstance(value, bool)):
            raise ProtocolError(f"{path}: expected {tp.__name__}, got {type(value).__name__}")
        return value
    raise ProtocolError(f"{path}: no decoder for {tp!r}")  # a type this codec was not written for


def _decode_dataclass(cls: type, value: Any, path: str) -> Any:
    if not isinstance(value, dict):
        raise ProtocolError(f"{path}: expected a {cls.__name__} record, got {type(value).__name__}")
    hints = _hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(value) - names
    if unknown:
        raise ProtocolError(f"{path}: unknown field(s) {sorted(map(str, unknown))}")
    kwargs = {}
    for f in dataclasses.fields(cls):
        where = f"{path}.{f.name}"
        if f.name not in value:
            raise ProtocolError(f"{where}: missing")
        kwargs[f.name] = _decode(hints[f.name], value[f.name], where)
        if f.name == "outputs":
            _check_outputs(kwargs[f.name], where, 0)
    return cls(**kwargs)


def _check_outputs(out: Any, path: str, depth: int) -> None:
    """Outputs are what the worker sends: tensors, scalars, reprs, IPC descriptors, lists of them."""
    if depth > _MAX_DEPTH:
        raise ProtocolError(f"{path}: outputs nested deeper than {_MAX_DEPTH}")
    if out is None or isinstance(out, (bool, int, float, str, torch.Tensor)):
        return
    if isinstance(out, (list, tuple)):
        for k, o in enumerate(out):
            _check_outputs(o, f"{path}[{k}]", depth + 1)
        return
    if isinstance(out, dict) and MARK in out:
        return  # an IPC descriptor: ``ipc.check_descriptor`` validates it before any mapping
    raise ProtocolError(f"{path}: a {type(out).__name__} is not an output the harness sends")
