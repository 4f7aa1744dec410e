"""Server-rendered SVG charts, written by us: no JavaScript, no library.

Every chart has a visible title, axis labels with units, a legend, and stays readable in greyscale: each series
differs by a fill pattern (bars) or a dash style and marker shape (lines), not by colour alone. The SVG is an
accessible image (``role="img"`` with ``<title>`` and ``<desc>``, the description summarising the data), and every
piece of text that reaches the markup goes through ``escape``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from django.utils.formats import number_format
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

WIDTH = 760
PLOT_LEFT = 70
PLOT_RIGHT = 20
PLOT_TOP = 44
PLOT_HEIGHT = 210
LEGEND_COLUMN = 150
LEGEND_ROW = 22
LEGEND_MAX_CHARS = 36
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif"


@dataclass(frozen=True)
class Style:
    colour: str
    dash: str  # stroke-dasharray for lines
    marker: str  # circle, square, triangle, diamond, cross
    pattern: str  # fill pattern for bars


# Colours differ in lightness as well as hue; patterns and dashes carry the difference in greyscale.
STYLES = [
    Style("#1f3b73", "", "circle", "solid"),
    Style("#c2410c", "9 5", "square", "diagonal"),
    Style("#0f766e", "2 4", "triangle", "dots"),
    Style("#a21caf", "12 4 3 4", "diamond", "crosshatch"),
    Style("#ca8a04", "5 3", "cross", "horizontal"),
    Style("#475569", "1 3", "circle", "vertical"),
    Style("#15803d", "14 3", "square", "backdiagonal"),
    Style("#9f1239", "6 2 1 2", "triangle", "grid"),
]


@dataclass(frozen=True)
class ChartSeries:
    label: str
    values: list[float | None]


def format_value(value: float | None, unit: str) -> str:
    """A metric's value as the reader writes numbers (``1,234.5`` in English, ``1 234,5`` in French)."""
    if value is None:
        return gettext("no data")
    if unit == "%":
        return f"{number_format(value, 1)}%"
    if unit == "hours":
        return f"{number_format(value, 1)} h"
    return number_format(value, 0 if float(value).is_integer() else 1, force_grouping=True)


def _tick_label(value: float, unit: str) -> str:
    if float(value).is_integer():
        number = number_format(value, 0, force_grouping=True)
        return f"{number}%" if unit == "%" else number
    return format_value(value, unit)


def _unit_label(unit: str) -> str:
    return {"%": gettext("per cent"), "hours": gettext("hours"), "count": gettext("count")}.get(unit, unit)


def _nice_ticks(maximum: float, *, unit: str) -> list[float]:
    """0 and four or five round steps covering ``maximum`` (1, 2, 2.5 or 5 × 10^k)."""
    if unit == "%" and maximum > 50:
        return [0, 20, 40, 60, 80, 100]
    if maximum <= 0:
        maximum = 1
    raw = maximum / 4
    magnitude = 10 ** math.floor(math.log10(raw))
    steps = (1, 2, 5, 10) if unit == "count" else (1, 2, 2.5, 5, 10)
    step = next(m * magnitude for m in steps if m * magnitude >= raw)
    if unit == "count" and step < 1:
        step = 1
    count = math.ceil(maximum / step)
    return [round(i * step, 6) for i in range(count + 1)]


def _safe_id(chart_id: str) -> str:
    cleaned = re.sub(r"[^a-z0-9-]", "-", chart_id.lower()).strip("-")
    return cleaned or "chart"


