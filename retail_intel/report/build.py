"""The library entry point of ``retail-intel report``: gather, draw, write."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from retail_intel.errors import DataError, InputError, NextStep, Step
from retail_intel.report.data import ReportData, collect_report
from retail_intel.storage import atomic_write_bytes, file_in_the_way, make_folder

if TYPE_CHECKING:
    from retail_intel.config.loader import Config

ReportFormat = Literal["html", "png"]
FORMATS: tuple[ReportFormat, ...] = ("html", "png")


@dataclass(frozen=True)
class ReportOutput:
    data: ReportData
    format: ReportFormat
    paths: list[Path]  # the HTML file, or every PNG written


def default_output(data: ReportData, fmt: ReportFormat) -> Path:
    """``report-<branch>-<day>[_<last day>].html``, or a folder of that name for PNG charts."""
    days = data.first_day.isoformat()
    if data.last_day != data.first_day:
        days += f"_{data.last_day.isoformat()}"
    stem = f"report-{safe_file_name(data.branch_id)}-{days}"
    return Path(f"{stem}.html" if fmt == "html" else stem)


HTML_SUFFIXES = (".html", ".htm", ".xhtml")
# Suffixes of files that are plainly not a web page: -o report.png meant the charts (or a typo).
# Any other name is taken as given (report.v2, report.tmp for a write-then-move, report.2026-03-02).
OTHER_FORMAT_SUFFIXES = frozenset(
    {".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp", ".pdf", ".csv", ".json", ".txt", ".md", ".parquet", ".xlsx"}
)


def _check_output_name(output: Path, fmt: ReportFormat, name: str) -> None:
    """Refuse an ``output`` whose name says another format: HTML written into ``report.png``, or
    PNG charts into a folder called ``report.html``. Any other name is taken as given."""
    suffix = output.suffix.lower()
    if fmt == "html" and suffix in OTHER_FORMAT_SUFFIXES:
        raise InputError(
            f"{output}: {name} html writes one HTML page, not a {output.suffix} file; "
            f"name it {output.with_suffix('.html').name}, or use {name} png for the charts as PNG files"
        )
    if fmt == "png" and suffix in HTML_SUFFIXES:
        raise InputError(
            f"{output}: {name} png writes the charts into a folder, not an HTML file; "
            f"give a folder (such as {output.with_suffix('')}), or use {name} html for the page"
        )


def _no_movements(data: ReportData) -> DataError:
    days = str(data.first_day) if data.last_day == data.first_day else f"{data.first_day} to {data.last_day}"
    missing = f"no movements for branch {data.branch_id} on {days} (local dates, {data.timezone})"
    if data.data_span is None:
        none = f"there are no movements for {data.branch_id} at all"
        return DataError(f"{missing}: {none}", next_step=NextStep(Step.WRITE_MOVEMENTS))
    low, high = data.data_span
    return DataError(f"{missing}: {data.branch_id} has movements from {low} to {high}")


def write_report(
    config: Config,
    data_dir: Path,
    branch_id: str,
    output: Path | None = None,
    *,
    first_day: dt.date | None = None,
    last_day: dt.date | None = None,
    fmt: ReportFormat = "html",
    engine: str = "duckdb",
    allow_empty: bool = False,
    day_names: tuple[str, str] = ("first day", "last day"),
    fmt_name: str = "fmt",
) -> ReportOutput:
    """Write the report on ``branch_id`` for ``first_day`` .. ``last_day`` (local dates, inclusive).

    ``html``: one self-contained file at ``output``. ``png``: the charts and
    heatmaps as PNG files in the folder ``output``. Without ``output`` the name
    comes from :func:`default_output`, in the working directory. A range
    without movements is an error unless ``allow_empty``: it is far more
    often a wrong date than a closed shop. ``day_names`` name the first and
    last day in messages (the caller's options, such as ``--date`` and ``--to``), ``fmt_name``
    names ``fmt`` (``--format``).
    """
    if fmt not in FORMATS:
        raise InputError(f"{fmt_name} must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if output is not None:
        _check_output_name(output, fmt, fmt_name)
    if output is not None and fmt == "png" and output.is_file():
        raise InputError(f"{output}: {fmt_name} png writes one file per chart into a folder, and this is a file")
    if output is not None and fmt == "html" and output.is_dir():
        raise InputError(f"{output}: is a folder; give the HTML file to write, e.g. {output / 'report.html'}")
    if output is not None and (blocker := file_in_the_way(output)) is not None:
        raise InputError(f"{output}: cannot be written, {blocker} is a file, not a folder")
    data = collect_report(config, data_dir, branch_id, first_day, last_day, engine=engine, names=day_names)
    if not data.has_movements and not allow_empty:
        raise _no_movements(data)
    target = output if output is not None else default_output(data, fmt)
    if fmt == "html":
        from retail_intel.report.page import report_html, report_view

        html = report_html(report_view(data), data.generated_at)
        return ReportOutput(data, fmt, [atomic_write_bytes(html.encode("utf-8"), target)])
    return ReportOutput(data, fmt, write_chart_pngs(data, target))


def safe_file_name(text: str) -> str:
    """``text`` with anything but letters, digits, ``.``, ``_`` and ``-`` replaced by ``_`` (no path tricks)."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]", "_", text).lstrip(".")
    return cleaned or "_"


def write_chart_pngs(data: ReportData, folder: Path) -> list[Path]:
    """``traffic.png``, ``occupancy.png``, ``conversion.png``, ``dwell.png`` and ``heatmap-<camera>.png``."""
    from retail_intel.report.charts import build_charts, heatmap_chart
    from retail_intel.report.render import figure_png

    make_folder(folder)
    figures = dict(build_charts(data))
    for heat in data.cameras:
        figures[f"heatmap-{safe_file_name(heat.camera_id)}"] = heatmap_chart(heat)
    return [atomic_write_bytes(figure_png(figure), folder / f"{name}.png") for name, figure in figures.items()]
