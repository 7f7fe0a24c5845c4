"""``retail-intel report``: one self-contained HTML report (or PNG charts) for a branch and some days."""

from __future__ import annotations

import enum
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from retail_intel.cli.common import (
    DEFAULT_CONFIG,
    DEFAULT_DATA_DIR,
    ConfigDir,
    DataDir,
    EngineChoice,
    EngineOpt,
    choice_parser,
    err,
    out,
    parse_date_option,
)
from retail_intel.cli.tables import output_file
from retail_intel.errors import InputError
from retail_intel.wording import counted


class ReportFormatChoice(enum.StrEnum):
    html = "html"
    png = "png"


def report(
    branch: Annotated[str, typer.Option("--branch", "-b", help="Branch id from branches.yaml.")],
    date: Annotated[
        str | None,
        typer.Option(
            "--date", "-d", help="Day to report, YYYY-MM-DD in the branch's timezone (default: last day with data)."
        ),
    ] = None,
    to: Annotated[
        str | None,
        typer.Option("--to", help="Last day of a multi-day report, YYYY-MM-DD, inclusive (default: --date)."),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="HTML file to write (.html); with --format png, a folder (default: report-BRANCH-DATE[.html] here).",
        ),
    ] = None,
    fmt: Annotated[
        ReportFormatChoice,
        typer.Option(
            "--format",
            "-f",
            parser=choice_parser(ReportFormatChoice),
            help="html: one self-contained page; png: the charts alone, one file each.",
        ),
    ] = ReportFormatChoice.html,
    allow_empty: Annotated[
        bool, typer.Option("--allow-empty", help="Write the report even when the days have no movements.")
    ] = False,
    engine: EngineOpt = EngineChoice.duckdb,
    config: ConfigDir = DEFAULT_CONFIG,
    data_dir: DataDir = DEFAULT_DATA_DIR,
) -> None:
    """Draw a branch's day (or days) as one HTML file that opens anywhere, with no network.

    It shows visitors and passers-by per hour, occupancy over the day against
    capacity, the conversion proxy, the dwell-time distribution, the KPI
    table, promotion and event periods, and a heatmap of where people walked
    and stood over a picture of each camera with its ROI. The numbers come
    from the KPI engine (the same as retail-intel kpis); nothing is stored.
    Up to 7 days get hourly bars, longer ranges daily ones. What each chart
    means: docs/report.md.

    Example: retail-intel report --branch b1 --date 2026-02-08 -o report.html
    """
    from retail_intel.config.loader import load_config
    from retail_intel.report import write_report

    if output is not None and output_file(output) is None:
        # it wrote a file literally named "-": the report is files (a page, or one PNG a chart), never stdout
        raise InputError("-o -: the report is written to files, not stdout; give -o report.html (or a folder for png)")
    first = parse_date_option(date, "--date")
    last = parse_date_option(to, "--to")
    loaded = load_config(config)
    began = time.perf_counter()
    with err.status("Computing KPIs and drawing the report...", spinner="dots"):
        written = write_report(
            loaded,
            data_dir,
            branch,
            output,
            first_day=first,
            last_day=last,
            fmt=fmt.value,
            engine=engine.value,
            allow_empty=allow_empty,
            day_names=("--date", "--to"),
            fmt_name="--format",
        )
    elapsed = time.perf_counter() - began
    data = written.data
    days = str(data.first_day) if data.first_day == data.last_day else f"{data.first_day} to {data.last_day}"
    conversion = "-" if data.conversion is None else f"{data.conversion:.0%}"
    err.print(
        f"[dim]{escape(data.branch_id)} {days}: {counted(data.visitors, 'visitor')}, "
        f"{counted(data.passed, 'passer-by', 'passers-by')}, "
        f"conversion {conversion}, peak occupancy {data.peak_occupancy} of {data.capacity}; "
        f"{counted(len(data.cameras), 'heatmap')}; {elapsed:.1f} s[/dim]"
    )
    for path in written.paths:
        out.print(escape(str(path)))


def register(app: typer.Typer) -> None:
    app.command("report")(report)
