"""report.html opened in headless Chromium: the page renders, its script runs, nothing errors.

Needs the Debian ``chromium`` package (``apt-get install -y chromium``); skipped without it.
"""

from __future__ import annotations

import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "results"))

from synthetic_run import build_run_a, build_run_b  # noqa: E402

from cudarwin.results.report import write_report  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs headless Chromium at /usr/bin/chromium (Debian package `chromium`)"
)


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    flags = [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
    ]  # fmt: skip
    return subprocess.run([str(CHROMIUM), *flags, *args], capture_output=True, text=True, timeout=120)


def _png_info(path: Path) -> tuple[int, int, float]:
    """Width, height and the share of non-zero bytes in the filtered image data.

    PNG rows are stored as differences, so an empty page of one colour is
    almost all zero bytes while text, tables and charts are not.
    """
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG file"
    pos, idat, width, height = 8, b"", 0, 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    return width, height, sum(1 for b in raw if b) / len(raw)


@pytest.fixture(scope="module")
def report_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    root = tmp_path_factory.mktemp("browser")
    build_run_a(root / "model-a")
    build_run_b(root / "offline")
    files = write_report([root / "model-a", root / "offline"], root / "report")
    return files.html.resolve().as_uri()


def test_dom_is_complete_and_script_ran_without_errors(report_url: str, tmp_path: Path) -> None:
    done = _chromium(tmp_path, "--enable-logging=stderr", "--v=0", "--dump-dom", report_url)
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    assert 'data-ready="1"' in dom, "the page's script did not run to its end"
    assert dom.count("<svg") >= 6 and dom.count("<table") >= 6
    for anchor in ("summary", "fast-p", "leaderboard", "progress", "cost", "lineage", "findings"):
        assert f'id="{anchor}"' in dom, anchor
    console = [line for line in done.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]
    assert not console, "\n".join(console)


def test_screenshot_is_not_blank(report_url: str, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    done = _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,2000", report_url)
    assert done.returncode == 0 and shot.is_file(), done.stderr[-2000:]
    width, height, ink = _png_info(shot)
    assert (width, height) == (1280, 2000)
    assert shot.stat().st_size > 40_000
    assert ink > 0.005, f"screenshot looks blank ({ink:.4f} of bytes non-zero)"
