"""The compile-only path: extract_cuda_sources and compile_candidate (CPU, no GPU)."""

from __future__ import annotations

import os
import stat
import time
from dataclasses import replace
from pathlib import Path

import pytest

from cudarwin.runner import compile as compile_mod
from cudarwin.runner.compile import Extraction, compile_candidate, extract_cuda_sources, find_nvcc
from cudarwin.runtime import nvrtc_available
from cudarwin.types import Candidate, CudarwinError

FIXTURES = Path(__file__).parent / "fixtures" / "runtime"
needs_nvrtc = pytest.mark.skipif(not nvrtc_available(), reason="NVRTC (cupy + nvidia-cuda-nvrtc) not installed")


def fixture(name: str) -> str:
    return (FIXTURES / f"{name}.py").read_text()


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CUDARWIN_CACHE_DIR", str(tmp_path / "kernels"))


@pytest.fixture(scope="module")
def inline_extraction() -> Extraction:
    return extract_cuda_sources(fixture("inline_ext"))


def test_literal_source_is_recorded_with_options_and_name():
    out = extract_cuda_sources(fixture("literal"))
    assert out.ok and not out.timed_out
    (rec,) = out
    assert rec.backend == "nvrtc" and rec.name == "relu.cu" and rec.options == ("--use_fast_math",)
    assert 'extern "C" __global__ void relu(' in rec.source


def test_fstring_built_source_is_recorded_fully_formatted():
    (rec,) = extract_cuda_sources(fixture("fstring"))
    assert rec.source.startswith("#include <cuda_fp16.h>\n#define BLOCK 128\n")
    assert "void scale_f32(const float* x, float* y, float alpha, int n) {" in rec.source
    assert "blockIdx.x * 128 + threadIdx.x" in rec.source


def test_two_load_cuda_calls_are_recorded_in_order():
    out = extract_cuda_sources(fixture("two_sources"))
    assert [r.name for r in out] == ["fill.cu", "add.cu"]
    assert len(out) == 2 and out[1].source.count("__global__") == 1


def test_load_inline_candidate_is_recorded(inline_extraction):
    (rec,) = inline_extraction
    assert inline_extraction.ok
    assert rec.backend == "load_inline" and rec.name == "relu_ext"
    assert rec.functions == ("relu_cuda",) and rec.options == ("-O3",)
    assert "__global__ void relu_kernel" in rec.source
    assert rec.cpp_source == "torch::Tensor relu_cuda(torch::Tensor x);"


def test_import_error_comes_back_as_a_value_with_the_candidates_lines():
    out = extract_cuda_sources(fixture("raises"))
    assert not out.ok
    assert "RuntimeError: configuration exploded" in out.error
    assert 'File "candidate.py", line 11' in out.error  # the call site, in the candidate's own numbering
    assert "cudarwin-extract" not in out.error  # no temp paths
    assert len(out) == 1  # what was recorded before the failure is kept


def test_hanging_import_is_killed_at_the_timeout():
    start = time.perf_counter()
    out = extract_cuda_sources(fixture("hangs"), timeout=1.5)
    assert out.timed_out and not out.ok and "1.5 s" in out.error
    assert time.perf_counter() - start < 10


def test_exit_during_import_is_reported():
    out = extract_cuda_sources("import os\nos._exit(3)\n")
    assert not out.ok and "exited with code 3" in out.error


def test_syntax_error_is_reported():
    out = extract_cuda_sources("def broken(:\n    pass\n")
    assert "SyntaxError" in out.error


def test_candidate_sees_no_gpu_and_a_private_cwd(tmp_path):
    probe = tmp_path / "probe.txt"
    src = (
        "import os\n"
        f"open({str(probe)!r}, 'w').write(os.environ['CUDA_VISIBLE_DEVICES'] + '|' + os.environ['CUDARWIN_RUNTIME_MODE']"
        " + '|' + os.getcwd())\n"
    )
    assert extract_cuda_sources(src).ok
    visible, mode, cwd = probe.read_text().split("|")
    assert (visible, mode) == ("", "record")
    assert "cudarwin-extract" in cwd and not os.path.exists(cwd)  # removed afterwards


@needs_nvrtc
def test_compile_candidate_good():
    report = compile_candidate(Candidate(fixture("good")), arch="sm_90")
    assert report.ok, report.log
    assert report.sources == 1 and report.backend == "nvrtc" and report.arch == "sm_90"
    assert [k.name for k in report.kernels] == ["relu"]
    assert report.kernels[0].params == ("const float*", "float*", "long")
    assert report.seconds > 0


@needs_nvrtc
def test_compile_candidate_bad_reports_the_log_with_user_lines():
    report = compile_candidate(Candidate(fixture("bad")), arch="sm_80")
    assert not report.ok and report.sources == 2
    assert "== source 2 (load_cuda, broken.cu) ==" in report.log
    assert "broken.cu(6): error" in report.log
    assert [k.name for k in report.kernels] == ["fine"]


@needs_nvrtc
def test_compile_candidate_with_failing_import():
    report = compile_candidate(Candidate(fixture("raises")))
    assert not report.ok and report.log.startswith("import failed:")
    assert "configuration exploded" in report.log


def test_compile_candidate_without_cuda():
    report = compile_candidate(Candidate("x = 1\n"))
    assert report.ok and report.sources == 0 and report.kernels == ()


