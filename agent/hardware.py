"""Facts about the target GPU that go into prompts.

On a GPU they come from ``torch.cuda.get_device_properties``; on the CPU (or
when a field is unknown) they are placeholders, so prompts render the same
way everywhere and a test can pin them.
"""

from __future__ import annotations

from dataclasses import dataclass

from cudarwin.types import Device


@dataclass(frozen=True)
class HardwareFacts:
    """What a kernel writer needs to know about the device."""

    name: str = "unknown GPU"
    arch: str = ""  # e.g. "sm_90"
    sms: int | None = None  # streaming multiprocessors
    shared_mem_per_block: int | None = None  # bytes, opt-in maximum where known
    l2_bytes: int | None = None
    bandwidth_gbs: float | None = None  # measured or nominal DRAM bandwidth
    matmul_tflops: float | None = None  # measured or nominal matmul peak
    device: Device = Device.CUDA
    measured: bool = False  # False: the peaks are the GPU model's nominal figures


CPU_FACTS = HardwareFacts(name="CPU (no GPU)", device=Device.CPU)


def probe_hardware(device: Device, *, bandwidth_gbs: float | None = None, matmul_tflops: float | None = None) -> HardwareFacts:
    """Facts for ``device`` ("cuda" or "cpu"); the measured peaks are passed in
    by whoever measured them (the runner's baselines), as torch cannot tell."""
    if Device(device) is not Device.CUDA:
        return CPU_FACTS
    try:
        import torch

        if not torch.cuda.is_available():
            return CPU_FACTS
        props = torch.cuda.get_device_properties(torch.cuda.current_device())
    except Exception:  # a broken driver must not stop prompt rendering
        return CPU_FACTS
    smem = getattr(props, "shared_memory_per_block_optin", None) or getattr(props, "shared_memory_per_block", None)
    measured = bandwidth_gbs is not None and matmul_tflops is not None
    if not measured:
        bandwidth_gbs, matmul_tflops = _nominal_peaks(props.name, bandwidth_gbs, matmul_tflops)
    return HardwareFacts(
        name=props.name,
        arch=f"sm_{props.major}{props.minor}",
        sms=props.multi_processor_count,
        shared_mem_per_block=smem,
        l2_bytes=getattr(props, "L2_cache_size", None),
        bandwidth_gbs=bandwidth_gbs,
        matmul_tflops=matmul_tflops,
        device=Device.CUDA,
        measured=measured,
    )


def _nominal_peaks(name: str, bandwidth_gbs: float | None, matmul_tflops: float | None) -> tuple[float | None, float | None]:
    """The runner's table of nominal ceilings (the same ones its roofline floor uses)."""
    try:
        from cudarwin.runner.hardware import default_ceilings
    except ImportError:
        return bandwidth_gbs, matmul_tflops
    bw, peak = default_ceilings(name)
    return bandwidth_gbs or bw / 1e9, matmul_tflops or peak / 1e12


def facts_from_evaluator(evaluator: object, device: Device) -> HardwareFacts:
    """The evaluator's view of its GPU (``Evaluator.gpu``, with the ceilings
    its roofline floors use, measured where stored), else :func:`probe_hardware`."""
    info = getattr(evaluator, "gpu", None)
    if Device(device) is not Device.CUDA or info is None:
        return probe_hardware(device)
    base = probe_hardware(device)
    try:
        return HardwareFacts(
            name=info.name,
            arch=base.arch or "sm_" + info.capability.replace(".", ""),
            sms=info.sms or base.sms,
            shared_mem_per_block=info.smem_per_block_optin or info.smem_per_block or base.shared_mem_per_block,
            l2_bytes=info.l2_bytes or base.l2_bytes,
            bandwidth_gbs=info.bandwidth / 1e9 if info.bandwidth else base.bandwidth_gbs,
            matmul_tflops=info.peak_flops / 1e12 if info.peak_flops else base.matmul_tflops,
            device=Device.CUDA,
            measured=bool(info.measured),
        )
    except AttributeError:  # an evaluator of another shape: keep what torch says
        return base
