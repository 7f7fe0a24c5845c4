"""``retail-intel demo-data``: write a labelled synthetic data set for demos and benchmarks."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.markup import escape

from retail_intel.cli.common import (
    DEFAULT_CONFIG,
    DEFAULT_DATA_DIR,
    ConfigDir,
    DataDir,
    FormatOpt,
    OutputFormat,
    counting_progress,
    err,
    exit_interrupted,
    parse_date_option,
    render_rows,
    to_json,
)
from retail_intel.cli.ranges import in_range
from retail_intel.wording import counted


def demo_data(
    branches: Annotated[int, typer.Option("--branches", **in_range(int, min=1), help="Number of DEMO branches.")] = 20,
    days: Annotated[int, typer.Option("--days", **in_range(int, min=1), help="Days of movements per branch.")] = 90,
    seed: Annotated[
        int, typer.Option("--seed", **in_range(int, min=0), help="Random seed; same seed + --start = same files.")
    ] = 0,
    start: Annotated[
        str | None,
        typer.Option("--start", help="First day (YYYY-MM-DD). Default: --days days before today, ending yesterday."),
    ] = None,
    force: Annotated[
        bool,
        typer.Option("--force", help="Write into non-empty directories (replaces YAML and earlier demo files)."),
    ] = False,
    config: ConfigDir = DEFAULT_CONFIG,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Write a clearly labelled SYNTHETIC data set: config YAML plus movement Parquet.

    Branch names start with DEMO, rows carry source_video "synthetic-demo" and
    a README.txt in both directories says the data is made up. Visits follow a
    daily rhythm (lunchtime and after-work peaks), a weekly rhythm (busy
    Saturdays) and rise during promotions. Refuses non-empty directories
    unless --force.

    Example: retail-intel demo-data --branches 20 --days 90 --seed 1 --config demo/config --data-dir demo/data
    """
    from retail_intel.demo import generate_demo

    first = parse_date_option(start, "--start")
    try:
        with counting_progress("branch-days") as progress:
            task = progress.add_task("writing movements", total=branches * days)
            summary = generate_demo(
                config,
                data_dir,
                branches=branches,
                days=days,
                seed=seed,
                start=first,
                force=force,
                progress=lambda done, total: progress.update(task, completed=done, total=total),
                names={
                    "branches": "--branches",
                    "days": "--days",
                    "seed": "--seed",
                    "start": "--start",
                    "config_dir": "--config",
                    "data_dir": "--data-dir",
                    "force": "--force",
                },
            )
    except KeyboardInterrupt:
        exit_interrupted("the demo files written so far were removed (run the command again)")
    if fmt is OutputFormat.json:
        sys.stdout.write(to_json(summary.as_dict()) + "\n")
        return
    rows = [{"item": key, "value": value} for key, value in summary.as_dict().items()]
    render_rows(rows, fmt, title="SYNTHETIC demo data written", columns=["item", "value"])
    if fmt is OutputFormat.table:
        err.print(
            f"[dim]{counted(summary.movements, 'movement')} in {summary.seconds:.1f} s; try: "
            f"retail-intel sql --config {escape(str(config))} --data-dir {escape(str(data_dir))} "
            '"SELECT branch_id, count(*) FROM customer_branch_movement GROUP BY 1"[/dim]'
        )


def register(app: typer.Typer) -> None:
    app.command("demo-data")(demo_data)
