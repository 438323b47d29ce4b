"""Running compiled kernels: the launch counters, loading a cubin into
torch's CUDA context, and launching on torch's current stream.

The launch counts live in a closure, not in a module attribute: the
evaluation harness takes its own references to :func:`launch_counts` and
:func:`reset_launch_counts` before it imports a candidate, so a candidate
that rebinds them (here or on ``cudarwin.runtime``) changes nothing the
harness reads.
"""

from __future__ import annotations

import ctypes
import os
import threading
from typing import Any, Callable, Sequence

import numpy as np

from cudarwin.runtime.arguments import KernelArgumentError, _dims, convert_argument
from cudarwin.runtime.cache import CompiledCuda
from cudarwin.runtime.nvrtc import DEFAULT_NAME, nvrtc_version
from cudarwin.runtime.record import MODE_ENV
from cudarwin.runtime.signature import KernelSignature
from cudarwin.types import CudarwinError

__all__ = ["CudaLaunchError", "CudaModule", "Kernel", "current_arch", "launch_counts", "reset_launch_counts"]

_STATIC_SHARED_LIMIT = 48 * 1024  # above this, dynamic shared memory needs an opt-in attribute


class CudaLaunchError(CudarwinError):
    """The driver refused a launch (bad grid/block, too much shared memory...)."""


def _make_launch_counter() -> tuple[Callable[[str], None], Callable[[], dict[str, int]], Callable[[], None]]:
    # The counts live in this closure, not in a module attribute a candidate
    # could overwrite by name; the harness keeps its own references to the
    # two public functions, taken before any candidate is imported.
    counts: dict[str, int] = {}
    lock = threading.Lock()

    def record(kernel: str) -> None:
        with lock:
            counts[kernel] = counts.get(kernel, 0) + 1

    def launch_counts() -> dict[str, int]:
        """Launches per kernel name since the last reset (a copy)."""
        with lock:
            return dict(counts)

    def reset_launch_counts() -> None:
        """Set every launch count back to zero."""
        with lock:
            counts.clear()

    return record, launch_counts, reset_launch_counts


_record_launch, launch_counts, reset_launch_counts = _make_launch_counter()


def _driver() -> Any:
    from cupy_backends.cuda.api import driver

    return driver


_cuda_torch: list[Any] = []  # torch, once a GPU was found: launches skip the checks


def _torch_cuda() -> Any:
    if _cuda_torch:
        return _cuda_torch[0]
    try:
        import torch
    except ImportError as err:
        raise CudarwinError("launching kernels needs torch", hint="pip install torch") from err
    if not torch.cuda.is_available():
        raise CudarwinError(
            "load_cuda needs a CUDA GPU and none is visible "
            f"(CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES', '<unset>')!r})",
            hint="to only compile, use cudarwin.runtime.compile_cuda(source, arch='sm_90')",
        )
    _cuda_torch.append(torch)
    return torch


def current_arch() -> str:
    """The architecture of torch's current CUDA device, e.g. ``"sm_90"``."""
    torch = _torch_cuda()
    major, minor = torch.cuda.get_device_capability()
    return f"sm_{major}{minor}"


def _make_current(device: int) -> int:
    """Make ``device``'s primary context (the one torch uses) current on this
    thread and return its handle."""
    try:
        from cupy_backends.cuda.api import runtime

        runtime.setDevice(device)  # since CUDA 12 this also initialises the primary context
    except Exception:  # CuPy's CUDA runtime may not match the driver: let torch do it
        torch = _torch_cuda()
        torch.cuda.set_device(device)
        torch.empty(1, device=f"cuda:{device}")  # forces the context into existence
    context = int(_driver().ctxGetCurrent())
    if not context:
        raise CudaLaunchError(f"no CUDA context could be made current for device {device}")
    return context


class _LoadedImage:
    """A cubin loaded into one device's primary context."""

    def __init__(self, cubin: bytes, device: int):
        self.device = device
        self.context = _make_current(device)
        driver = _driver()
        try:
            self.handle = driver.moduleLoadData(cubin)
        except driver.CUDADriverError as err:
            raise CudaLaunchError(
                f"the CUDA driver cannot load the compiled kernels ({err})",
                hint=f"NVRTC {'.'.join(map(str, nvrtc_version()))} may be newer than the driver; "
                "install an nvidia-cuda-nvrtc matching it",
            ) from err
        self._functions: dict[str, int] = {}
        self.shared_limit: dict[str, int] = {}

    def function(self, name: str) -> int:
        if name not in self._functions:
            driver = _driver()
            try:
                self._functions[name] = driver.moduleGetFunction(self.handle, name)
            except driver.CUDADriverError as err:
                raise CudaLaunchError(
                    f"kernel {name} is not in the compiled module ({err}); is its definition left out by #if?"
                ) from err
        return self._functions[name]


