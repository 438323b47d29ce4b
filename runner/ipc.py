"""Handing a worker's GPU outputs to the driver through CUDA IPC, not the socket.

A correctness trial's output can be hundreds of MB. Copied to the host,
pickled, sent over the result channel and copied back to the GPU, it costs
far more than the kernel that made it. Instead the worker exports the
allocation holding each output (``cudaIpcGetMemHandle``) and sends a small
descriptor; the driver maps it, copies the bytes into its own memory and
unmaps it before the next request. The worker keeps the tensors alive until
then.

The descriptor comes from untrusted code, so the driver checks it before
reading: the mapped allocation's real extent (``cuMemGetAddressRange``) must
hold ``offset + nbytes``, and the shape and dtype must account for exactly
``nbytes``. A descriptor that fails any check is an ``IpcError``; the
evaluator then falls back to the socket for the rest of its life (a machine
where IPC does not work at all must still evaluate, only slower).
"""

from __future__ import annotations

import ctypes
import math
from typing import Any

import torch

MARK = "cuda_ipc"  # the key that tells a descriptor from a value in an output structure
STATS = {"taken": 0}  # outputs received through IPC in this process (for tests and benchmarks)

_DTYPES = {str(d).removeprefix("torch."): d for d in (
    torch.float64, torch.float32, torch.float16, torch.bfloat16, torch.complex64, torch.complex128,
    torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8, torch.bool,
    torch.float8_e4m3fn, torch.float8_e5m2,
)}


class IpcError(Exception):
    """A descriptor that cannot be mapped or does not describe memory it owns."""


def dtype_named(name: Any) -> torch.dtype:
    if not isinstance(name, str) or name not in _DTYPES:
        raise IpcError(f"unsupported dtype {name!r}")
    return _DTYPES[name]


def check_descriptor(desc: Any) -> tuple[bytes, int, int, tuple[int, ...], torch.dtype]:
    """Validate a descriptor's fields (no GPU needed): (handle, offset, nbytes, shape, dtype)."""
    if not isinstance(desc, dict) or not isinstance(desc.get(MARK), bytes):
        raise IpcError("not an IPC descriptor")
    handle, offset, nbytes, shape = desc[MARK], desc.get("offset"), desc.get("nbytes"), desc.get("shape")
    if len(handle) != 64:
        raise IpcError(f"IPC handle of {len(handle)} bytes, expected 64")
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in (offset, nbytes)):
        raise IpcError("offset and nbytes must be non-negative ints")
    if not isinstance(shape, (list, tuple)) or not all(
            isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in shape):
        raise IpcError(f"bad shape {shape!r}")
    dtype = dtype_named(desc.get("dtype"))
    if math.prod(shape) * dtype.itemsize != nbytes or nbytes == 0:
        raise IpcError(f"shape {list(shape)} of {dtype} is not {nbytes} bytes")
    return handle, offset, nbytes, tuple(shape), dtype


def check_extent(mapped: int, base: int, size: int, offset: int, nbytes: int) -> None:
    """The range [mapped + offset, + nbytes) must lie inside the allocation [base, base + size)."""
    if base != mapped or offset + nbytes > size:
        raise IpcError(f"descriptor reaches byte {offset + nbytes} of an allocation of {size} bytes")


# ----------------------------------------------------------------------------- CUDA calls

_libcuda: list[Any] = []


def address_range(ptr: int) -> tuple[int, int]:
    """(base, size) of the device allocation holding ``ptr`` (driver API)."""
    if not _libcuda:
        lib = ctypes.CDLL("libcuda.so.1")
        fn = lib.cuMemGetAddressRange_v2
        fn.argtypes = [ctypes.POINTER(ctypes.c_uint64), ctypes.POINTER(ctypes.c_size_t), ctypes.c_uint64]
        fn.restype = ctypes.c_int
        _libcuda.append(fn)
    base, size = ctypes.c_uint64(0), ctypes.c_size_t(0)
    rc = _libcuda[0](ctypes.byref(base), ctypes.byref(size), ctypes.c_uint64(ptr))
    if rc != 0:
        raise IpcError(f"cuMemGetAddressRange failed with CUresult {rc}")
    return int(base.value), int(size.value)


