"""The report's zones section: visits and dwell per zone, the floor with zones shaded by dwell, queue wait.

Drawn from :class:`~retail_intel.report.zone_data.ZoneReport` (``ReportData.zones``);
the same HTML fragment goes into the report file and the dashboard.
"""

from __future__ import annotations

from html import escape
from itertools import pairwise

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Polygon, Rectangle
from matplotlib.ticker import MaxNLocator

from retail_intel.report import charts
from retail_intel.report.data import ReportData
from retail_intel.report.render import figure_png, figure_svg, png_data_uri
from retail_intel.report.zone_data import ZonePicture, ZoneReport, ZoneTotal
from retail_intel.wording import counted

WAIT = "#bf3989"
P90 = "#8250df"


def zone_bars_chart(report: ZoneReport) -> Figure:
    """Visits and counted visits per zone (bars), mean dwell of counted visits (dots, right axis)."""
    figure, axes = charts._figure()
    totals = report.totals
    x = np.arange(len(totals))
    for name, values, offset, colour, label in (
        ("visits", [t.visits for t in totals], -0.2, charts.PASSED, "visits"),
        ("counted", [t.counted_visits for t in totals], 0.2, charts.VISITORS, "counted visits"),
    ):
        bars = axes.bar(x + offset, values, width=0.4, color=colour, label=label)
        for index, bar in enumerate(bars):
            bar.set_gid(f"{name}-{index}")
    axes.set_xticks(x, [t.label for t in totals], parse_math=False)  # free text: a "$" is no formula
    axes.set_ylabel("visits")
    # Counts of people: whole numbers from zero, also on a day without a visit (Matplotlib would
    # otherwise draw an empty chart from -0.04 to 0.04 visits).
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_ylim(0, max([t.visits for t in totals] + [0]) * 1.05 or 1)
    dwell_axes = axes.twinx()
    dwell = [np.nan if t.mean_dwell_seconds is None else t.mean_dwell_seconds for t in totals]
    dots = dwell_axes.plot(x, dwell, "o", color=WAIT, label="mean dwell (s)")
    dots[0].set_gid("dwell")
    dwell_axes.set_ylabel("mean dwell of counted visits (s)")
    dwell_axes.set_ylim(0, None if any(not np.isnan(d) for d in dwell) else 1)
    dwell_axes.spines[["top"]].set_visible(False)
    handles = axes.get_legend_handles_labels()[0] + dots
    charts.plain_legend(
        axes.legend(
            handles=handles, loc="lower left", bbox_to_anchor=(0, 1.0), frameon=False, ncols=3, fontsize="small"
        )
    )
    _fit_zone_names(figure, axes)
    return figure


def _fit_zone_names(figure: Figure, axes: Axes) -> None:
    """Zone names level when they fit side by side, else upright, with the figure grown to hold them.

    A branch with many zones, or long labels, would otherwise have its names written one over the
    other. Upright names never collide: each needs only a line's height of its bar's slot.
    """
    labels = axes.get_xticklabels()
    figure.draw_without_rendering()
    boxes = [label.get_window_extent() for label in labels]
    if all(left.x1 <= right.x0 for left, right in pairwise(boxes)):
        return
    for label in labels:
        label.set_rotation(90)
        label.set_fontsize("small")
    tallest = max(label.get_window_extent().height for label in labels) / figure.dpi
    width, height = figure.get_size_inches()
    figure.set_size_inches(width, height + tallest)


def zone_floor_chart(picture: ZonePicture, totals: list[ZoneTotal]) -> Figure:
    """The camera's picture with its zones outlined and shaded by mean dwell (grey: no counted visit)."""
    aspect = picture.height / picture.width
    figure = Figure(figsize=(charts.WIDTH_IN * 0.8, charts.WIDTH_IN * 0.8 * 0.84 * aspect + 0.4), layout="constrained")
    axes = figure.add_subplot()
    if picture.frame_path is not None:
        from PIL import Image

        with Image.open(picture.frame_path) as image:
            grey = np.asarray(image.convert("L"))
        axes.imshow(grey, cmap="gray", extent=(0, picture.width, picture.height, 0), alpha=0.9)
    else:
        # A patch, not the axes' face colour: set_axis_off below hides that face, which left the zones
        # floating in white with nothing to show the camera's view.
        blank = Rectangle((0, 0), picture.width, picture.height, facecolor="#f6f8fa", edgecolor="#8c959f")
        blank.set_gid("frame")
        axes.add_patch(blank)
    longest = max((t.mean_dwell_seconds or 0.0 for t in totals), default=0.0) or 1.0
    scale = Normalize(0.0, longest)
    colours = matplotlib.colormaps["YlOrRd"]
    for index, total in enumerate(totals):
        shade = "#d0d7de" if total.mean_dwell_seconds is None else colours(scale(total.mean_dwell_seconds))
        patch = Polygon(total.polygon, closed=True, facecolor=shade, alpha=0.55, edgecolor="#24292f", linewidth=1.5)
        patch.set_gid(f"zone-{index}")
        axes.add_patch(patch)
        x1 = min(x for x, _ in total.polygon)
        y1 = min(y for _, y in total.polygon)
        dwell = "-" if total.mean_dwell_seconds is None else f"{total.mean_dwell_seconds:.0f} s"
        axes.text(
            x1 + 4, y1 + 4, f"{total.label}\n{counted(total.counted_visits, 'visit')}, {dwell}", va="top", fontsize="small",
            color="#24292f", bbox={"facecolor": "white", "alpha": 0.7, "linewidth": 0}, parse_math=False,
        )  # fmt: skip
    bar = figure.colorbar(ScalarMappable(norm=scale, cmap=colours), ax=axes, shrink=0.8)
    bar.set_label("mean dwell of counted visits (s)")
    axes.set_xlim(0, picture.width)
    axes.set_ylim(picture.height, 0)
    axes.set_axis_off()
    axes.set_title(f"camera {picture.camera_id}", fontsize="medium", parse_math=False)
    return figure


