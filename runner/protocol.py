"""Messages between the trusted driver and an untrusted worker process.

Messages are dicts of plain values and CPU tensors, serialized with
``torch.save`` and read back with ``torch.load(weights_only=True)``: the
driver never unpickles arbitrary objects from a worker (a pickle from an
untrusted process is code execution in the trusted one). Every request
carries a nonce that the reply must echo, so a reply the harness did not
write in answer to that request is detected (REWARD_HACKS.md #7).
"""

from __future__ import annotations

import io
import secrets
from multiprocessing.connection import Connection
from typing import Any

import torch

MAX_MESSAGE_BYTES = 2 << 30  # a reply larger than this is a flood, not a result


class ProtocolError(Exception):
    """A message that is malformed, oversized or does not answer the request."""


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


def new_nonce() -> str:
    return secrets.token_hex(16)


def send(conn: Connection, message: dict[str, Any]) -> None:
    conn.send_bytes(encode(message))


def recv(conn: Connection) -> dict[str, Any]:
    try:
        data = conn.recv_bytes(MAX_MESSAGE_BYTES)
    except OSError as err:
        raise ProtocolError(f"oversized or broken message: {err}") from None
    return decode(data)
