"""The worker boundary's wire format: typed requests and observations survive the
trip unchanged, and every reply the harness would not write decodes into a
FORGED_RESULT fault (a verdict), never an exception in the driver."""

from __future__ import annotations

import io
import math
import os

import pytest
import torch

from cudarwin.runner import protocol
from cudarwin.runner.ipc import MARK
from cudarwin.runner.protocol import ExitRequest, Kind, LoadRequest, RunRequest, TimeRequest, read_reply, reply_bytes
from cudarwin.runner.timing import TimingConfig
from cudarwin.types import Policy, Reason
from cudarwin.verifier.inputs import InputRecipe, Variant
from cudarwin.verifier.observations import (
    CheckedCall, Fault, GuardFindings, LoadObservation, OutputIssue, RunObservation, TimeObservation,
)

NONCE = "n" * 32
RUN = RunObservation(
    guards=GuardFindings(tamper=("torch.roll was replaced",), background="1 Python thread(s) left running",
                         mutated=True, compute_ops=(("add", 2),), launches=(("relu", 1),),
                         issue=OutputIssue(Reason.OUTPUT_ALIASES_INPUT, "output 0 shares memory with an input")),
    outputs=[torch.arange(4.0), 3, None, "repr"], elapsed_s=0.5,
)
TIMED = TimeObservation(
    event_ms=(0.1, 0.2), tail_ms=(0.0, 0.01), warmup_calls=3,
    checked=(CheckedCall(4, 1, 2, None, torch.ones(2)), CheckedCall(5, 0, 3, OutputIssue(Reason.NOT_A_TENSOR, "lazy"))),
    guards=GuardFindings(background="2 child process(es) running"), method="wall_clock",
)


def _nested(depth: int):
    out = [1]
    for _ in range(depth):
        out = [out]
    return out


def _wire(obs, op="run", nonce=NONCE, **changes):
    """The plain dict a worker would send for ``obs``, with fields changed or dropped (value ...)."""
    raw = torch.load(io.BytesIO(reply_bytes(op, nonce, obs)), weights_only=True)
    for key, value in changes.items():
        if value is ...:
            raw.pop(key)
        else:
            raw[key] = value
    return protocol.encode(raw)


def _forged(data: bytes, op: str = "run") -> str:
    obs = read_reply(data, op, NONCE)
    assert obs.fault is not None and obs.fault.code is Reason.FORGED_RESULT and obs.fault.fatal, obs
    return obs.fault.message


@pytest.mark.parametrize("request_", [
    LoadRequest("/t.py", Kind.CANDIDATE, "/c.py", Policy.TORCH_OK, ({"n": 5, "d": (2, 3)},)),
    LoadRequest("/t.py", Kind.COMPILE),
    RunRequest(InputRecipe(1, 2**62, Variant.WIDE, 3), 1 << 20, 7.7e29, True),
    TimeRequest(0, (InputRecipe(0, 1), InputRecipe(0, 2)), TimingConfig(budget_ms=5.0, min_calls=3), (1, 4), True),
    ExitRequest(),
])
def test_requests_round_trip(request_):
    op, nonce, back = protocol.read_request(protocol.request_bytes(request_, NONCE))
    assert (op, nonce, back) == (protocol.op_of(request_), NONCE, request_)


def test_nan_poison_value_round_trips():
    _, _, back = protocol.read_request(protocol.request_bytes(RunRequest(InputRecipe(0, 1)), NONCE))
    assert math.isnan(back.poison_value)


