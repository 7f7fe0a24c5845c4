"""The report's charts as Matplotlib figures, drawn from a :class:`ReportData`.

Figures are built with the object API (``matplotlib.figure.Figure``), never
``pyplot``: pyplot keeps global state, which the web server's threads would
share, and it would pick a GUI backend; a bare Figure saves through the
file format's own canvas and needs no display. Times are shown on the
branch's own clock. Every plotted mark gets an SVG id (``visitors-0``,
``period-0``, ``peak``, ``bar-3`` ...; the page prefixes them with the chart's
name), so a test or a browser can find it in the drawing.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import Any, cast

import matplotlib
import matplotlib.dates as mdates
import numpy as np
import numpy.typing as npt
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.container import BarContainer
from matplotlib.figure import Figure
from matplotlib.legend import Legend
from matplotlib.patches import Patch, Polygon
from matplotlib.ticker import MaxNLocator, PercentFormatter

from retail_intel.config.calendar import at_minute
from retail_intel.report.data import CameraHeat, ReportData
from retail_intel.wording import counted

WIDTH_IN = 10.0
HEIGHT_IN = 3.4
VISITORS = "#1f6feb"
PASSED = "#9aa4b2"
PEAK = "#d1242f"
AVERAGE = "#1f6feb"
CAPACITY = "#6e7781"
PERIOD_COLOURS = {"promotion": "#2da44e", "event": "#bf8700"}
EMPTY_TEXT = "No movements in this range"


def _num(value: Any) -> Any:
    """Matplotlib's date numbers for datetimes (aware ones are converted from their own zone)."""
    return mdates.date2num(value)  # type: ignore[no-untyped-call]


def _figure(height: float = HEIGHT_IN) -> tuple[Figure, Axes]:
    figure = Figure(figsize=(WIDTH_IN, height), layout="constrained")
    axes = figure.add_subplot()
    axes.spines[["top", "right"]].set_visible(False)
    axes.grid(axis="y", color="#d0d7de", linewidth=0.6)
    axes.set_axisbelow(True)
    return figure, axes


def _column(table: Any, name: str) -> list[Any]:
    values: list[Any] = table[name].to_pylist()
    return values


def _active_spans(table: Any) -> tuple[list[dt.datetime], list[dt.datetime]]:
    """Starts and ends of the windows in which anyone was seen or inside."""
    rows = table.select(["window_start", "window_end", "visitors", "passed", "peak_occupancy"]).to_pylist()
    active = [r for r in rows if r["visitors"] or r["passed"] or r["peak_occupancy"]]
    return [r["window_start"] for r in active], [r["window_end"] for r in active]


def x_limits(data: ReportData) -> tuple[dt.datetime, dt.datetime]:
    """The time span drawn: opening hours, widened to every window where someone was seen.

    Quiet windows (zeros) do not widen it: the KPI series covers whole days
    between a branch's first and last movement, nights included.
    """
    traffic_starts, traffic_ends = _active_spans(data.traffic)
    occupancy_starts, occupancy_ends = _active_spans(data.occupancy)
    starts, ends = traffic_starts + occupancy_starts, traffic_ends + occupancy_ends
    if data.opening is not None:
        tz = data.tzinfo
        # laid out as the KPIs lay out opening hours: a close at 24:00 is the next local midnight
        low, high = at_minute(data.first_day, data.opening[0], tz), at_minute(data.last_day, data.opening[1], tz)
    elif starts:
        low, high = min(starts), max(ends)
    else:
        return data.start, data.end
    if starts:
        low, high = min(low, *starts), max(high, *ends)
    return max(low, data.start), min(high, data.end)


def _time_axis(axes: Axes, data: ReportData) -> None:
    low, high = x_limits(data)
    axes.set_xlim(_num(low), _num(high))
    locator = mdates.AutoDateLocator(tz=data.tzinfo, minticks=4, maxticks=12)  # type: ignore[no-untyped-call]
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, tz=data.tzinfo))  # type: ignore[no-untyped-call]
    axes.set_xlabel(f"local time ({data.timezone})", parse_math=False)


def _mark_periods(axes: Axes, data: ReportData) -> None:
    labelled: set[str] = set()
    for index, period in enumerate(data.periods):
        label = None
        if period.kind not in labelled:
            label = period.kind
            labelled.add(period.kind)
        span = axes.axvspan(
            _num(period.start),
            _num(period.end),
            color=PERIOD_COLOURS[period.kind],
            alpha=0.12,
            linewidth=0,
            label=label,
        )
        span.set_gid(f"period-{index}")


def _empty(axes: Axes) -> None:
    axes.text(0.5, 0.5, EMPTY_TEXT, transform=axes.transAxes, ha="center", va="center", color="#57606a")
    # Nothing drawn leaves Matplotlib's default -0.05..0.05 (or 0..1 in tenths): a count of people
    # below zero, or in fractions. A count axis from 0 to 1 says "none" in whole people.
    if not axes.has_data() or axes.get_ylim()[0] < 0:
        axes.set_ylim(0, 1)


