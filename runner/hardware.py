"""Facts about the GPU: name, size, and the two ceilings of the roofline.

The ceilings (copy bandwidth and matrix peak) are measured once per GPU by
``measure_ceilings`` (``cudarwin baseline`` does it) and stored with the
baselines; until then, conservative datasheet-like defaults by GPU name are
used. The roofline floor of a shape is ``max(flops / peak, bytes /
bandwidth)`` with the task's ``META`` functions; a candidate faster than the
floor is a finding, not a result (REWARD_HACKS.md #24).
"""

from __future__ import annotations

import torch

from cudarwin.types import GpuInfo

__all__ = ["GpuInfo", "default_ceilings", "floor_ms", "gpu_info", "measure_ceilings"]

# (bytes/s, flop/s) ceilings by name fragment, used until measured. The matrix
# peak is the fastest unit (dense bf16 tensor cores) so the floor stays a floor.
_DEFAULTS = {
    "H200": (4.8e12, 990e12),
    "H100": (3.35e12, 990e12),
    "A100": (2.0e12, 312e12),
    "L40": (0.86e12, 362e12),
    "4090": (1.0e12, 330e12),
}
_FALLBACK = (5.0e12, 2000e12)  # unknown GPU: generous, so the floor never flags honest work


def gpu_info(device: int = 0, ceilings: tuple[float, float] | None = None) -> GpuInfo:
    """Properties of a visible GPU; ceilings measured if given, else defaults."""
    props = torch.cuda.get_device_properties(device)
    bw, peak = ceilings or default_ceilings(props.name)
    return GpuInfo(
        name=props.name,
        sms=props.multi_processor_count,
        l2_bytes=int(getattr(props, "L2_cache_size", 0)),
        smem_per_block=int(getattr(props, "shared_memory_per_block", 0)),
        smem_per_block_optin=int(getattr(props, "shared_memory_per_block_optin", 0)),
        capability=f"{props.major}.{props.minor}",
        bandwidth=bw,
        peak_flops=peak,
        measured=ceilings is not None,
    )


def default_ceilings(name: str) -> tuple[float, float]:
    """Nominal (bytes/s, flop/s) ceilings for a GPU by name, until measured."""
    for key, value in _DEFAULTS.items():
        if key in name:
            return value
    return _FALLBACK


def floor_ms(meta_flops, meta_bytes, shape: dict, bandwidth: float, peak: float) -> float | None:
    """Roofline floor of one shape in ms, or None when META gives neither function."""
    times = []
    try:
        if meta_flops is not None and peak > 0:
            times.append(float(meta_flops(**shape)) / peak)
        if meta_bytes is not None and bandwidth > 0:
            times.append(float(meta_bytes(**shape)) / bandwidth)
    except Exception:  # a task's cost function that fails only loses the floor
        return None
    return max(times) * 1e3 if times else None


def measure_ceilings(device: int = 0) -> tuple[float, float]:
    """Measure device-to-device copy bandwidth and bf16 matmul peak (bytes/s, flop/s)."""
    dev = torch.device("cuda", device)
    n = 1 << 28  # 1 GiB of float32
    src = torch.randn(n, device=dev)
    dst = torch.empty_like(src)
    copy_ms = _best_ms(lambda: dst.copy_(src), dev)
    bandwidth = 2 * src.numel() * 4 / (copy_ms * 1e-3)
    del src, dst
    m = 8192
    a = torch.randn(m, m, device=dev, dtype=torch.bfloat16)
    b = torch.randn(m, m, device=dev, dtype=torch.bfloat16)
    mm_ms = _best_ms(lambda: a @ b, dev)
    peak = 2 * m**3 / (mm_ms * 1e-3)
    return bandwidth, peak


def _best_ms(fn, dev, reps: int = 10) -> float:
    for _ in range(3):
        fn()
    torch.cuda.synchronize(dev)
    times = []
    for _ in range(reps):
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record()
        fn()
        e.record()
        torch.cuda.synchronize(dev)
        times.append(s.elapsed_time(e))
    times.sort()
    return times[len(times) // 2]
