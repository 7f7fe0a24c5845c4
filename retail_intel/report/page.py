"""The report as HTML: fragments per section, shared by the report file and the dashboard.

:func:`report_view` turns a :class:`ReportData` into HTML fragments (charts
inline as SVG, heatmaps as PNG data URIs, tables with each raw value in a
``data-value`` attribute); :func:`report_html` wraps them in a page that
needs no network: its Content-Security-Policy forbids loading anything.
The dashboard of ``serve`` fetches the same fragments as JSON, so both show
exactly the same charts and table.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape
from importlib import resources
from typing import Any

import numpy as np

from retail_intel import __version__
from retail_intel.report import charts
from retail_intel.report.data import CameraHeat, ReportData
from retail_intel.report.people_section import people_section
from retail_intel.report.render import figure_png, figure_svg, png_data_uri
from retail_intel.report.zone_section import zones_section
from retail_intel.wording import counted

SECTION_ORDER = (
    "summary",
    "traffic",
    "occupancy",
    "conversion",
    "dwell",
    "heatmap",
    "zones",
    "periods",
    "people",
    "kpis",
)

# (KPI column, header) of the KPI table, in order; "window" and "flags" are made here.
KPI_TABLE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("window", "local window"),
    ("visitors", "visitors"),
    ("passed", "passers-by"),
    ("conversion_proxy", "conversion"),
    ("traffic_index", "traffic index"),
    ("peak_occupancy", "peak occupancy"),
    ("avg_occupancy", "avg occupancy"),
    ("congestion_level", "congestion"),
    ("utilization_ratio", "utilization"),
    ("growth_momentum", "momentum"),
    ("staff_on_duty", "staff on duty"),
    ("required_staff", "staff needed"),
    ("staffing_adequacy", "staffing adequacy"),
    ("bottleneck_score", "bottleneck"),
    ("mean_dwell_seconds", "mean dwell (s)"),
    ("median_dwell_seconds", "median dwell (s)"),
    ("flags", "promotion / event"),
)
_PERCENT_COLUMNS = {"conversion_proxy", "congestion_level", "utilization_ratio"}


@dataclass(frozen=True)
class ReportView:
    """A report rendered to HTML fragments, one per section id of :data:`SECTION_ORDER`."""

    title: str
    subtitle: str
    sections: dict[str, str]
    kpis: list[dict[str, Any]]  # the KPI rows shown, with raw values (JSON-able after isoformat)


def stylesheet() -> str:
    """The report's CSS (the dashboard serves the same file)."""
    return resources.files("retail_intel.report").joinpath("assets/report.css").read_text(encoding="utf-8")


def _number(value: Any, column: str = "") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if column in _PERCENT_COLUMNS:
            return f"{value:.0%}"
        return f"{value:,.2f}"
    return escape(str(value))


