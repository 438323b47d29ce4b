"""Which headers, macros and std:: names compile: nvcc against cudarwin's NVRTC.

Compiles every case of tests/fixtures/nvrtc_headers.py on its own, three
ways: ``nvcc -c -arch=sm_90 -std=c++17``, the same with
``--expt-relaxed-constexpr`` (as torch's load_inline passes it), and
``cudarwin.runtime.compile_cuda`` (NVRTC). Needs no GPU. Prints a Markdown
table, then the cases where NVRTC refuses what nvcc takes and the cases whose
recorded ``nvcc`` field disagrees with this nvcc.

    python bench/nvrtc_headers.py [--jobs 2] [--only HEADER]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "fixtures"))

from nvrtc_headers import CASES, source  # noqa: E402

from cudarwin.runtime import CudaCompileError, compile_cuda  # noqa: E402


def nvcc_accepts(nvcc: str, text: str, relaxed: bool) -> bool:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "probe.cu")
        path.write_text(text)
        cmd = [nvcc, "-c", "-arch=sm_90", "-std=c++17", str(path), "-o", str(Path(tmp, "probe.o"))]
        if relaxed:
            cmd.insert(1, "--expt-relaxed-constexpr")
        return subprocess.run(cmd, capture_output=True, timeout=300).returncode == 0


def nvrtc_accepts(text: str) -> tuple[bool, str]:
    try:
        out = compile_cuda(text, cache=False)
        return True, out.log
    except CudaCompileError as err:
        first = next((ln for ln in err.log.splitlines() if "error" in ln), err.log[:200])
        return False, first


def measured_nvcc(plain: bool, relaxed: bool) -> str:
    return "yes" if plain else "relaxed" if relaxed else "no"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2, help="nvcc processes at once")
    parser.add_argument("--only", help="only the cases of this header ('' for none)")
    args = parser.parse_args()
    cases = [c for c in CASES if args.only is None or c.header == args.only]
    nvcc = shutil.which("nvcc")
    texts = [source([c], c.header) for c in cases]
    plain: list[bool | None] = [None] * len(cases)
    relaxed: list[bool | None] = [None] * len(cases)
    if nvcc:
        with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
            plain = list(pool.map(lambda t: nvcc_accepts(nvcc, t, False), texts))
            relaxed = list(pool.map(lambda t: nvcc_accepts(nvcc, t, True), texts))
    nvrtc = [nvrtc_accepts(t) for t in texts]

    def mark(v: bool | None) -> str:
        return "-" if v is None else "yes" if v else "**no**"

    print("| header | case | nvcc | nvcc relaxed-constexpr | NVRTC (cudarwin) |")
    print("|---|---|---|---|---|")
    for c, p, r, (ok, _) in zip(cases, plain, relaxed, nvrtc):
        print(f"| {'<' + c.header + '>' if c.header else '(none)'} | `{c.name}` | {mark(p)} | {mark(r)} | {mark(ok)} |")
    refused = [(c, why) for c, r, (ok, why) in zip(cases, relaxed, nvrtc) if not ok and (r or (r is None and c.nvcc != "no"))]
    print(f"\nNVRTC refuses {len(refused)} case(s) nvcc takes:")
    for c, why in refused:
        print(f"  <{c.header}> {c.name}\n      {why}")
    if nvcc:
        drift = [(c, measured_nvcc(p, r)) for c, p, r in zip(cases, plain, relaxed) if measured_nvcc(p, r) != c.nvcc]
        print(f"\n{len(drift)} case(s) whose recorded nvcc result differs from {nvcc}:")
        for c, got in drift:
            print(f"  <{c.header}> {c.name}: recorded {c.nvcc}, measured {got}")
    noisy = [(c, log) for c, (ok, log) in zip(cases, nvrtc) if ok and log]
    print(f"\n{len(noisy)} case(s) NVRTC compiles with warnings:")
    for c, log in noisy:
        print(f"  <{c.header}> {c.name}: {log.splitlines()[0][:160]}")
    return 1 if refused else 0


if __name__ == "__main__":
    raise SystemExit(main())