def _pattern_defs(cid: str, count: int) -> str:
    parts = []
    for index in range(count):
        style = STYLES[index % len(STYLES)]
        ink = "#ffffff"
        shape = {
            "solid": "",
            "diagonal": f'<path d="M-2,2 l4,-4 M0,8 l8,-8 M6,10 l4,-4" stroke="{ink}" stroke-width="1.6"/>',
            "backdiagonal": f'<path d="M-2,6 l4,4 M0,0 l8,8 M6,-2 l4,4" stroke="{ink}" stroke-width="1.6"/>',
            "dots": f'<circle cx="2" cy="2" r="1.4" fill="{ink}"/><circle cx="6" cy="6" r="1.4" fill="{ink}"/>',
            "crosshatch": f'<path d="M0,0 l8,8 M8,0 l-8,8" stroke="{ink}" stroke-width="1.1"/>',
            "horizontal": f'<path d="M0,2 h8 M0,6 h8" stroke="{ink}" stroke-width="1.4"/>',
            "vertical": f'<path d="M2,0 v8 M6,0 v8" stroke="{ink}" stroke-width="1.4"/>',
            "grid": f'<path d="M0,4 h8 M4,0 v8" stroke="{ink}" stroke-width="1.2"/>',
        }[style.pattern]
        parts.append(
            f'<pattern id="{cid}-p{index}" patternUnits="userSpaceOnUse" width="8" height="8">'
            f'<rect width="8" height="8" fill="{style.colour}"/>{shape}</pattern>'
        )
    return "<defs>" + "".join(parts) + "</defs>"


def _marker(style: Style, x: float, y: float) -> str:
    c = style.colour
    if style.marker == "square":
        return f'<rect x="{x - 3.5:.1f}" y="{y - 3.5:.1f}" width="7" height="7" fill="{c}"/>'
    if style.marker == "triangle":
        return f'<path d="M{x:.1f},{y - 4.5:.1f} l4.5,8 h-9 z" fill="{c}"/>'
    if style.marker == "diamond":
        return f'<path d="M{x:.1f},{y - 5:.1f} l5,5 l-5,5 l-5,-5 z" fill="{c}"/>'
    if style.marker == "cross":
        return (
            f'<path d="M{x - 4:.1f},{y - 4:.1f} l8,8 M{x + 4:.1f},{y - 4:.1f} l-8,8" stroke="{c}" stroke-width="2.2"/>'
        )
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.8" fill="#fff" stroke="{c}" stroke-width="2"/>'


