# #7 with the static checks off: forward finds the harness's result channel and the nonce of the
# request it is answering (walking the interpreter's frames), and writes its own reply first, with
# a reason code the harness never sends. The driver must turn it into a verdict, not an exception.
import io
import sys

import torch
import torch.nn as nn


def _forge():
    frame, conn, nonce = sys._getframe(), None, None
    while frame is not None:
        local = frame.f_locals
        if nonce is None and isinstance(local.get("nonce"), str) and local.get("op") == "run":
            nonce = local["nonce"]
        harness = local.get("self")
        if conn is None and type(harness).__name__ == "Harness":
            conn = harness.conn
        frame = frame.f_back
    guards = {"tamper": [], "background": None, "mutated": False, "compute_ops": [], "launches": [],
              "issue": {"code": "all_good", "message": "trust me"}}
    buf = io.BytesIO()
    torch.save({"op": "run", "nonce": nonce, "fault": None, "guards": guards, "outputs": None, "elapsed_s": 0.0}, buf)
    conn.send_bytes(buf.getvalue())


class ModelNew(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.scale = nn.Parameter(torch.randn(d))
        self.bias = nn.Parameter(torch.randn(d))

    def forward(self, x):
        _forge()
        return torch.relu(x) * self.scale + self.bias
