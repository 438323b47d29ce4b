"""The shape of the cudarwin.runtime package: its public names, and the
launch counters the harness relies on."""

from pathlib import Path

import cudarwin.runtime as runtime
from cudarwin.runtime import launch


def test_every_public_name_is_importable_from_the_package():
    for name in runtime.__all__:
        assert getattr(runtime, name) is not None, name
    for name in ("load_cuda", "launch_counts", "reset_launch_counts", "compile_cuda", "RecordedSource",
                 "install_load_inline_recorder", "INSTALL_HINT", "MODE_ENV", "CACHE_ENV", "current_arch"):
        assert name in runtime.__all__, name


def test_the_package_exports_the_counters_themselves():
    assert runtime.launch_counts is launch.launch_counts
    assert runtime.reset_launch_counts is launch.reset_launch_counts


def test_rebinding_the_counters_changes_nothing_a_captured_reference_reads(monkeypatch):
    counts, reset = runtime.launch_counts, runtime.reset_launch_counts  # what the harness keeps
    reset()
    monkeypatch.setattr(runtime, "launch_counts", lambda: {"fake": 9})
    monkeypatch.setattr(launch, "launch_counts", lambda: {"fake": 9})
    monkeypatch.setattr(runtime, "reset_launch_counts", lambda: None)
    launch._record_launch("relu")  # what Kernel.__call__ does after a launch
    assert counts() == {"relu": 1}
    reset()
    assert counts() == {}


def test_no_module_of_the_package_is_over_600_lines():
    for path in Path(runtime.__file__).parent.glob("*.py"):
        assert len(path.read_text().splitlines()) <= 600, path.name