def test_observations_round_trip():
    back = read_reply(reply_bytes("run", NONCE, RUN), "run", NONCE)
    assert back.guards == RUN.guards and back.elapsed_s == RUN.elapsed_s
    assert torch.equal(back.outputs[0], RUN.outputs[0]) and back.outputs[1:] == RUN.outputs[1:]
    timed = read_reply(reply_bytes("time", NONCE, TIMED), "time", NONCE)
    assert timed.event_ms == TIMED.event_ms and timed.checked[1] == TIMED.checked[1]
    assert timed.guards == TIMED.guards and timed.guards.launches is None  # not counted while timing
    loaded = LoadObservation(import_s=1.5, tamper=("cudarwin.runner.ipc.export was replaced",))
    assert read_reply(reply_bytes("load", NONCE, loaded), "load", NONCE) == loaded
    fault = LoadObservation(Fault(Reason.COMPILE_ERROR, "kernel.cu(3): error", "", False))
    assert read_reply(reply_bytes("load", NONCE, fault), "load", NONCE) == fault


def test_a_reply_to_another_request_is_forged():
    assert "did not answer" in _forged(reply_bytes("run", "x" * 32, RUN))
    assert "did not answer" in _forged(reply_bytes("time", NONCE, TIMED))  # the right nonce, the wrong op


@pytest.mark.parametrize("changes,words", [
    ({"elapsed_s": ...}, "elapsed_s: missing"),
    ({"elapsed_s": "fast"}, "expected a number"),
    ({"elapsed_s": True}, "expected a number"),
    ({"extra": 1}, "unknown field"),
    ({"guards": [1, 2]}, "expected a GuardFindings record"),
    ({"guards": {**GuardFindings().__dict__, "mutated": 1}}, "mutated: expected bool"),
    ({"guards": {**GuardFindings().__dict__, "tamper": "x"}}, "expected a list"),
    ({"guards": {**GuardFindings().__dict__, "compute_ops": [["add"]]}}, "expected 2 items"),
    ({"guards": {**GuardFindings().__dict__, "issue": {"code": "all_good", "message": ""}}}, "not a Reason code"),
    ({"guards": {**GuardFindings().__dict__, "issue": {"code": "mismatch", "message": ""}}}, "does not find"),
    ({"fault": {"code": "bogus", "message": "", "traceback": "", "fatal": False}}, "not a Reason code"),
    ({"fault": {"code": "stale_output", "message": "", "traceback": "", "fatal": False}}, "does not report"),
    ({"outputs": {"a": torch.ones(1)}}, "not an output"),
    ({"outputs": _nested(40)}, "deeper"),
])
def test_malformed_run_reply_is_forged(changes, words):
    assert words in _forged(_wire(RunObservation(outputs=torch.ones(2)), **changes))


def test_malformed_timed_reply_is_forged():
    assert "tails" in _forged(_wire(TIMED, op="time", tail_ms=[0.0]), op="time")
    assert "without a timed call" in _forged(_wire(TIMED, op="time", tail_ms=[], event_ms=[]), op="time")
    assert "set: expected int" in _forged(_wire(TIMED, op="time", checked=[{
        "call": 1, "set": "0", "roll": 0, "issue": None, "outputs": None}]), op="time")


def test_descriptors_pass_decoding_and_are_checked_when_mapped():
    desc = {MARK: b"\0" * 64, "offset": 0, "nbytes": 8, "shape": [2], "dtype": "float32"}
    obs = read_reply(_wire(RunObservation(), outputs=[desc]), "run", NONCE)
    assert obs.fault is None and obs.outputs == [desc]


class _Boom:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_unreadable_or_unsafe_bytes_are_forged():
    assert "unreadable" in _forged(b"not a pickle")
    buf = io.BytesIO()
    torch.save({"op": "run", "nonce": NONCE, "x": _Boom()}, buf)  # code execution if unpickled
    assert "unreadable" in _forged(buf.getvalue())
    assert "expected a dict" in _forged(protocol.encode([1, 2]))


def test_a_request_the_driver_did_not_write_is_refused():
    with pytest.raises(protocol.ProtocolError, match="unknown op"):
        protocol.read_request(protocol.encode({"op": "shell", "nonce": NONCE}))
    with pytest.raises(protocol.ProtocolError, match="shape_index: missing"):
        protocol.read_request(protocol.encode({"op": "time", "nonce": NONCE, "recipes": []}))
