"""``retail-intel etl``: recompute hourly KPIs over a range and write the forecasting feature table."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
from rich.markup import escape

from retail_intel.cli.common import (
    DEFAULT_CONFIG,
    DEFAULT_DATA_DIR,
    ConfigDir,
    DataDir,
    EngineChoice,
    EngineOpt,
    FormatOpt,
    OutputFormat,
    counting_progress,
    err,
    exit_interrupted,
    parse_time_option,
    render_rows,
    to_json,
)

_STAGES = {"kpis": "writing hourly KPIs", "features": "writing features"}


def etl(
    start: Annotated[
        str | None,
        typer.Option("--from", help="Recompute windows from this time on (ISO 8601 with timezone; default: all data)."),
    ] = None,
    end: Annotated[
        str | None,
        typer.Option("--to", help="... up to this time (ISO 8601 with timezone, exclusive; default: all data)."),
    ] = None,
    branch: Annotated[
        str | None, typer.Option("--branch", "-b", help="Only this branch id (default: every active branch).")
    ] = None,
    engine: EngineOpt = EngineChoice.duckdb,
    config: ConfigDir = DEFAULT_CONFIG,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Recompute hourly KPIs for every active branch and write the feature table for forecasting.

    Stores 60-minute KPIs in DATA_DIR/kpis/60m/ and one feature row per
    branch and hour (calendar, holiday/promotion/event/open flags, visitor
    lags, trailing means, neighbor traffic, next-hour target) in
    DATA_DIR/features/hourly/<branch>.parquet. Rows of recomputed hours
    replace earlier rows; holidays come from holidays.yaml in the config
    directory. Feature definitions: docs/etl.md.

    Example: retail-intel etl --from 2026-03-01T00:00:00Z --to 2026-03-08T00:00:00Z --format json
    """
    from retail_intel.config.loader import load_config
    from retail_intel.etl import run_etl

    since = parse_time_option(start, "--from")
    until = parse_time_option(end, "--to")
    loaded = load_config(config)
    with counting_progress("branches") as progress:
        task = progress.add_task("computing hourly KPIs", total=None)

        def report(stage: str, done: int, total: int) -> None:
            progress.update(task, description=_STAGES.get(stage, stage), completed=done, total=total)

        try:
            result = run_etl(
                loaded,
                data_dir,
                start=since,
                end=until,
                branch=branch,
                engine=engine.value,
                progress=report,
                range_names=("--from", "--to"),
            )
        except KeyboardInterrupt:
            # every file is replaced atomically, and a range run redoes hours stored without their features
            progress.stop()
            exit_interrupted("KPI and feature files written so far are complete (run the same command again to finish)")
    for unknown in result.unknown_branches:
        err.print(
            f"[yellow]skipped movements of branch {escape(unknown)}: not defined in {escape(str(config))}[/yellow]"
        )
    summary: dict[str, Any] = {
        "branches": len(result.branches),
        "kpi_windows": result.kpi_windows,
        "feature_rows": result.feature_rows,
        "kpi_files": len(result.kpi_paths),
        "feature_files": len(result.feature_paths),
        "from": result.start,
        "to": result.end,
        "engine": result.engine,
        "seconds": round(result.seconds, 3),
        "features_dir": str(data_dir / "features" / "hourly"),
    }
    if fmt is OutputFormat.json:
        sys.stdout.write(to_json(summary) + "\n")
        return
    if fmt is OutputFormat.csv:
        render_rows([summary], fmt, columns=list(summary))
        return
    rows = [{"item": key, "value": "-" if value is None else value} for key, value in summary.items()]
    render_rows(rows, fmt, title="ETL: hourly KPIs and features", columns=["item", "value"])
    if not result.branches:
        err.print("[yellow]no active branch in the config: nothing was computed[/yellow]")
    elif result.kpi_windows == 0 and result.feature_rows == 0:
        err.print("[yellow]no movements in the range: nothing was written[/yellow]")
    elif result.kpi_windows == 0:  # hourly KPIs stored by `kpis` still got their feature rows
        err.print(
            f"[yellow]no movements in the range: {result.feature_rows:,} feature row(s) of stored hours written[/yellow]"
        )


def register(app: typer.Typer) -> None:
    app.command("etl")(etl)