def _raw(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return escape(repr(value) if isinstance(value, float) else str(value))


def _cell(column: str, value: Any, shown: str | None = None) -> str:
    text = _number(value, column) if shown is None else escape(shown)
    return f'<td data-col="{escape(column)}" data-value="{_raw(value)}">{text}</td>'


def _table(table_id: str, headers: Sequence[tuple[str, str]], rows: Sequence[str]) -> str:
    head = "".join(f'<th scope="col" data-col="{escape(c)}">{escape(h)}</th>' for c, h in headers)
    body = "".join(rows) or f'<tr><td colspan="{len(headers)}" class="empty">{charts.EMPTY_TEXT}</td></tr>'
    return scrolling(f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>')


def scrolling(table: str) -> str:
    """A table in a box that scrolls sideways: a wide table must not drag the whole page with it."""
    return f'<div class="table-scroll">{table}</div>'


def _ambiguous(local: dt.datetime) -> bool:
    """True for a wall-clock time that happens twice (the repeated hour when clocks go back)."""
    return local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset()


def window_label(start: dt.datetime, end: dt.datetime, minutes: int, tz: dt.tzinfo) -> str:
    """``Sun 08 Feb 10:00–11:00`` on the branch's clock; zone names are added where the clock changes."""
    local_start, local_end = start.astimezone(tz), end.astimezone(tz)
    if minutes >= 1440:
        return local_start.strftime("%a %d %b %Y")
    if _ambiguous(local_start) or _ambiguous(local_end) or local_start.utcoffset() != local_end.utcoffset():
        # "01:00–01:00" would be meaningless on the night clocks go back.
        return f"{local_start:%a %d %b %H:%M %Z}–{local_end:%H:%M %Z}"
    return f"{local_start:%a %d %b %H:%M}–{local_end:%H:%M}"


def _flags(row: dict[str, Any]) -> str:
    flags = [name for name, on in (("promotion", row["promotion_active"]), ("event", row["event_active"])) if on]
    return ", ".join(flags)


def kpi_rows(data: ReportData) -> list[dict[str, Any]]:
    """The traffic-window KPI rows with a local window label and promo/event flags added."""
    rows = []
    for row in data.traffic.to_pylist():
        row["window"] = window_label(row["window_start"], row["window_end"], data.traffic_minutes, data.tzinfo)
        row["flags"] = _flags(row)
        rows.append(row)
    return rows


def _kpi_table(rows: list[dict[str, Any]]) -> str:
    body = []
    for row in rows:
        cells = []
        for column, _ in KPI_TABLE_COLUMNS:
            if column == "window":
                cells.append(_cell("window_start", row["window_start"], row["window"]))
            elif column == "flags":
                cells.append(_cell("flags", row["flags"], row["flags"] or "–"))
            else:
                cells.append(_cell(column, row[column]))
        body.append(f"<tr>{''.join(cells)}</tr>")
    return _table("kpi-table", KPI_TABLE_COLUMNS, body)


def _occupancy_table(data: ReportData) -> str:
    body = [
        "<tr>"
        + _cell(
            "window_start",
            row["window_start"],
            window_label(row["window_start"], row["window_end"], data.occupancy_minutes, data.tzinfo),
        )
        + _cell("peak_occupancy", row["peak_occupancy"])
        + _cell("avg_occupancy", row["avg_occupancy"])
        + _cell("congestion_level", row["congestion_level"])
        + "</tr>"
        for row in data.occupancy.to_pylist()
    ]
    headers = (
        ("window_start", "local window"),
        ("peak_occupancy", "peak"),
        ("avg_occupancy", "average"),
        ("congestion_level", "congestion"),
    )
    return _table("occupancy-table", headers, body)


def _dwell_table(data: ReportData) -> str:
    if not data.dwell_seconds:
        return _table("dwell-table", (("from", "from (s)"), ("to", "to (s)"), ("visitors", "visitors")), [])
    values = np.asarray(data.dwell_seconds)
    counts, edges = np.histogram(values, bins=charts.dwell_bins(values))
    body = [
        f"<tr>{_cell('from', float(low))}{_cell('to', float(high))}{_cell('visitors', int(count))}</tr>"
        for low, high, count in zip(edges[:-1], edges[1:], counts, strict=True)
    ]
    return _table("dwell-table", (("from", "from (s)"), ("to", "to (s)"), ("visitors", "visitors")), body)


def _chart_section(name: str, heading: str, svg: str, caption: str, numbers: str | None = None) -> str:
    details = f"<details><summary>Numbers</summary>{numbers}</details>" if numbers else ""
    return (
        f'<section class="chart" id="section-{name}"><h2>{escape(heading)}</h2>'
        f'<figure id="chart-{name}">{svg}<figcaption>{escape(caption)}</figcaption></figure>{details}</section>'
    )


def _summary(data: ReportData) -> str:
    mean, median = data.mean_dwell, data.median_dwell
    cards = [
        ("visitors", "visitors", data.visitors, f"{data.visitors:,}"),
        ("passed", "passers-by", data.passed, f"{data.passed:,}"),
        (
            "conversion",
            "conversion proxy",
            data.conversion,
            "–" if data.conversion is None else f"{data.conversion:.0%}",
        ),
        ("peak_occupancy", "peak occupancy", data.peak_occupancy, f"{data.peak_occupancy} of {data.capacity}"),
        ("mean_dwell", "mean dwell", mean, "–" if mean is None else _duration(mean)),
        ("median_dwell", "median dwell", median, "–" if median is None else _duration(median)),
    ]
    items = "".join(
        f'<div class="card" data-name="{key}" data-value="{_raw(value)}"><span class="value">{escape(shown)}</span>'
        f'<span class="label">{escape(label)}</span></div>'
        for key, label, value, shown in cards
    )
    note = ""
    if not data.has_movements:
        span = data.data_span
        known = (
            f"; movements exist from {span[0]} to {span[1]}"
            if span
            else "; no movements have been processed for this branch"
        )
        note = f'<p class="note">No movements in this range{escape(known)}.</p>'
    return f'<section id="section-summary"><div class="cards">{items}</div>{note}</section>'


def _duration(seconds: float) -> str:
    seconds = float(seconds)
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.1f} min"


def _heatmap_section(cameras: Sequence[CameraHeat], without: Sequence[str]) -> str:
    body = "".join(
        f'<figure class="heatmap" id="heatmap-{escape(heat.camera_id)}">'
        f'<img alt="Heatmap of camera {escape(heat.camera_id)}" src="{png_data_uri(figure_png(charts.heatmap_chart(heat)))}">'
        f"<figcaption>{escape(_heat_caption(heat))}</figcaption></figure>"
        for heat in cameras
    )
    if without:
        names = ", ".join(without)
        body += (
            f'<p class="note">No trajectories in this range for camera(s) {escape(names)}: footage processed '
            "before trajectories were kept, or movements ingested from elsewhere, have none.</p>"
        )
    elif not cameras:
        body = '<p class="note">No trajectories in this range.</p>'
    return f'<section id="section-heatmap"><h2>Where people walked and stood</h2>{body}</section>'


def _heat_caption(heat: CameraHeat) -> str:
    under = "over the camera's latest picture" if heat.frame_path else "(no camera picture kept)"
    return (
        f"Camera {heat.camera_id}: time spent per spot by {counted(heat.people, 'tracked person', 'tracked people')}, "
        f"{under}; "
        "the outline is the region of interest."
    )


def _periods_section(data: ReportData) -> str:
    if not data.periods:
        body = '<p class="note">No promotion or event in this range.</p>'
    else:
        tz = data.tzinfo
        items = "".join(
            f'<li class="period {p.kind}" data-kind="{p.kind}" data-start="{p.start.isoformat()}" data-end="{p.end.isoformat()}">'
            f"<strong>{escape(p.kind)}</strong> {escape(p.name)}: "
            f"{p.start.astimezone(tz):%a %d %b %H:%M} – {p.end.astimezone(tz):%a %d %b %H:%M}</li>"
            for p in data.periods
        )
        body = f"<ul>{items}</ul>"
    return f'<section id="section-periods"><h2>Promotions and events</h2>{body}</section>'


def report_view(data: ReportData) -> ReportView:
    """Every section of the report for ``data`` (charts drawn here)."""
    figures = charts.build_charts(data)
    rows = kpi_rows(data)
    traffic_unit = charts.window_name(data.traffic_minutes)
    occupancy_unit = charts.window_name(data.occupancy_minutes)
    shaded = " Shaded: promotion (green) and event (amber) periods." if data.periods else ""
    render: dict[str, Callable[[], str]] = {
        "summary": lambda: _summary(data),
        "traffic": lambda: _chart_section(
            "traffic",
            f"Visitors and passers-by per {traffic_unit}",
            figure_svg(figures["traffic"], "traffic-"),
            "Visitors entered the region of interest and stayed at least the camera's min_dwell; "
            f"passers-by were seen but did not.{shaded} {_a_window(traffic_unit)} in which nobody was counted "
            "shows nothing, whether the shop was empty or no camera was recording.",
        ),
        "occupancy": lambda: _chart_section(
            "occupancy",
            "Occupancy over the day" if data.first_day == data.last_day else "Occupancy over the days",
            figure_svg(figures["occupancy"], "occupancy-"),
            f"People inside at once, per {occupancy_unit}: the peak and the time-weighted average, "
            f"against the branch's capacity of {data.capacity}.{shaded}",
            _occupancy_table(data),
        ),
        "conversion": lambda: _chart_section(
            "conversion",
            "Conversion proxy",
            figure_svg(figures["conversion"], "conversion-"),
            f"Visitors / (visitors + passers-by) per {traffic_unit}; the dotted line is the whole range.{shaded}",
        ),
        "dwell": lambda: _chart_section(
            "dwell",
            "How long visitors stayed",
            figure_svg(figures["dwell"], "dwell-"),
            f"Dwell time of the {counted(len(data.dwell_seconds), 'visitor')} (time inside the region of interest).",
            _dwell_table(data),
        ),
        "heatmap": lambda: _heatmap_section(data.cameras, data.cameras_without_paths),
        "zones": lambda: zones_section(data),
        "periods": lambda: _periods_section(data),
        "people": lambda: people_section(data),
        "kpis": lambda: f'<section id="section-kpis"><h2>KPIs per {traffic_unit}</h2>{_kpi_table(rows)}</section>',
    }
    sections = {name: render[name]() for name in SECTION_ORDER}
    for figure in figures.values():
        figure.clear()
    return ReportView(title=title(data), subtitle=subtitle(data), sections=sections, kpis=rows)


def _a_window(unit: str) -> str:
    """ "An hour", "A day", "A 5 min window": one traffic window, to start a sentence."""
    if unit in ("hour", "day", "minute"):
        return f"{'An' if unit == 'hour' else 'A'} {unit}"
    return f"A {unit} window"


def title(data: ReportData) -> str:
    return f"{data.branch_name} ({data.branch_id})"


def subtitle(data: ReportData) -> str:
    days = f"{data.first_day:%a %d %b %Y}"
    if data.last_day != data.first_day:
        days += f" to {data.last_day:%a %d %b %Y}"
    return f"{days}, local time {data.timezone}"


_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def report_html(view: ReportView, generated_at: dt.datetime) -> str:
    """A self-contained page: styles inline, charts as SVG, pictures as data URIs, nothing fetched."""
    body = "\n".join(view.sections[name] for name in SECTION_ORDER)
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>retail-intel report: {escape(view.title)}, {escape(view.subtitle)}</title>"
        f"<style>{stylesheet()}</style></head>\n"
        f'<body><header><h1>{escape(view.title)}</h1><p class="subtitle">{escape(view.subtitle)}</p></header>\n'
        f"<main>{body}</main>\n"
        f"<footer>retail-intel {escape(__version__)}, generated {generated_at:%Y-%m-%d %H:%M UTC}. "
        "Definitions: docs/kpis.md and docs/report.md.</footer></body></html>\n"
    )
