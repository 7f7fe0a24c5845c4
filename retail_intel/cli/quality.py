"""``retail-intel quality``: door imbalance and staff flags per camera and day."""

from __future__ import annotations

from typing import Annotated

import typer

from retail_intel.cli.common import (
    DEFAULT_CONFIG,
    DEFAULT_DATA_DIR,
    ConfigDir,
    DataDir,
    FormatOpt,
    OutputFormat,
    parse_date_option,
    render_rows,
)
from retail_intel.cli.ranges import in_range


def quality(
    branch: Annotated[
        str | None, typer.Option("--branch", "-b", help="Only this branch id (default: every branch).")
    ] = None,
    start: Annotated[str | None, typer.Option("--from", help="First local date, YYYY-MM-DD.")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last local date, YYYY-MM-DD (inclusive).")] = None,
    threshold: Annotated[
        float,
        typer.Option(
            "--threshold",
            **in_range(float, min=0.0, max=1.0),
            help="Flag days whose |ins - outs| exceeds this share of ins.",
        ),
    ] = 0.1,
    fmt: FormatOpt = OutputFormat.table,
    config: ConfigDir = DEFAULT_CONFIG,
    data_dir: DataDir = DEFAULT_DATA_DIR,
) -> None:
    """Door in/out imbalance and people flagged as staff, per camera and local day.

    ins are door-line crossings inwards (one per visitor on a camera without a
    line), outs crossings outwards (one per visitor whose exit was seen), each on
    the local day it happened (an out after midnight is the next day's, as in
    the KPIs); staff are left out of both. A flagged day's occupancy leans on the reconciliation
    (docs/staff-groups.md).

    Example: retail-intel quality --branch b1 --from 2026-02-01 --to 2026-02-07 --threshold 0.05
    """
    from retail_intel.config.loader import load_config
    from retail_intel.kpis.quality import door_quality

    table = door_quality(
        load_config(config),
        data_dir,
        branch=branch,
        start=parse_date_option(start, "--from"),
        end=parse_date_option(end, "--to"),
        threshold=threshold,
        range_names=("--from", "--to"),
    )
    render_rows(table.to_pylist(), fmt, title="Door balance per camera and day", columns=table.column_names)


def register(app: typer.Typer) -> None:
    app.command("quality")(quality)
