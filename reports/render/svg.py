"""Inline SVG charts for report.html: lines (CDFs, rates), points over time, interval rows.

Operations
    Series(name, colour, xs, ys, step=False, dots=False)
    line_chart(series, *, title, x_label, y_label, y_range=None) -> str
    interval_chart(rows, *, title, x_label, marks) -> str
                                    one row per interval (a forest plot), with reference marks
    interval_bar(point, low, high, marks, colour) -> str
                                    the small bar of a check against its tolerance
    nice_ticks(low, high, count=5) -> list[float]

Goals
    No chart library and no network: each chart is a string of SVG the page embeds, with a
    <title> a screen reader (and a test) can find. Coordinates are rounded to 0.1 px so a
    page with thousands of points stays small.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

BASELINE_COLOUR = "#2b6cb0"
CANDIDATE_COLOUR = "#c05621"
VERDICT_COLOURS = {"PROMOTE": "#2f855a", "HOLD": "#b7791f", "ROLLBACK": "#c53030"}

_WIDTH, _HEIGHT = 440, 245
_LEFT, _RIGHT, _TOP, _BOTTOM = 58, 14, 40, 40


@dataclass(frozen=True)
class Series:
    """A named line (or dots) in one colour."""

    name: str
    colour: str
    xs: Sequence[float]
    ys: Sequence[float]
    step: bool = False
    dots: bool = False


@dataclass(frozen=True)
class IntervalRow:
    """One row of an interval chart: a label, a point and its interval."""

    label: str
    point: float
    low: float
    high: float
    colour: str
    bold: bool = False


@dataclass(frozen=True)
class Mark:
    """A vertical reference line: where 'no change' or a tolerance lies."""

    x: float
    label: str
    colour: str = "#718096"
    dashed: bool = True


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high] (1, 2 or 5 times a power of ten apart)."""
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
        return [low] if math.isfinite(low) else []
    raw = (high - low) / max(count, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(low / step) * step
    ticks = []
    value = first
    while value <= high + step * 1e-9:
        ticks.append(round(value, 12))
        value += step
    return ticks


def line_chart(
    series: Sequence[Series],
    *,
    title: str,
    x_label: str,
    y_label: str,
    y_range: tuple[float, float] | None = None,
) -> str:
    """Lines (or dots) of several series on shared axes, with a legend."""
    xs = [x for s in series for x in s.xs if math.isfinite(x)]
    ys = [y for s in series for y in s.ys if math.isfinite(y)]
    if not xs or not ys:
        return _empty(title)
    x_low, x_high = _padded(min(xs), max(xs))
    y_low, y_high = y_range or _padded(min(0.0, min(ys)), max(ys))
    frame = _Frame(x_low, x_high, y_low, y_high)
    body = [frame.axes(x_label, y_label)]
    for item in series:
        points = [
            (frame.x(x), frame.y(y))
            for x, y in zip(item.xs, item.ys, strict=True)
            if math.isfinite(x) and math.isfinite(y)
        ]
        if item.dots:
            body.append(
                f'<g fill="{item.colour}" fill-opacity="0.45">'
                + "".join(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="1.6"/>' for x, y in points)
                + "</g>"
            )
            continue
        if item.step:
            points = _steps(points)
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        body.append(
            f'<polyline fill="none" stroke="{item.colour}" stroke-width="1.6" points="{path}"/>'
        )
    body.append(_legend([(s.name, s.colour) for s in series]))
    return _svg(title, body)


def interval_chart(
    rows: Sequence[IntervalRow], *, title: str, x_label: str, marks: Sequence[Mark] = ()
) -> str:
    """A forest plot: each row's point and interval, and the reference marks."""
    values = [v for r in rows for v in (r.low, r.high, r.point) if math.isfinite(v)]
    values += [m.x for m in marks]
    if not rows or not values:
        return _empty(title)
    row_height = 16
    height = _TOP + _BOTTOM + row_height * len(rows)
    left = 150
    x_low, x_high = _padded(min(values), max(values))
    frame = _Frame(x_low, x_high, 0, len(rows), height=height, left=left)
    body = [frame.axes(x_label, None, y_ticks=False)]
    for index, mark in enumerate(sorted(marks, key=lambda m: m.x)):
        x = frame.x(mark.x)
        dash = ' stroke-dasharray="4 3"' if mark.dashed else ""
        label_y = _TOP - 6 - 11 * (index % 2)  # staggered, so close marks stay readable
        body.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{label_y + 2}" y2="{height - _BOTTOM}" '
            f'stroke="{mark.colour}"{dash}/>'
            f'<text x="{x + 2:.1f}" y="{label_y}" font-size="10" '
            f'fill="{mark.colour}">{escape(mark.label)}</text>'
        )
    for index, row in enumerate(rows):
        y = _TOP + row_height * (index + 0.5)
        weight = ' font-weight="bold"' if row.bold else ""
        body.append(
            f'<text x="{left - 6}" y="{y + 3.5:.1f}" font-size="11" text-anchor="end"{weight}>'
            f"{escape(row.label)}</text>"
        )
        if math.isfinite(row.low) and math.isfinite(row.high):
            body.append(
                f'<line x1="{frame.x(row.low):.1f}" x2="{frame.x(row.high):.1f}" y1="{y:.1f}" '
                f'y2="{y:.1f}" stroke="{row.colour}" stroke-width="2"/>'
            )
        if math.isfinite(row.point):
            body.append(
                f'<circle cx="{frame.x(row.point):.1f}" cy="{y:.1f}" r="3.2" fill="{row.colour}"/>'
            )
    return _svg(title, body, height=height)


def interval_bar(
    point: float, low: float, high: float, marks: Sequence[Mark], colour: str, *, width: int = 170
) -> str:
    """A check's interval as a small bar against its reference marks (no change, tolerance)."""
    values = [v for v in (point, low, high, *(m.x for m in marks)) if math.isfinite(v)]
    if not values:
        return ""
    x_low, x_high = _padded(min(values), max(values))
    height = 18

    def x(value: float) -> float:
        return 4 + (width - 8) * (value - x_low) / (x_high - x_low)

    parts = [
        f'<line x1="{x(m.x):.1f}" x2="{x(m.x):.1f}" y1="1" y2="17" stroke="{m.colour}"'
        + (' stroke-dasharray="3 2"' if m.dashed else "")
        + "/>"
        for m in marks
    ]
    if math.isfinite(low) and math.isfinite(high):
        parts.append(
            f'<line x1="{x(low):.1f}" x2="{x(high):.1f}" y1="9" y2="9" stroke="{colour}" '
            'stroke-width="3"/>'
        )
    if math.isfinite(point):
        parts.append(f'<circle cx="{x(point):.1f}" cy="9" r="3.5" fill="{colour}"/>')
    label = ", ".join(f"{m.label} at {m.x:g}" for m in marks)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img"><title>interval {low:g} to {high:g}; {escape(label)}</title>'
        + "".join(parts)
        + "</svg>"
    )