def _runtime():
    from cupy_backends.cuda.api import runtime

    return runtime


def export(t: torch.Tensor) -> tuple[dict[str, Any], torch.Tensor]:
    """(descriptor, tensor to keep alive) for one CUDA tensor (worker side)."""
    c = t.detach()
    if not c.is_contiguous():
        c = c.contiguous()
    nbytes = c.numel() * c.element_size()
    if nbytes == 0:
        raise IpcError("empty tensor")
    ptr = c.data_ptr()
    base, _ = address_range(ptr)
    handle = _runtime().ipcGetMemHandle(base)
    desc = {MARK: bytes(handle), "offset": ptr - base, "nbytes": nbytes,
            "shape": list(c.shape), "dtype": str(c.dtype).removeprefix("torch.")}
    return desc, c


class _Bytes:
    """A device byte range, seen by ``torch.as_tensor`` through the CUDA array interface."""

    def __init__(self, ptr: int, nbytes: int):
        self.__cuda_array_interface__ = {
            "shape": (nbytes,), "typestr": "|u1", "data": (ptr, False), "version": 3, "strides": None,
            "stream": None,
        }


class Importer:
    """Driver side: copies described outputs into the driver's memory, then unmaps them."""

    def __init__(self, device: torch.device):
        self.device = device
        self._opened: dict[bytes, int] = {}

    def take(self, desc: dict[str, Any]) -> torch.Tensor:
        handle, offset, nbytes, shape, dtype = check_descriptor(desc)
        with torch.cuda.device(self.device):  # runtime and driver calls act on this GPU
            if handle not in self._opened:
                try:
                    self._opened[handle] = _runtime().ipcOpenMemHandle(handle)
                except Exception as err:  # noqa: BLE001 -- any CUDA error: not mappable
                    raise IpcError(f"cannot map the output: {err}") from None
            mapped = self._opened[handle]
            base, size = address_range(mapped)
            check_extent(mapped, base, size, offset, nbytes)
            raw = torch.as_tensor(_Bytes(mapped + offset, nbytes), device=self.device)
            copy = raw.view(dtype).reshape(shape).clone()
        STATS["taken"] += 1
        return copy

    def close(self) -> None:
        if not self._opened:
            return
        with torch.cuda.device(self.device):
            torch.cuda.synchronize()  # the copies must finish before the mapping goes
            rt = _runtime()
            for ptr in self._opened.values():
                try:
                    rt.ipcCloseMemHandle(ptr)
                except Exception:  # noqa: BLE001 -- nothing useful to do; the mapping dies with the worker
                    pass
        self._opened.clear()


def import_outputs(out: Any, device: torch.device) -> Any:
    """``out`` with every descriptor replaced by a tensor on ``device`` (driver side)."""
    importer = Importer(device)
    try:
        return _walk(out, importer)
    finally:
        importer.close()


def _walk(out: Any, importer: Importer) -> Any:
    if isinstance(out, list):
        return [_walk(o, importer) for o in out]
    if isinstance(out, dict) and MARK in out:
        return importer.take(out)
    return out


def export_outputs(out: Any, keep: list, to_cpu) -> Any:
    """Worker side: CUDA tensors as descriptors (kept alive in ``keep``), the rest via ``to_cpu``."""
    if isinstance(out, (tuple, list)):
        return [export_outputs(o, keep, to_cpu) for o in out]
    if type(out) is torch.Tensor and out.is_cuda:
        try:
            desc, held = export(out)
        except Exception:  # noqa: BLE001 -- an allocation IPC cannot share: send the bytes
            return to_cpu(out)
        keep.append(held)
        return desc
    return to_cpu(out)
