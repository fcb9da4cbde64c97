"""Geometry of the report's charts: plain numbers that the templates draw as inline SVG (no script, no styles).

Colours are SVG presentation attributes (allowed by the CSP, unlike style attributes) and print as they show.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

CREATED_COLOR = "#2454c5"
RESOLVED_COLOR = "#1c7a43"
BAR_COLOR = "#4a5d85"
AXIS_COLOR = "#8a94a6"
GRID_COLOR = "#e3e7ee"
TEXT_COLOR = "#1d2430"


def nice_ceiling(value: int, ticks: int = 4) -> tuple[int, int]:
    """A round top for an axis holding `value`, and the step between its `ticks` gridlines (1, 2, 2.5 or 5 x 10^k)."""
    raw = max(value, 1) / ticks
    magnitude = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    for factor in (1, 2, 2.5, 5, 10):
        step = max(1, int(factor * magnitude))
        if step * ticks >= value:
            return step * ticks, step
    return value, max(1, value // ticks)  # pragma: no cover - the loop always returns


@dataclass
class Rect:
    """A bar: where it sits, its colour, and the text a pointer or screen reader gets."""

    x: float
    y: float
    width: float
    height: float
    fill: str
    title: str


@dataclass
class Text:
    """A label on the chart."""

    x: float
    y: float
    text: str
    anchor: str = "middle"


@dataclass
class Line:
    """An axis or gridline."""

    x1: float
    y1: float
    x2: float
    y2: float
    stroke: str


@dataclass
class Chart:
    """Everything a chart draws inside a viewBox of width x height."""

    width: int
    height: int
    title: str
    rects: list[Rect] = field(default_factory=list)
    texts: list[Text] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    legend: list[tuple[str, str]] = field(default_factory=list)  # (colour, name)


def column_chart(title: str, labels: list[str], series: list[tuple[str, str, list[int]]], tips: list[str]) -> Chart:
    """Grouped columns: for each label one column per series (name, colour, values); `tips` name each group."""
    width, height = 640, 250
    left, right, top, bottom = 44, 8, 28, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    top_value, step = nice_ceiling(max((v for _, _, values in series for v in values), default=0))
    chart = Chart(width, height, title, legend=[(colour, name) for name, colour, _ in series])
    for tick in range(0, top_value + 1, step):
        y = top + plot_h - plot_h * tick / top_value
        chart.lines.append(Line(left, round(y, 1), width - right, round(y, 1), GRID_COLOR if tick else AXIS_COLOR))
        chart.texts.append(Text(left - 6, round(y + 4, 1), f"{tick:,}", "end"))
    groups = max(len(labels), 1)
    group_w = plot_w / groups
    bar_w = group_w * 0.8 / max(len(series), 1)
    every = max(1, math.ceil(len(labels) / 10))
    for i, label in enumerate(labels):
        x0 = left + i * group_w + group_w * 0.1
        for j, (name, colour, values) in enumerate(series):
            h = plot_h * values[i] / top_value
            chart.rects.append(
                Rect(round(x0 + j * bar_w, 1), round(top + plot_h - h, 1), round(bar_w, 1), round(h, 1), colour,
                     f"{tips[i]}: {values[i]:,} {name.lower()}")
            )
        if i % every == 0:
            chart.texts.append(Text(round(left + (i + 0.5) * group_w, 1), height - bottom + 16, label))
    return chart


def bar_chart(title: str, rows: list[tuple[str, int]], colour: str = BAR_COLOR) -> Chart:
    """Horizontal bars, one row per (label, value), the value written after each bar."""
    row_h, label_w, value_w, width = 30, 120, 64, 480
    height = row_h * max(len(rows), 1) + 8
    top_value = max((v for _, v in rows), default=0) or 1
    chart = Chart(width, height, title)
    bar_space = width - label_w - value_w
    chart.lines.append(Line(label_w, 0, label_w, height, AXIS_COLOR))
    for i, (label, value) in enumerate(rows):
        y = 4 + i * row_h
        w = bar_space * value / top_value
        chart.texts.append(Text(label_w - 8, y + 19, label, "end"))
        chart.rects.append(Rect(label_w, y + 4, round(w, 1), row_h - 8, colour, f"{label}: {value:,}"))
        chart.texts.append(Text(round(label_w + w + 6, 1), y + 19, f"{value:,}", "start"))
    return chart