class _Frame:
    """Axes, grid, tick labels, axis titles and the legend shared by every chart type."""

    def __init__(self, *, x_labels: list[str], series: list[ChartSeries], unit: str, maximum: float):
        self.x_labels = x_labels
        self.series = series
        self.unit = unit
        self.plot_width = WIDTH - PLOT_LEFT - PLOT_RIGHT
        self.ticks = _nice_ticks(maximum, unit=unit)
        self.top_value = self.ticks[-1] or 1
        longest = max((len(item.label) for item in series), default=0)
        self.legend_column = max(LEGEND_COLUMN, min(320, 48 + 7 * min(longest, LEGEND_MAX_CHARS)))
        columns = max(1, self.plot_width // self.legend_column)
        self.legend_rows = math.ceil(len(series) / columns) if series else 0
        self.legend_columns = columns
        self.legend_top = PLOT_TOP + PLOT_HEIGHT + 58
        self.height = self.legend_top + self.legend_rows * LEGEND_ROW + 8

    def y(self, value: float) -> float:
        return PLOT_TOP + PLOT_HEIGHT - (value / self.top_value) * PLOT_HEIGHT

    def slot(self, index: int) -> tuple[float, float]:
        """Left edge and width of the x slot ``index``."""
        width = self.plot_width / max(1, len(self.x_labels))
        return PLOT_LEFT + index * width, width

    def axes(self, *, x_title: str, y_title: str) -> str:
        parts = []
        for tick in self.ticks:
            y = self.y(tick)
            parts.append(
                f'<line x1="{PLOT_LEFT}" x2="{WIDTH - PLOT_RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e3e7ee"/>'
                f'<text x="{PLOT_LEFT - 8}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="#374151">'
                f"{escape(_tick_label(tick, self.unit))}</text>"
            )
        bottom = PLOT_TOP + PLOT_HEIGHT
        parts.append(
            f'<line x1="{PLOT_LEFT}" x2="{WIDTH - PLOT_RIGHT}" y1="{bottom}" y2="{bottom}" stroke="#374151"/>'
            f'<line x1="{PLOT_LEFT}" x2="{PLOT_LEFT}" y1="{PLOT_TOP}" y2="{bottom}" stroke="#374151"/>'
        )
        every = max(1, math.ceil(len(self.x_labels) / 13))
        for index, label in enumerate(self.x_labels):
            if index % every:
                continue
            left, width = self.slot(index)
            parts.append(
                f'<text x="{left + width / 2:.1f}" y="{bottom + 16}" text-anchor="middle" font-size="11" '
                f'fill="#374151">{escape(label)}</text>'
            )
        parts.append(
            f'<text x="{PLOT_LEFT + self.plot_width / 2:.1f}" y="{bottom + 40}" text-anchor="middle" '
            f'font-size="12" font-weight="600" fill="#1d2430">{escape(x_title)}</text>'
            f'<text transform="translate(16 {PLOT_TOP + PLOT_HEIGHT / 2:.1f}) rotate(-90)" text-anchor="middle" '
            f'font-size="12" font-weight="600" fill="#1d2430">{escape(y_title)} ({escape(_unit_label(self.unit))})'
            "</text>"
        )
        return "".join(parts)

    def legend(self, *, cid: str, kind: str) -> str:
        parts = [f'<g class="legend" aria-label="{escape(gettext("Legend"))}">']
        for index, item in enumerate(self.series):
            style = STYLES[index % len(STYLES)]
            row, column = divmod(index, self.legend_columns)
            x = PLOT_LEFT + column * self.legend_column
            y = self.legend_top + row * LEGEND_ROW
            if kind == "bar":
                swatch = (
                    f'<rect x="{x}" y="{y - 10}" width="22" height="13" fill="url(#{cid}-p{index})" '
                    f'stroke="#1d2430" stroke-width="0.6"/>'
                )
            else:
                dash = f' stroke-dasharray="{style.dash}"' if style.dash else ""
                swatch = (
                    f'<line x1="{x}" x2="{x + 26}" y1="{y - 4}" y2="{y - 4}" stroke="{style.colour}" '
                    f'stroke-width="2.5"{dash}/>' + _marker(style, x + 13, y - 4)
                )
            parts.append(
                f'{swatch}<text x="{x + 32}" y="{y}" font-size="12" fill="#1d2430">'
                f"{escape(_truncate(item.label, LEGEND_MAX_CHARS))}</text>"
            )
        parts.append("</g>")
        return "".join(parts)


def _truncate(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


def _describe(*, description: str, x_labels: list[str], series: list[ChartSeries], unit: str) -> str:
    """A text equivalent for screen readers: the description, then each series' range and latest value."""
    summary = [description.strip()]
    if x_labels:
        summary.append(gettext("From %(first)s to %(last)s.") % {"first": x_labels[0], "last": x_labels[-1]})
    for item in series:
        present = [v for v in item.values if v is not None]
        if not present:
            summary.append(gettext("%(series)s: no data.") % {"series": item.label})
            continue
        if unit == "count":
            summary.append(
                gettext("%(series)s: %(total)s in total.")
                % {"series": item.label, "total": format_value(sum(present), unit)}
            )
        else:
            summary.append(
                gettext("%(series)s: from %(low)s to %(high)s, latest %(latest)s.")
                % {
                    "series": item.label,
                    "low": format_value(min(present), unit),
                    "high": format_value(max(present), unit),
                    "latest": format_value(present[-1], unit),
                }
            )
    return " ".join(part for part in summary if part)


def _svg(*, cid: str, title: str, desc: str, height: float, body: str) -> SafeString:
    return mark_safe(  # noqa: S308 - every text fragment above went through escape()
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height:.0f}" role="img" '
        f'aria-labelledby="{cid}-title {cid}-desc" font-family="{FONT}" preserveAspectRatio="xMinYMin meet">'
        f'<title id="{cid}-title">{escape(title)}</title><desc id="{cid}-desc">{escape(desc)}</desc>'
        f'<text x="{PLOT_LEFT}" y="22" font-size="15" font-weight="700" fill="#1d2430">{escape(title)}</text>'
        f"{body}</svg>"
    )


def _empty_note(frame: _Frame, series: list[ChartSeries]) -> str:
    if any(v for item in series for v in item.values):
        return ""
    return (
        f'<text x="{PLOT_LEFT + frame.plot_width / 2:.1f}" y="{PLOT_TOP + PLOT_HEIGHT / 2:.1f}" text-anchor="middle" '
        f'font-size="13" fill="#5b6576">{escape(gettext("No data for this period"))}</text>'
    )


def line_chart(
    *,
    chart_id: str,
    title: str,
    description: str,
    x_labels: list[str],
    series: list[ChartSeries],
    x_title: str,
    y_title: str,
    unit: str,
) -> SafeString:
    """One line per series; a missing value (``None``) breaks the line rather than pretending it was zero."""
    cid = _safe_id(chart_id)
    maximum = max((v for item in series for v in item.values if v is not None), default=0)
    frame = _Frame(x_labels=x_labels, series=series, unit=unit, maximum=maximum)
    parts = [frame.axes(x_title=x_title, y_title=y_title)]
    for index, item in enumerate(series):
        style = STYLES[index % len(STYLES)]
        segments: list[list[tuple[float, float]]] = [[]]
        for position, value in enumerate(item.values):
            if value is None:
                segments.append([])
                continue
            left, width = frame.slot(position)
            segments[-1].append((left + width / 2, frame.y(value)))
        dash = f' stroke-dasharray="{style.dash}"' if style.dash else ""
        for segment in segments:
            if len(segment) > 1:
                points = " ".join(f"{x:.1f},{y:.1f}" for x, y in segment)
                parts.append(
                    f'<polyline points="{points}" fill="none" stroke="{style.colour}" stroke-width="2.5"'
                    f' stroke-linejoin="round"{dash}/>'
                )
            for x, y in segment:
                parts.append(_marker(style, x, y))
    parts.append(_empty_note(frame, series))
    parts.append(frame.legend(cid=cid, kind="line"))
    desc = _describe(description=description, x_labels=x_labels, series=series, unit=unit)
    return _svg(cid=cid, title=title, desc=desc, height=frame.height, body="".join(parts))


def bar_chart(
    *,
    chart_id: str,
    title: str,
    description: str,
    x_labels: list[str],
    series: list[ChartSeries],
    x_title: str,
    y_title: str,
    unit: str,
    stacked: bool = False,
) -> SafeString:
    """Grouped bars (side by side) or, with ``stacked``, one stacked bar per x slot; each series has its pattern."""
    cid = _safe_id(chart_id)
    if stacked:
        maximum = max(
            (sum(item.values[i] or 0 for item in series) for i in range(len(x_labels))),
            default=0,
        )
    else:
        maximum = max((v for item in series for v in item.values if v is not None), default=0)
    frame = _Frame(x_labels=x_labels, series=series, unit=unit, maximum=maximum)
    parts = [_pattern_defs(cid, len(series)), frame.axes(x_title=x_title, y_title=y_title)]
    for position, label in enumerate(x_labels):
        left, width = frame.slot(position)
        inner = width * 0.7
        base: float = PLOT_TOP + PLOT_HEIGHT
        for index, item in enumerate(series):
            value = item.values[position] or 0
            if value <= 0:
                continue
            height = (value / frame.top_value) * PLOT_HEIGHT
            tooltip = f"{item.label}, {label}: {format_value(value, unit)}"
            if stacked:
                x, bar_width, y = left + (width - inner) / 2, inner, base - height
                base = y
            else:
                bar_width = inner / max(1, len(series))
                x, y = left + (width - inner) / 2 + index * bar_width, frame.y(value)
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_width:.1f}" height="{height:.1f}" '
                f'fill="url(#{cid}-p{index})" stroke="#ffffff" stroke-width="0.8"><title>{escape(tooltip)}</title>'
                "</rect>"
            )
    parts.append(_empty_note(frame, series))
    parts.append(frame.legend(cid=cid, kind="bar"))
    desc = _describe(description=description, x_labels=x_labels, series=series, unit=unit)
    return _svg(cid=cid, title=title, desc=desc, height=frame.height, body="".join(parts))


def stacked_bar_chart(**kwargs) -> SafeString:
    return bar_chart(stacked=True, **kwargs)
