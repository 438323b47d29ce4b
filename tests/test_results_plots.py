"""The SVG chart helpers: scales, ticks and well-formed charts."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import pytest

from cudarwin.results import plots

NS = "{http://www.w3.org/2000/svg}"


def test_scales_map_ends_and_log_midpoint() -> None:
    lin = plots.Scale(0, 10, 100, 200)
    assert (lin(0), lin(5), lin(10), lin(20)) == (100, 150, 200, 200)  # clamped
    log = plots.Scale(0.5, 2, 0, 100, log=True)
    assert log(1.0) == pytest.approx(50.0)  # 1x sits in the middle of 0.5x..2x


def test_ticks() -> None:
    assert plots.linear_ticks(0, 1) == [0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert plots.log_ticks(0.4, 12) == [0.5, 1, 2, 5, 10]
    assert plots.log_ticks(0.005, 2000) == [0.01, 0.1, 1, 10, 100, 1000]
    narrow = plots.log_ticks(0.9, 1.6)
    assert len(narrow) >= 3 and all(0.9 <= t <= 1.6 for t in narrow)
    lo, hi = plots.log_range([3.0, 0.5])
    assert lo < 0.5 and hi > 3.0
    assert plots.fmt(0.25, percent=True) == "25%" and plots.fmt(1500) == "1.5k" and plots.fmt(2.0) == "2"


def _svg(text: str) -> ET.Element:
    return ET.fromstring(text)


def test_charts_are_well_formed_and_draw_every_value() -> None:
    bars = _svg(plots.grouped_bars(["a", "b"], {"r1": [0.5, 1.0], "r2": [0.25, None]}, y_label="share", percent=True))
    assert len(bars.findall(f"{NS}rect")) == 3 + 2  # three bars and two legend swatches
    speed = _svg(plots.speedup_bars(["t1", "t2"], {"run": [2.0, None]}, x_label="x"))
    assert "no verified kernel" in ET.tostring(speed, encoding="unicode")
    line = _svg(plots.lines({"run": [(0, 1.0), (1, 1.5), (2, 2.0)]}, x_label="g", y_label="s", log_y=True, ref=1.0))
    assert len(line.findall(f"{NS}circle")) == 3 and len(line.findall(f"{NS}path")) == 1
    dots = _svg(plots.scatter({"run": [(0.1, 2.0, "relu"), (0.2, 0.5, "gemm")]}, x_label="$", y_label="x"))
    assert len(dots.findall(f"{NS}circle")) == 2
    assert _svg(plots.sparkline([(0, 1.0), (3, 2.0)])).tag == f"{NS}svg"
    assert plots.sparkline([]) == ""


def test_empty_inputs_say_so() -> None:
    for chart in (plots.grouped_bars([], {}, y_label="y"), plots.speedup_bars([], {}, x_label="x"),
                  plots.lines({}, x_label="x", y_label="y"), plots.scatter({}, x_label="x", y_label="y")):  # fmt: skip
        assert "no " in chart and _svg(chart).tag == f"{NS}svg"


def test_labels_are_escaped() -> None:
    svg = plots.speedup_bars(["<script>&"], {"a<b": [2.0]}, x_label="x")
    assert "<script>" not in svg and _svg(svg) is not None
    assert not math.isnan(plots.Scale(1, 1, 0, 10)(1))  # a zero-width domain maps to the middle