def queue_wait_chart(data: ReportData, report: ZoneReport) -> Figure:
    """Mean and p90 wait per window of every queue over the report's time span."""
    figure, axes = charts._figure()
    rows = report.queues.to_pylist()
    # Named as the bars and the table name them: by label, the id where the config gives none.
    labels = {t.zone_id: t.label for t in report.totals}
    for index, zone_id in enumerate(sorted({r["zone_id"] for r in rows})):
        mine = [r for r in rows if r["zone_id"] == zone_id and r["mean_wait_seconds"] is not None]
        mid = [r["window_start"] + (r["window_end"] - r["window_start"]) / 2 for r in mine]
        for name, column, colour, style in (
            ("mean", "mean_wait_seconds", WAIT, "-o"),
            ("p90", "p90_wait_seconds", P90, "--"),
        ):
            line = axes.plot(charts._num(mid), [r[column] for r in mine], style, color=colour, markersize=3,
                             label=f"{labels.get(zone_id, zone_id)}: {name} wait")  # fmt: skip
            line[0].set_gid(f"{name}-{index}")
    charts._time_axis(axes, data)
    axes.set_ylabel("wait for service (s)")
    axes.set_ylim(bottom=0)
    charts._legend(axes)
    return figure


def _number(value: float | None, percent: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:.0%}" if percent else f"{value:,.1f}"


def _totals_table(report: ZoneReport) -> str:
    head = "".join(
        f'<th scope="col">{h}</th>'
        for h in ("camera", "zone", "kind", "visits", "counted visits", "mean dwell (s)", "attention")
    )
    rows = "".join(
        f'<tr data-zone="{escape(t.zone_id)}"><td>{escape(t.camera_id)}</td><td>{escape(t.label)}</td>'
        f"<td>{escape(t.kind)}</td><td>{t.visits:,}</td><td>{t.counted_visits:,}</td>"
        f"<td>{_number(t.mean_dwell_seconds)}</td><td>{_number(t.attention_rate, percent=True)}</td></tr>"
        for t in report.totals
    )
    from retail_intel.report.page import scrolling  # page imports this module

    return scrolling(f'<table id="zone-table"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>')


def zones_section(data: ReportData) -> str:
    """The zones section's HTML, or a note on how to configure zones when the branch has none."""
    report = data.zones
    if report is None:
        body = '<p class="note">No zones configured for this branch (zones: in branches.yaml, docs/zones.md).</p>'
        return f'<section id="section-zones"><h2>Zones and queues</h2>{body}</section>'
    figures = [zone_bars_chart(report)]
    parts = [
        f'<figure id="chart-zones">{figure_svg(figures[0], "zones-")}<figcaption>Visits per zone (a visit counts '
        "after the zone's min_dwell) and the mean dwell of counted visits; attention = counted visits / people "
        "the camera counted.</figcaption></figure>",
        _totals_table(report),
    ]
    for picture in report.pictures:
        mine = [t for t in report.totals if t.camera_id == picture.camera_id]
        floor = zone_floor_chart(picture, mine)
        figures.append(floor)
        parts.append(
            f'<figure class="zone-floor" id="zones-floor-{escape(picture.camera_id)}">'
            f'<img alt="Zones of camera {escape(picture.camera_id)}" src="{png_data_uri(figure_png(floor))}">'
            f"<figcaption>Camera {escape(picture.camera_id)}: zones shaded by mean dwell.</figcaption></figure>"
        )
    if report.queues.num_rows:
        wait = queue_wait_chart(data, report)
        figures.append(wait)
        parts.append(
            f'<figure id="chart-queue-wait">{figure_svg(wait, "queue-")}<figcaption>Wait from joining a queue '
            f"to reaching its service zone, per {charts.window_name(data.traffic_minutes)}: mean and 90th "
            "percentile."
            "</figcaption></figure>"
        )
    for figure in figures:
        figure.clear()
    return f'<section id="section-zones"><h2>Zones and queues</h2>{"".join(parts)}</section>'
