"""How a worker's outputs reach the driver: CUDA IPC where it works, else the socket.

With IPC on, a worker sends descriptors of its GPU outputs and the driver
copies them into its own memory (``runner.ipc``) before its next request. If
a descriptor cannot be mapped or fails its checks, IPC is turned off for good
(a machine where IPC does not work must still evaluate, only slower) and the
request is repeated with the outputs sent over the socket.
"""

from __future__ import annotations

from dataclasses import replace

import torch

from cudarwin.runner.ipc import IpcError, import_outputs
from cudarwin.runner.pool import Worker
from cudarwin.runner.protocol import RunRequest, TimeRequest
from cudarwin.verifier.observations import RunObservation, TimeObservation


class OutputTransfer:
    """The evaluator's choice of output channel, shared by its evaluations."""

    def __init__(self, ipc: bool):
        self.ipc = ipc and _cupy_available()  # ask workers for IPC descriptors
        self.error = ""  # why IPC was turned off, if it was

    def collect(self, worker: Worker, request: RunRequest | TimeRequest, obs: RunObservation | TimeObservation,
                device: torch.device, deadline: float) -> RunObservation | TimeObservation:
        """``obs`` with its outputs in the driver's memory on ``device``, before the next request."""
        if obs.fault is not None or not request.ipc:
            return obs
        try:
            if isinstance(obs, RunObservation):
                return replace(obs, outputs=import_outputs(obs.outputs, device))
            return replace(obs, checked=tuple(replace(c, outputs=import_outputs(c.outputs, device)) for c in obs.checked))
        except IpcError as err:
            self.ipc, self.error = False, str(err)
            return worker.request(replace(request, ipc=False), deadline)


def _cupy_available() -> bool:
    try:
        from cupy_backends.cuda.api import runtime  # noqa: F401
    except Exception:  # noqa: BLE001
        return False
    return True