def _legend(axes: Axes, keys: Sequence[Artist] = ()) -> None:
    handles = [*keys, *axes.get_legend_handles_labels()[0]]
    if handles:
        # Above the plot area, where it can never hide a bar.
        plain_legend(
            axes.legend(
                handles=handles, loc="lower left", bbox_to_anchor=(0, 1.0), frameon=False, ncols=5, fontsize="small"
            )
        )


def plain_legend(legend: Legend) -> None:
    """Legend entries as written: labels may hold config text (a zone id), and a "$" there is no formula.

    Matplotlib reads text between two "$" as mathtext: "$$" fails the whole report, "$5 or $10" loses
    its dollars. Every user text in a chart is drawn with ``parse_math=False``; a legend takes no
    such argument, so its texts are switched afterwards.
    """
    for text in legend.get_texts():
        text.set_parse_math(False)


def traffic_chart(data: ReportData) -> Figure:
    """Visitors (entered) and passers-by per traffic window, side by side."""
    figure, axes = _figure()
    table = data.traffic
    starts = _num(_column(table, "window_start"))
    width = data.traffic_minutes / 1440
    keys: list[Artist] = []
    for name, values, colour, offset, label in (
        ("visitors", _column(table, "visitors"), VISITORS, 0.05, "visitors (entered)"),
        ("passed", _column(table, "passed"), PASSED, 0.5, "passers-by"),
    ):
        bars = axes.bar(np.asarray(starts) + offset * width, values, width=0.45 * width, align="edge", color=colour)
        for index, bar in enumerate(bars):
            bar.set_gid(f"{name}-{index}")
        # The legend's key is drawn from the colour, not from a bar: with no windows there is no bar
        # to copy, and Matplotlib then draws every key in its default blue.
        keys.append(Patch(color=colour, label=label))
    _mark_periods(axes, data)
    _time_axis(axes, data)
    axes.set_ylabel(f"people per {window_name(data.traffic_minutes)}")
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    if table.num_rows == 0:
        _empty(axes)
    _legend(axes, keys)
    return figure


def _steps(starts: Sequence[dt.datetime], ends: Sequence[dt.datetime], values: Sequence[float]) -> tuple[Any, Any]:
    """Edges and values for a post-step line that holds each window's value until its end."""
    if not starts:
        return np.array([]), np.array([])
    edges = _num([*starts, ends[-1]])
    return edges, np.asarray([*values, values[-1]], dtype=np.float64)


def occupancy_chart(data: ReportData) -> Figure:
    """Peak and time-weighted mean occupancy per occupancy window, against the branch's capacity."""
    figure, axes = _figure()
    table = data.occupancy
    starts, ends = _column(table, "window_start"), _column(table, "window_end")
    for name, column, colour, label in (
        ("peak", "peak_occupancy", PEAK, "peak"),
        ("average", "avg_occupancy", AVERAGE, "average"),
    ):
        x, y = _steps(starts, ends, _column(table, column))
        (line,) = axes.step(x, y, where="post", color=colour, linewidth=1.4, label=label)
        line.set_gid(name)
    capacity = axes.axhline(
        data.capacity, color=CAPACITY, linestyle="--", linewidth=1, label=f"capacity ({data.capacity})"
    )
    capacity.set_gid("capacity")
    _mark_periods(axes, data)
    _time_axis(axes, data)
    axes.set_ylim(0, max(data.capacity, data.peak_occupancy) * 1.15)
    axes.set_ylabel(f"people inside (per {window_name(data.occupancy_minutes)})")
    if table.num_rows == 0:
        _empty(axes)
    _legend(axes)
    return figure


def conversion_chart(data: ReportData) -> Figure:
    """The conversion proxy (visitors over everyone seen) per traffic window, and over the whole range."""
    figure, axes = _figure()
    table = data.traffic
    values = [math.nan if v is None else v for v in _column(table, "conversion_proxy")]
    width = data.traffic_minutes / 1440
    centres = np.asarray(_num(_column(table, "window_start"))) + width / 2
    (line,) = axes.plot(centres, values, marker="o", markersize=4, color=VISITORS, linewidth=1.4, label="per window")
    line.set_gid("line")
    if data.conversion is not None:
        overall = axes.axhline(
            data.conversion, color=CAPACITY, linestyle=":", linewidth=1.2, label=f"whole range ({data.conversion:.0%})"
        )
        overall.set_gid("overall")
    _mark_periods(axes, data)
    _time_axis(axes, data)
    axes.set_ylim(0, 1.05)
    axes.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    axes.set_ylabel("conversion proxy")
    if table.num_rows == 0:
        _empty(axes)
    _legend(axes)
    return figure