def test_compile_candidate_without_nvrtc_raises_with_the_fix(monkeypatch):
    monkeypatch.setattr(compile_mod, "nvrtc_available", lambda: False)
    with pytest.raises(CudarwinError, match=r"pip install cudarwin\[cuda\]"):
        compile_candidate(Candidate(fixture("literal")))


def test_compile_candidate_rejects_a_malformed_arch():
    with pytest.raises(CudarwinError, match="unknown GPU architecture"):
        compile_candidate(Candidate("x = 1\n"), arch="ampere")


# --------------------------------------------------------------------------- load_inline


FAKE_NVCC = """#!/bin/sh
# Stands in for nvcc: records its arguments, fails on sources containing BUG.
echo "$@" > "{args_file}"
for a in "$@"; do
  case "$a" in
    *.cu) src="$a" ;;
  esac
done
if grep -q BUG "$src"; then
  echo "$src(4): error: identifier \\"BUG\\" is undefined"
  exit 1
fi
exit 0
"""


def _fake_nvcc(tmp_path: Path) -> tuple[Path, Path]:
    args_file = tmp_path / "nvcc_args.txt"
    nvcc = tmp_path / "nvcc"
    nvcc.write_text(FAKE_NVCC.format(args_file=args_file))
    nvcc.chmod(nvcc.stat().st_mode | stat.S_IEXEC)
    return nvcc, args_file


@pytest.fixture
def reuse_inline_extraction(inline_extraction, monkeypatch):
    """compile_candidate on the inline fixture without importing torch again
    in a subprocess (extraction itself is tested above)."""
    monkeypatch.setattr(compile_mod, "extract_cuda_sources", lambda *_, **__: inline_extraction)
    return inline_extraction


def test_load_inline_sources_go_to_nvcc_with_torch_flags(tmp_path, monkeypatch, reuse_inline_extraction):
    nvcc, args_file = _fake_nvcc(tmp_path)
    monkeypatch.setattr(compile_mod, "find_nvcc", lambda: str(nvcc))
    report = compile_candidate(Candidate(fixture("inline_ext")), arch="sm_90")
    assert report.ok, report.log
    assert report.backend == "load_inline" and report.sources == 1
    assert [k.name for k in report.kernels] == ["relu_kernel"]
    args = args_file.read_text().split()
    assert "-arch=sm_90" in args and "-c" in args and "-O3" in args
    assert any(a.startswith("-I") and a.endswith("torch/include") for a in args)


def test_load_inline_compile_error_fails_the_report(tmp_path, monkeypatch, inline_extraction):
    nvcc, _ = _fake_nvcc(tmp_path)
    monkeypatch.setattr(compile_mod, "find_nvcc", lambda: str(nvcc))
    rec = inline_extraction[0]
    broken = Extraction((replace(rec, source=rec.source.replace("int n = x.numel();", "int n = BUG;")),))
    monkeypatch.setattr(compile_mod, "extract_cuda_sources", lambda *_, **__: broken)
    report = compile_candidate(Candidate(fixture("inline_ext")))
    assert not report.ok
    assert "relu_ext.cu(4): error" in report.log and "cudarwin-nvcc" not in report.log


def test_load_inline_without_nvcc_passes_with_a_note(monkeypatch, reuse_inline_extraction):
    monkeypatch.setattr(compile_mod, "find_nvcc", lambda: None)
    report = compile_candidate(Candidate(fixture("inline_ext")))
    assert report.ok and "nvcc not found" in report.log
    assert [k.name for k in report.kernels] == ["relu_kernel"]


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("CUDARWIN_SLOW_TESTS"), reason="set CUDARWIN_SLOW_TESTS=1 (nvcc on torch headers: minutes)")
@pytest.mark.skipif(find_nvcc() is None, reason="nvcc not installed")
def test_load_inline_with_real_nvcc(inline_extraction):
    ok, log = compile_mod.compile_load_inline(inline_extraction[0], arch="sm_90", nvcc=find_nvcc())
    assert ok, log
    broken = replace(inline_extraction[0], source="__global__ void k( {")
    ok, log = compile_mod.compile_load_inline(broken, arch="sm_90", nvcc=find_nvcc())
    assert not ok and "relu_ext.cu(1)" in log


def test_output_of_a_dying_candidate_is_kept_and_endless_output_is_stopped():
    out = extract_cuda_sources("print('last words', flush=True)\nimport os\nos._exit(4)\n")
    assert "exited with code 4" in out.error and "last words" in out.error
    start = time.perf_counter()
    flood = extract_cuda_sources("import sys\nwhile True:\n    sys.stdout.write('x' * 65536)\n", timeout=30)
    assert not flood.ok and not flood.timed_out  # stopped by the file-size limit, not the timeout
    assert time.perf_counter() - start < 25


def test_processes_started_by_the_candidate_are_killed(tmp_path):
    marker = tmp_path / "alive"
    child = f"import time; time.sleep(1.5); open({str(marker)!r}, 'w')"
    src = f"import subprocess, sys\nsubprocess.Popen([sys.executable, '-c', {child!r}])\n"
    assert extract_cuda_sources(src).ok
    time.sleep(2.5)
    assert not marker.exists()