class _Frame:
    """Maps data to pixels and draws the axes."""

    def __init__(
        self,
        x_low: float,
        x_high: float,
        y_low: float,
        y_high: float,
        *,
        height: int = _HEIGHT,
        left: int = _LEFT,
    ) -> None:
        self.x_low, self.x_high, self.y_low, self.y_high = x_low, x_high, y_low, y_high
        self.height, self.left = height, left

    def x(self, value: float) -> float:
        span = self.x_high - self.x_low
        return self.left + (_WIDTH - self.left - _RIGHT) * (value - self.x_low) / span

    def y(self, value: float) -> float:
        span = self.y_high - self.y_low
        return self.height - _BOTTOM - (self.height - _TOP - _BOTTOM) * (value - self.y_low) / span

    def axes(self, x_label: str, y_label: str | None, *, y_ticks: bool = True) -> str:
        bottom, right = self.height - _BOTTOM, _WIDTH - _RIGHT
        parts = [
            f'<line x1="{self.left}" x2="{right}" y1="{bottom}" y2="{bottom}" stroke="#4a5568"/>',
            f'<line x1="{self.left}" x2="{self.left}" y1="{_TOP}" y2="{bottom}" stroke="#4a5568"/>',
        ]
        for tick in nice_ticks(self.x_low, self.x_high):
            x = self.x(tick)
            parts.append(
                f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{bottom}" y2="{bottom + 4}" stroke="#4a5568"/>'
                f'<text x="{x:.1f}" y="{bottom + 15}" font-size="10" text-anchor="middle">'
                f"{_tick(tick)}</text>"
            )
        if y_ticks:
            for tick in nice_ticks(self.y_low, self.y_high, 4):
                y = self.y(tick)
                parts.append(
                    f'<line x1="{self.left - 4}" x2="{right}" y1="{y:.1f}" y2="{y:.1f}" '
                    f'stroke="#e2e8f0"/>'
                    f'<text x="{self.left - 6}" y="{y + 3.5:.1f}" font-size="10" '
                    f'text-anchor="end">{_tick(tick)}</text>'
                )
        parts.append(
            f'<text x="{(self.left + right) / 2:.1f}" y="{self.height - 6}" font-size="11" '
            f'text-anchor="middle">{escape(x_label)}</text>'
        )
        if y_label:
            parts.append(
                f'<text transform="translate(13 {(bottom + _TOP) / 2:.1f}) rotate(-90)" '
                f'font-size="11" text-anchor="middle">{escape(y_label)}</text>'
            )
        return "".join(parts)


def _svg(title: str, body: Sequence[str], *, height: int = _HEIGHT) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_WIDTH}" height="{height}" '
        f'viewBox="0 0 {_WIDTH} {height}" role="img" class="chart">'
        f"<title>{escape(title)}</title>"
        f'<text x="{_LEFT}" y="14" font-size="12" font-weight="bold">{escape(title)}</text>'
        + "".join(body)
        + "</svg>"
    )


def _empty(title: str) -> str:
    return _svg(title, [f'<text x="{_LEFT}" y="60" font-size="11">no data</text>'], height=80)


def _legend(items: Sequence[tuple[str, str]]) -> str:
    """The series' names under the title, left to right."""
    parts = []
    x = _LEFT
    for name, colour in items:
        parts.append(
            f'<rect x="{x}" y="20" width="10" height="10" fill="{colour}"/>'
            f'<text x="{x + 14}" y="29" font-size="10">{escape(name)}</text>'
        )
        x += 14 + 6 * len(name) + 12
    return "".join(parts)


def _steps(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for x, y in points:
        if out:
            out.append((x, out[-1][1]))
        out.append((x, y))
    return out


def _padded(low: float, high: float) -> tuple[float, float]:
    if high <= low:
        pad = abs(low) * 0.1 or 1.0
        return low - pad, high + pad
    pad = (high - low) * 0.04
    return low - pad, high + pad


def _tick(value: float) -> str:
    return f"{value:.4g}"