def dwell_bins(values: npt.ArrayLike, max_bins: int = 30) -> Any:
    """Histogram bin edges (seconds) for dwell times: numpy's 'auto' rule, at most ``max_bins`` bins."""
    array = np.asarray(values, dtype=np.float64)
    edges = np.histogram_bin_edges(array, bins="auto")
    if len(edges) - 1 > max_bins:
        edges = np.histogram_bin_edges(array, bins=max_bins)
    return edges


def dwell_chart(data: ReportData) -> Figure:
    """How long visitors stayed: a histogram of their dwell times, with mean and median marked."""
    figure, axes = _figure()
    values = np.asarray(data.dwell_seconds, dtype=np.float64)
    if values.size == 0:
        _empty(axes)
        axes.set_xlabel("dwell time (s)")
        axes.set_ylabel("visitors")
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        return figure
    minutes = float(values.max()) > 600
    scale = 60.0 if minutes else 1.0
    unit = "min" if minutes else "s"
    _, _, bars = axes.hist(values / scale, bins=dwell_bins(values) / scale, color=VISITORS, rwidth=0.9)
    for index, bar in enumerate(cast(BarContainer, bars)):
        bar.set_gid(f"bar-{index}")
    mean, median = float(values.mean()), float(np.median(values))
    axes.axvline(mean / scale, color=PEAK, linewidth=1.2, label=f"mean {mean / scale:.1f} {unit}").set_gid("mean")
    axes.axvline(
        median / scale, color=CAPACITY, linestyle="--", linewidth=1.2, label=f"median {median / scale:.1f} {unit}"
    ).set_gid("median")
    axes.set_xlabel(f"dwell time ({unit})")
    axes.set_ylabel("visitors")
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    _legend(axes)
    return figure


def heatmap_chart(heat: CameraHeat) -> Figure:
    """Foot-point density of one camera over its picture (when kept), with the ROI outlined."""
    aspect = heat.height / heat.width
    # The colour scale takes about a sixth of the width; the title about 0.4 in.
    figure = Figure(figsize=(WIDTH_IN * 0.8, WIDTH_IN * 0.8 * 0.84 * aspect + 0.4), layout="constrained")
    axes = figure.add_subplot()
    if heat.frame_path is not None:
        from PIL import Image

        with Image.open(heat.frame_path) as image:
            picture = np.asarray(image.convert("L"))
        # Grey picture under a coloured heat layer: the colours stay readable.
        axes.imshow(picture, cmap="gray", extent=(0, heat.width, heat.height, 0), alpha=0.9)
    else:
        axes.set_facecolor("#f6f8fa")
    rows, cols = heat.density.shape
    peak = float(heat.density.max()) if heat.density.size else 0.0
    if peak > 0:
        share = heat.density / peak
        # Colour by share of the peak, and let rarely visited spots fade out
        # (alpha grows with the square root) so the picture shows through.
        layer = matplotlib.colormaps["turbo"](share)
        layer[..., 3] = np.clip(np.sqrt(share) * 0.8, 0.0, 0.8)
        layer[share < 0.01, 3] = 0.0
        cell_w, cell_h = heat.width / cols, heat.height / rows
        heat_layer = axes.imshow(layer, extent=(0, cols * cell_w, rows * cell_h, 0), interpolation="bilinear")
        heat_layer.set_gid(f"heat-{heat.camera_id}")
        scale = figure.colorbar(ScalarMappable(cmap="turbo"), ax=axes, shrink=0.8, ticks=[0, 1])
        scale.ax.set_yticklabels(["less", "more"])
        scale.set_label("time spent")
    if heat.region:
        outline = Polygon(heat.region, closed=True, fill=False, edgecolor="#00d0ff", linewidth=2, label="ROI")
        outline.set_gid(f"roi-{heat.camera_id}")
        axes.add_patch(outline)
        axes.legend(loc="upper right", fontsize="small")
    axes.set_xlim(0, heat.width)
    axes.set_ylim(heat.height, 0)
    axes.set_axis_off()
    # parse_math off: a "$" in a camera id is text, not a formula.
    axes.set_title(
        f"camera {heat.camera_id}: {counted(heat.people, 'person', 'people')}, {counted(heat.samples, 'foot point')}",
        fontsize="medium",
        parse_math=False,
    )
    return figure


def window_name(minutes: int) -> str:
    """ "minute", "5 min", "hour", "4 h", "day": a window size as read in a caption."""
    names = {1: "minute", 60: "hour", 1440: "day"}
    if minutes in names:
        return names[minutes]
    return f"{minutes // 60} h" if minutes % 60 == 0 else f"{minutes} min"


CHARTS = {
    "traffic": traffic_chart,
    "occupancy": occupancy_chart,
    "conversion": conversion_chart,
    "dwell": dwell_chart,
}


def build_charts(data: ReportData) -> dict[str, Figure]:
    """Every chart of the report except the heatmaps, by name."""
    return {name: draw(data) for name, draw in CHARTS.items()}
