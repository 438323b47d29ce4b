"""Small SVG charts for the self-contained HTML report (no plotting library, no assets).

Each function returns one ``<svg>`` element as text. Colours come from a
colour-blind-safe palette in series order; sizes are in SVG user units and the
chart scales to its container's width.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape
from typing import Sequence

PALETTE = ("#3b6fb6", "#e07b39", "#3f9a5d", "#c2464d", "#7d5fb2", "#8c6d4f", "#d17fb8", "#7f7f7f")
INK = "#1f2430"
MUTED = "#6b7280"
GRID = "#e5e7eb"
WIDTH = 760
Number = float | int


def color(i: int) -> str:
    """The palette colour of the ``i``-th series."""
    return PALETTE[i % len(PALETTE)]


# ---------------------------------------------------------------------------- scales


@dataclass(frozen=True)
class Scale:
    """Maps data values in [lo, hi] to pixels in [a, b], linearly or in log space."""

    lo: float
    hi: float
    a: float
    b: float
    log: bool = False

    def __call__(self, v: float) -> float:
        f = self._t(min(max(v, self.lo), self.hi))
        t0, t1 = self._t(self.lo), self._t(self.hi)
        frac = 0.5 if t1 == t0 else (f - t0) / (t1 - t0)
        return self.a + frac * (self.b - self.a)

    def _t(self, v: float) -> float:
        return math.log(v) if self.log else v


def _nice_step(span: float, target: int) -> float:
    raw = span / max(target, 1)
    mag = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1.0
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * mag:
            return m * mag
    return 10 * mag


def linear_ticks(lo: float, hi: float, target: int = 5) -> list[float]:
    """Round tick values covering [lo, hi]."""
    step = _nice_step(hi - lo, target)
    start = math.floor(lo / step) * step
    ticks, v = [], start
    while v <= hi + step * 1e-9:
        if v >= lo - step * 1e-9:
            ticks.append(round(v, 10))
        v += step
    return ticks


LOG_TICKS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)


def log_ticks(lo: float, hi: float) -> list[float]:
    """Readable tick values for a log axis over [lo, hi] (at most about 7)."""
    inside = [t for t in LOG_TICKS if lo <= t <= hi]
    if len(inside) > 7:  # wide range: powers of ten only
        inside = [t for t in inside if math.log10(t).is_integer()]
    if len(inside) < 3:  # narrow range: round linear steps read better
        inside = [t for t in linear_ticks(lo, hi, 4) if t > 0]
    return inside or [lo, hi]


def log_range(values: Sequence[float], pad: float = 1.25) -> tuple[float, float]:
    """A log-axis range holding ``values`` and 1.0, padded."""
    vals = [v for v in values if v > 0 and math.isfinite(v)] + [1.0]
    return min(vals) / pad, max(vals) * pad


def fmt(v: float, percent: bool = False) -> str:
    """Tick label: 0.5, 2, 10, 1.5k; percentages as 25%."""
    if percent:
        return f"{v * 100:.0f}%"
    if abs(v) >= 1000:
        return f"{v / 1000:g}k"
    return f"{v:g}" if abs(v) >= 0.01 or v == 0 else f"{v:.1e}"


# ---------------------------------------------------------------------------- primitives


def _svg(width: float, height: float, body: list[str], label: str) -> str:
    return (
        f'<svg class="chart" viewBox="0 0 {width:.0f} {height:.0f}" role="img" aria-label="{escape(label)}" '
        f'xmlns="http://www.w3.org/2000/svg" font-family="system-ui, -apple-system, Segoe UI, sans-serif" '
        f'font-size="12" fill="{INK}">' + "".join(body) + "</svg>"
    )


def _text(x: float, y: float, s: str, anchor: str = "start", fill: str = INK, size: int = 12, extra: str = "") -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" fill="{fill}" font-size="{size}"{extra}>'
        f"{escape(s)}</text>"
    )


def _line(x1: float, y1: float, x2: float, y2: float, stroke: str, width: float = 1, dash: str = "") -> str:
    d = f' stroke-dasharray="{dash}"' if dash else ""
    return (
        f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{stroke}" '
        f'stroke-width="{width}"{d}/>'
    )


def _legend(names: Sequence[str], x: float, y: float) -> list[str]:
    out, cx = [], x
    for i, name in enumerate(names):
        out.append(f'<rect x="{cx:.1f}" y="{y - 9:.1f}" width="11" height="11" rx="2" fill="{color(i)}"/>')
        out.append(_text(cx + 16, y, name, size=12))
        cx += 16 + 7.2 * len(name) + 18
    return out


def _y_axis(scale: Scale, ticks: Sequence[float], x0: float, x1: float, percent: bool = False) -> list[str]:
    out = []
    for t in ticks:
        y = scale(t)
        out.append(_line(x0, y, x1, y, GRID))
        out.append(_text(x0 - 6, y + 4, fmt(t, percent), "end", MUTED, 11))
    return out


def _x_axis(scale: Scale, ticks: Sequence[float], y0: float, y1: float, percent: bool = False) -> list[str]:
    out = []
    for t in ticks:
        x = scale(t)
        out.append(_line(x, y0, x, y1, GRID))
        out.append(_text(x, y1 + 15, fmt(t, percent), "middle", MUTED, 11))
    return out


def empty(message: str, height: int = 80) -> str:
    """A placeholder chart that says why there is nothing to draw."""
    return _svg(WIDTH, height, [_text(WIDTH / 2, height / 2 + 4, message, "middle", MUTED, 13)], message)


# ---------------------------------------------------------------------------- charts


def grouped_bars(
    categories: Sequence[str],
    series: dict[str, Sequence[float | None]],
    *,
    y_label: str,
    percent: bool = False,
    y_max: float | None = None,
) -> str:
    """Vertical bars, one group per category and one bar per series, values labelled."""
    if not categories or not series:
        return empty("no data")
    h, left, right, top, bottom = 300, 56, 16, 34, 40
    vals = [v for vs in series.values() for v in vs if v is not None]
    hi = y_max if y_max is not None else (max(vals) * 1.15 if vals else 1.0) or 1.0
    ys = Scale(0, hi, h - bottom, top)
    body = _y_axis(ys, linear_ticks(0, hi), left, WIDTH - right, percent)
    group_w = (WIDTH - left - right) / len(categories)
    bar_w = min(44.0, group_w * 0.8 / len(series))
    for ci, cat in enumerate(categories):
        gx = left + ci * group_w + (group_w - bar_w * len(series)) / 2
        for si, (name, values) in enumerate(series.items()):
            v = values[ci]
            if v is None:
                continue
            x, y = gx + si * bar_w, ys(v)
            body.append(
                f'<rect x="{x + 1:.1f}" y="{y:.1f}" width="{bar_w - 2:.1f}" height="{ys(0) - y:.1f}" rx="2" '
                f'fill="{color(si)}"><title>{escape(f"{name}, {cat}: {fmt(v, percent)}")}</title></rect>'
            )
            body.append(_text(x + bar_w / 2, y - 4, fmt(v, percent) if percent else f"{v:.2f}", "middle", INK, 10))
        body.append(_text(left + ci * group_w + group_w / 2, h - bottom + 18, cat, "middle", INK, 12))
    body.append(_line(left, ys(0), WIDTH - right, ys(0), INK))
    body.append(_text(14, top + (h - top - bottom) / 2, y_label, "middle", MUTED, 11,
                      f' transform="rotate(-90 14 {top + (h - top - bottom) / 2:.1f})"'))  # fmt: skip
    body += _legend(list(series), left, 16)
    return _svg(WIDTH, h, body, y_label)


def speedup_bars(tasks: Sequence[str], series: dict[str, Sequence[float | None]], *, x_label: str) -> str:
    """Horizontal bars on a log axis growing from 1x: right of the line is faster, left slower.

    ``None`` marks a task with no verified kernel in that series.
    """
    if not tasks or not series:
        return empty("no tasks")
    bar_h = 13.0
    row_h = bar_h * len(series) + 12
    left = min(220, 16 + 7 * max(len(t) for t in tasks))
    right, top, bottom = 56, 34, 36
    h = top + bottom + row_h * len(tasks)
    lo, hi = log_range([v for vs in series.values() for v in vs if v is not None])
    xs = Scale(lo, hi, left, WIDTH - right, log=True)
    body = _x_axis(xs, log_ticks(lo, hi), top - 4, h - bottom)
    for ti, name in enumerate(tasks):
        y0 = top + ti * row_h + 3
        body.append(_text(left - 8, y0 + row_h / 2, name, "end", INK, 12))
        for si, (run, values) in enumerate(series.items()):
            v, y = values[ti], y0 + si * bar_h
            if v is None:
                body.append(_text(xs(1.0) + 4, y + bar_h - 2, "no verified kernel", "start", MUTED, 9))
                continue
            x0, x1 = sorted((xs(1.0), xs(v)))
            body.append(
                f'<rect x="{x0:.1f}" y="{y:.1f}" width="{max(x1 - x0, 1.5):.1f}" height="{bar_h - 1:.1f}" rx="1.5" '
                f'fill="{color(si)}"><title>{escape(f"{run}, {name}: {v:.2f}x")}</title></rect>'
            )
            body.append(_text(x1 + 4 if v >= 1 else x0 - 4, y + bar_h - 2, f"{v:.2f}x", "start" if v >= 1 else "end",
                              INK, 9))  # fmt: skip
    body.append(_line(xs(1.0), top - 4, xs(1.0), h - bottom, INK, 1.2))
    body.append(_text((left + WIDTH - right) / 2, h - 6, x_label, "middle", MUTED, 11))
    body += _legend(list(series), left, 16)
    return _svg(WIDTH, h, body, x_label)


def lines(
    series: dict[str, Sequence[tuple[Number, Number]]],
    *,
    x_label: str,
    y_label: str,
    log_y: bool = False,
    ref: float | None = None,
) -> str:
    """Step lines (value holds until the next point) with dots at the points."""
    pts = [p for ps in series.values() for p in ps]
    if not pts:
        return empty("no data")
    h, left, right, top, bottom = 300, 56, 20, 34, 42
    xs_all = [p[0] for p in pts]
    x_lo, x_hi = min(xs_all), max(max(xs_all), min(xs_all) + 1)
    ys_all = [p[1] for p in pts] + ([ref] if ref is not None else [])
    if log_y:
        y_lo, y_hi = log_range(ys_all)
        y_ticks = log_ticks(y_lo, y_hi)
    else:
        y_lo, y_hi = 0.0, max(ys_all) * 1.1 or 1.0
        y_ticks = linear_ticks(y_lo, y_hi)
    xs = Scale(x_lo, x_hi, left, WIDTH - right)
    ys = Scale(y_lo, y_hi, h - bottom, top, log=log_y)
    x_ticks = [t for t in linear_ticks(x_lo, x_hi, 8) if float(t).is_integer()] or [x_lo]
    body = _y_axis(ys, y_ticks, left, WIDTH - right) + _x_axis(xs, x_ticks, top, h - bottom)
    if ref is not None:
        body.append(_line(left, ys(ref), WIDTH - right, ys(ref), INK, 1, "4 3"))
    for si, (name, ps) in enumerate(series.items()):
        ps = sorted(ps)
        if not ps:
            continue
        d = f"M{xs(ps[0][0]):.1f},{ys(ps[0][1]):.1f}"
        for (x_prev, y_prev), (x, y) in zip(ps, ps[1:]):
            d += f" H{xs(x):.1f} V{ys(y):.1f}"
        body.append(f'<path d="{d}" fill="none" stroke="{color(si)}" stroke-width="2.2" stroke-linejoin="round"/>')
        for x, y in ps:
            body.append(
                f'<circle cx="{xs(x):.1f}" cy="{ys(y):.1f}" r="3.2" fill="{color(si)}">'
                f"<title>{escape(f'{name}: generation {x:g}, {y:.3g}')}</title></circle>"
            )
    body.append(_text((left + WIDTH - right) / 2, h - 8, x_label, "middle", MUTED, 11))
    body.append(_text(14, top + (h - top - bottom) / 2, y_label, "middle", MUTED, 11,
                      f' transform="rotate(-90 14 {top + (h - top - bottom) / 2:.1f})"'))  # fmt: skip
    body += _legend(list(series), left, 16)
    return _svg(WIDTH, h, body, y_label)


def scatter(
    series: dict[str, Sequence[tuple[float, float, str]]],
    *,
    x_label: str,
    y_label: str,
    ref_y: float | None = 1.0,
) -> str:
    """Points (x, y, label) on a linear x and a log y axis; hover shows the label."""
    pts = [p for ps in series.values() for p in ps]
    if not pts:
        return empty("no data")
    h, left, right, top, bottom = 320, 56, 24, 34, 42
    x_hi = max(p[0] for p in pts) * 1.1 or 1.0
    y_lo, y_hi = log_range([p[1] for p in pts])
    xs = Scale(0.0, x_hi, left, WIDTH - right)
    ys = Scale(y_lo, y_hi, h - bottom, top, log=True)
    body = _y_axis(ys, log_ticks(y_lo, y_hi), left, WIDTH - right) + _x_axis(xs, linear_ticks(0, x_hi), top, h - bottom)
    if ref_y is not None:
        body.append(_line(left, ys(ref_y), WIDTH - right, ys(ref_y), INK, 1, "4 3"))
    labelled = len(pts) <= 25  # beyond that, names only on hover
    for si, (name, ps) in enumerate(series.items()):
        for x, y, label in ps:
            body.append(
                f'<circle cx="{xs(x):.1f}" cy="{ys(y):.1f}" r="5" fill="{color(si)}" fill-opacity="0.8" '
                f'stroke="white" stroke-width="1"><title>{escape(f"{name}, {label}: {y:.2f}x at ${x:.3f}")}</title>'
                "</circle>"
            )
            if labelled:
                body.append(_text(xs(x) + 7, ys(y) + 4, label, "start", MUTED, 10))
    body.append(_text((left + WIDTH - right) / 2, h - 8, x_label, "middle", MUTED, 11))
    body.append(_text(14, top + (h - top - bottom) / 2, y_label, "middle", MUTED, 11,
                      f' transform="rotate(-90 14 {top + (h - top - bottom) / 2:.1f})"'))  # fmt: skip
    body += _legend(list(series), left, 16)
    return _svg(WIDTH, h, body, y_label)


def sparkline(points: Sequence[tuple[Number, Number]], width: int = 90, height: int = 22) -> str:
    """A tiny step line of best-so-far values, for table cells."""
    if len(points) < 1:
        return ""
    ps = sorted(points)
    x_lo, x_hi = ps[0][0], max(ps[-1][0], ps[0][0] + 1)
    vals = [p[1] for p in ps]
    lo, hi = min(vals + [1.0]), max(vals + [1.0])
    xs = Scale(x_lo, x_hi, 2, width - 2)
    ys = Scale(lo, hi if hi > lo else lo + 1, height - 3, 3)
    d = f"M{xs(ps[0][0]):.1f},{ys(ps[0][1]):.1f}"
    for x, y in ps[1:]:
        d += f" H{xs(x):.1f} V{ys(y):.1f}"
    d += f" H{width - 2}"
    one = ys(1.0)
    return (
        f'<svg class="spark" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'xmlns="http://www.w3.org/2000/svg">{_line(2, one, width - 2, one, GRID, 1, "2 2")}'
        f'<path d="{d}" fill="none" stroke="{PALETTE[0]}" stroke-width="1.6"/></svg>'
    )
