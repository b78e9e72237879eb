"""Line charts drawn on the server as SVG: no JavaScript, no library, legible in light and dark.

Colours are CSS classes (`series-0`…, `sev-0`…) so the page's light/dark variables apply. Every value is also in
the table beside the chart; the chart's <title> elements give exact figures on hover.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 14, 34


@dataclass
class Series:
    name: str
    css: str  # e.g. "sev-0" or "series-3"
    values: list[float | None]  # minutes, one per period; None: nothing that period
    dashed: bool = False


MINUTE_STEPS = (1, 2, 5, 10, 15, 20, 30, 60, 120, 180, 240, 360, 480, 720, 1440, 2880, 7200, 14400)


def nice_step(span: float, ticks: int = 5, *, minutes: bool = True) -> float:
    """A tick step a person reads at a glance: whole minutes, then whole hours (or 1-2-5 for counts)."""
    raw = span / max(1, ticks)
    if minutes:
        return float(next((s for s in MINUTE_STEPS if s >= raw), MINUTE_STEPS[-1]))
    magnitude = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1
    for step in (1, 2, 5, 10):
        if raw <= step * magnitude:
            return float(max(1, step * magnitude))
    return 10.0 * magnitude


def _label(value: float, unit: str = "min") -> str:
    if unit != "min":
        return f"{value:.0f}" if value == int(value) else f"{value:.1f}"
    if value >= 120:
        hours = value / 60
        return f"{hours:.0f} h" if hours == int(hours) else f"{hours:.1f} h"
    return f"{value:.0f} min" if value == int(value) else f"{value:.1f} min"


def line_chart(title: str, periods: list[date], series: list[Series], *, weekly: bool = True,
               unit: str = "min") -> SafeString:
    """An SVG line chart of minutes (or counts: unit="") per period; gaps where a period had nothing."""
    values = [v for s in series for v in s.values if v is not None]
    top = max(values, default=0.0)
    step = nice_step(top or 1.0, minutes=unit == "min")
    ceiling = step * max(1, math.ceil((top or 1.0) / step))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    n = len(periods)

    def x(i: int) -> float:
        return LEFT + (plot_w * (i + 0.5) / n if n else 0)

    def y(v: float) -> float:
        return TOP + plot_h - plot_h * v / ceiling

    out = [f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}" '
           'xmlns="http://www.w3.org/2000/svg">', f"<title>{escape(title)}</title>"]
    tick = 0.0
    while tick <= ceiling + 1e-9:
        out.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(tick):.1f}" y2="{y(tick):.1f}"/>')
        out.append(f'<text class="axis" x="{LEFT - 6}" y="{y(tick) + 4:.1f}" text-anchor="end">'
                   f"{_label(tick, unit)}</text>")
        tick += step
    every = max(1, math.ceil(n / 8))
    for i, period in enumerate(periods):
        if i % every == 0:
            text = f"{period.day} {period:%b}" if weekly else f"{period:%b %Y}"
            out.append(f'<text class="axis" x="{x(i):.1f}" y="{HEIGHT - 12}" text-anchor="middle">{text}</text>')
    for s in series:
        segment: list[str] = []
        segments = []
        for i, v in enumerate(s.values):
            if v is None:
                if segment:
                    segments.append(segment)
                segment = []
                continue
            segment.append(f"{x(i):.1f},{y(v):.1f}")
        if segment:
            segments.append(segment)
        dash = " dashed" if s.dashed else ""
        for points in segments:
            if len(points) > 1:
                out.append(f'<polyline class="line {s.css}{dash}" points="{" ".join(points)}"/>')
        for i, v in enumerate(s.values):
            if v is not None:
                when = f"week of {periods[i]:%d %b %Y}" if weekly else f"{periods[i]:%B %Y}"
                out.append(f'<circle class="dot {s.css}" cx="{x(i):.1f}" cy="{y(v):.1f}" r="3.5">'
                           f"<title>{escape(s.name)}, {when}: {_label(v, unit)}</title></circle>")
    if not values:
        out.append(f'<text class="axis" x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle">'
                   "No incident reached this milestone in the range</text>")
    out.append("</svg>")
    return mark_safe("".join(out))  # noqa: S308 - every text above is escaped or a number