class Kernel:
    """One launchable kernel of a :class:`CudaModule`."""

    def __init__(self, module: "CudaModule", signature: KernelSignature):
        self._module = module
        self.signature = signature
        self.__name__ = signature.name

    @property
    def name(self) -> str:
        return self.signature.name

    def __repr__(self) -> str:
        return f"<cudarwin kernel {self.signature.describe()}>"

    def convert(self, args: Sequence[Any]) -> list[Any]:
        """``args`` as ctypes values of the declared parameter types."""
        params = self.signature.params
        if isinstance(args, (str, bytes)) or not isinstance(args, Sequence):
            args = (args,)
        if len(args) != len(params):
            raise KernelArgumentError(
                f"kernel {self.name} takes {len(params)} arguments, got {len(args)}; "
                f"signature: {self.signature.describe()}"
            )
        return [convert_argument(a, p, kernel=self.name, index=i) for i, (p, a) in enumerate(zip(params, args))]

    def __call__(
        self,
        grid: int | Sequence[int],
        block: int | Sequence[int],
        args: Sequence[Any] = (),
        *,
        shared_mem: int = 0,
    ) -> None:
        """Launch on torch's current stream (asynchronously, like any kernel).

        ``grid`` and ``block`` are an int or a tuple of up to 3 ints (CuPy's
        ``RawKernel`` order, so positional calls work too); ``args`` match the
        kernel's parameters; ``shared_mem`` is the dynamic shared memory in
        bytes -- above 48 KB the kernel's limit is raised automatically."""
        grid3, block3 = _dims(grid, "grid", self.name), _dims(block, "block", self.name)
        if not isinstance(shared_mem, (int, np.integer)) or shared_mem < 0:
            raise KernelArgumentError(f"shared_mem of kernel {self.name} must be a non-negative int")
        values = self.convert(args)
        self._module._launch(self.name, grid3, block3, values, int(shared_mem))
        _record_launch(self.name)


class CudaModule:
    """Compiled CUDA: one attribute per ``extern "C" __global__`` function."""

    def __init__(self, compiled: CompiledCuda | None, signatures: tuple[KernelSignature, ...], *, name: str):
        self._compiled = compiled
        self._name = name
        self._kernels = {s.name: Kernel(self, s) for s in signatures}
        self._images: dict[int, _LoadedImage] = {}
        self._lock = threading.Lock()

    @property
    def kernel_names(self) -> tuple[str, ...]:
        return tuple(self._kernels)

    @property
    def compiled(self) -> CompiledCuda | None:
        """The compile result; None in record mode."""
        return self._compiled

    def __getattr__(self, attr: str) -> Kernel:
        kernels = self.__dict__.get("_kernels", {})
        if attr in kernels:
            return kernels[attr]
        raise AttributeError(
            f"{self.__dict__.get('_name', DEFAULT_NAME)} has no extern \"C\" __global__ function {attr!r}; "
            f"kernels: {', '.join(kernels) or '(none)'}"
        )

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(self._kernels))

    def __repr__(self) -> str:
        return f"<cudarwin CudaModule {self._name} kernels={list(self._kernels)}>"

    def _image(self, device: int) -> _LoadedImage:
        with self._lock:
            if device not in self._images and self._compiled is not None:
                self._images[device] = _LoadedImage(self._compiled.cubin, device)
            return self._images[device]

    def _launch(self, name: str, grid: tuple[int, ...], block: tuple[int, ...], values: list[Any], shared: int) -> None:
        if self._compiled is None:
            raise CudarwinError(
                f"kernel {name} cannot run: cudarwin is in record mode ({MODE_ENV}=record, compile-only)"
            )
        torch = _cuda_torch[0] if _cuda_torch else _torch_cuda()
        device = torch.cuda.current_device()
        image = self._images.get(device) or self._image(device)
        driver = _driver()
        if driver.ctxGetCurrent() != image.context:
            _make_current(device)
        func = image.function(name)
        self._allow_shared(image, name, func, shared)
        stream = torch.cuda.current_stream(device).cuda_stream
        pointers = (ctypes.c_void_p * max(len(values), 1))(*[ctypes.addressof(v) for v in values])
        try:
            driver.launchKernel(func, *grid, *block, shared, stream, ctypes.addressof(pointers), 0)
        except driver.CUDADriverError as err:
            raise CudaLaunchError(
                f"launch of kernel {name} (grid={grid}, block={block}, shared_mem={shared}) failed: {err}"
            ) from err

    @staticmethod
    def _allow_shared(image: _LoadedImage, name: str, func: int, shared: int) -> None:
        if shared <= _STATIC_SHARED_LIMIT or image.shared_limit.get(name, 0) >= shared:
            return
        driver = _driver()
        try:
            driver.funcSetAttribute(func, driver.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, shared)
        except driver.CUDADriverError as err:
            raise CudaLaunchError(f"kernel {name} cannot use {shared} bytes of dynamic shared memory: {err}") from err
        image.shared_limit[name] = shared
