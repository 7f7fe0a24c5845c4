"""``retail-intel kpis``: per-branch KPIs per tumbling window, stored as Parquet and shown."""

from __future__ import annotations

import datetime as dt
import enum
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from zoneinfo import ZoneInfo

import pyarrow as pa
import typer
from rich.markup import escape

from retail_intel.cli.common import (
    DEFAULT_CONFIG,
    DEFAULT_DATA_DIR,
    ConfigDir,
    DataDir,
    EngineChoice,
    EngineOpt,
    OutputFormat,
    choice_parser,
    err,
    exit_interrupted,
    parse_time_option,
    render_rows,
    to_json,
    window_label,
)
from retail_intel.cli.ranges import in_range
from retail_intel.cli.tables import arrow_csv, emit_text, output_file
from retail_intel.cli.zones import QueuesOpt, show_zone_kpis
from retail_intel.errors import InputError
from retail_intel.kpis.inputs import MAX_BASELINE_WEEKS, MAX_MOMENTUM_WINDOWS
from retail_intel.storage import atomic_write_table
from retail_intel.wording import counted

if TYPE_CHECKING:
    from retail_intel.config.loader import Config


class KpiFormat(enum.StrEnum):
    table = "table"
    json = "json"
    csv = "csv"
    parquet = "parquet"


# What the Rich table shows: the KPIs a store manager reads first. JSON, CSV
# and Parquet carry every column.
_TABLE_COLUMNS = {
    "branch_id": "branch",
    "local_start": "local window",
    "visitors": "visitors",
    "passed": "passed",
    "conversion_proxy": "conv",
    "traffic_index": "traffic",
    "peak_occupancy": "peak",
    "congestion_level": "congest",
    "growth_momentum": "momentum",
    "staffing_adequacy": "staffing",
    "bottleneck_score": "bottleneck",
    "flags": "promo/event",
}


def _table_rows(table: pa.Table, timezones: dict[str, str]) -> list[dict[str, Any]]:
    rows = []
    for row in table.to_pylist():
        tz = timezones.get(row["branch_id"])
        flags = [name for name, on in (("promo", row["promotion_active"]), ("event", row["event_active"])) if on]
        shown = {key: row.get(key) for key in _TABLE_COLUMNS}
        shown["local_start"] = window_label(row["window_start"], ZoneInfo(tz) if tz else None)
        shown["flags"] = ", ".join(flags) or "-"
        rows.append({_TABLE_COLUMNS[key]: value for key, value in shown.items()})
    return rows


def kpis(
    window: Annotated[
        str,
        typer.Option("--window", "-w", help="Window size: 15m, 30m, 60m, 1h, 4h, 1d ... (must divide a day)."),
    ] = "60m",
    branch: Annotated[
        str | None, typer.Option("--branch", "-b", help="Only this branch id (default: every branch).")
    ] = None,
    start: Annotated[
        str | None,
        typer.Option("--from", help="Report windows overlapping this time on (ISO 8601 with timezone)."),
    ] = None,
    end: Annotated[
        str | None,
        typer.Option(
            "--to",
            help="... and starting before this time (ISO 8601 with timezone, exclusive): a window it falls in is reported.",
        ),
    ] = None,
    fmt: Annotated[
        KpiFormat,
        typer.Option(
            "--format",
            "-f",
            parser=choice_parser(KpiFormat),
            help="table, json or csv (stdout or -o), or parquet (needs -o).",
        ),
    ] = KpiFormat.table,
    engine: EngineOpt = EngineChoice.duckdb,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the result to this file instead of stdout (- is stdout)."),
    ] = None,
    baseline_weeks: Annotated[
        int,
        typer.Option(
            "--baseline-weeks",
            **in_range(int, min=1, max=MAX_BASELINE_WEEKS),
            help="Weeks looked back for the traffic-index baseline.",
        ),
    ] = 4,
    momentum_windows: Annotated[
        int,
        typer.Option(
            "--momentum-windows",
            **in_range(int, min=2, max=MAX_MOMENTUM_WINDOWS),
            help="Windows in the growth-momentum slope (this one included).",
        ),
    ] = 6,
    max_rows: Annotated[
        int,
        typer.Option(
            "--max-rows", **in_range(int, min=1), help="Rows shown by --format table (with --zones, per table)."
        ),
    ] = 200,
    zones: Annotated[
        bool, typer.Option("--zones", help="Zone and queue KPIs per zone and window instead (docs/zones.md).")
    ] = False,
    queues: QueuesOpt = False,
    include_staff: Annotated[
        bool,
        typer.Option(
            "--include-staff",
            help="Count people flagged as staff as customers too (default: excluded); shown, not stored.",
        ),
    ] = False,
    imbalance_threshold: Annotated[
        float,
        typer.Option(
            "--imbalance-threshold",
            **in_range(float, min=0.0, max=1.0),
            help="Flag a day (data_quality) whose door in/out imbalance exceeds this share of its ins.",
        ),
    ] = 0.1,
    config: ConfigDir = DEFAULT_CONFIG,
    data_dir: DataDir = DEFAULT_DATA_DIR,
) -> None:
    """Compute store KPIs per branch and tumbling window, store them, and show them.

    Windows are aligned to midnight in each branch's own timezone. Every
    window from a branch's first to its last movement is computed, empty
    ones included; --from/--to limit which windows are reported and stored
    (history before --from still feeds the baseline and momentum). Results
    replace earlier rows of the same windows in DATA_DIR/kpis/<N>m/<branch>.parquet.
    KPI definitions: docs/kpis.md.

    People flagged as staff are left out of every customer KPI unless
    --include-staff (those KPIs are shown but not stored); they feed
    observed_staff instead. Occupancy is also
    reconciled per day at the door (reconciled_occupancy, data_quality), and
    congestion and utilization use that reconciled occupancy.

    Example: retail-intel kpis --window 60m --branch b1 --from 2026-02-09T00:00:00Z --format csv

    Example: retail-intel kpis --zones --window 60m --branch b1 --format json

    Example: retail-intel kpis --window 1d --include-staff --format csv
    """
    from retail_intel.config.loader import load_config
    from retail_intel.kpis import compute_kpis, window_minutes_from

    output = output_file(output)
    if queues and not zones:
        # without --zones the branch KPIs would come out, read as if they were the queue rows
        raise InputError(
            "--queues picks the queue rows of --zones: add --zones (with --format csv), or leave --queues out"
        )
    if fmt is KpiFormat.parquet and output is None:
        raise InputError("--format parquet needs -o FILE.parquet (Parquet is binary: it is not written to stdout)")
    if fmt is KpiFormat.table and output is not None:
        raise InputError("-o FILE needs --format csv, json or parquet")
    minutes = window_minutes_from(window, flag="--window")
    since = parse_time_option(start, "--from")
    until = parse_time_option(end, "--to")
    loaded = load_config(config)
    if zones:
        _zone_kpis(
            loaded, data_dir, minutes, branch, since, until, engine.value, fmt, output, queues, include_staff, max_rows
        )
        return
    began = time.perf_counter()
    try:
        result = compute_kpis(
            loaded,
            data_dir,
            window_minutes=minutes,
            branch=branch,
            start=since,
            end=until,
            engine=engine.value,
            baseline_weeks=baseline_weeks,
            momentum_windows=momentum_windows,
            include_staff=include_staff,
            imbalance_threshold=imbalance_threshold,
            range_names=("--from", "--to"),
            write=not include_staff,  # such KPIs are shown, never stored (compute_kpis refuses to)
        )
    except KeyboardInterrupt:
        if include_staff:
            exit_interrupted("nothing stored (--include-staff KPIs are shown, never stored)")
        # each branch's KPI file is replaced whole: a stored one is the old or the new, never half
        exit_interrupted("KPI files stored so far are complete (run the same command again to finish)")
    elapsed = time.perf_counter() - began
    table = result.table
    for unknown in result.unknown_branches:
        err.print(
            f"[yellow]skipped movements of branch {escape(unknown)}: not defined in {escape(str(config))}[/yellow]"
        )
    branches = len(set(table["branch_id"].to_pylist()))
    stored = (
        "not stored (--include-staff: the store keeps the KPIs with staff left out)"
        if include_staff
        else f"stored under {escape(str(data_dir / 'kpis' / f'{minutes}m'))}"
    )
    err.print(
        f"[dim]{counted(table.num_rows, 'window')} of {minutes} min for {counted(branches, 'branch', 'branches')} "
        f"in {elapsed:.1f} s ({engine.value}); {stored}[/dim]"
    )
    if fmt is KpiFormat.parquet:
        assert output is not None
        atomic_write_table(table, output)
        err.print(f"[dim]wrote {counted(table.num_rows, 'row')} to {escape(str(output))}[/dim]")
    elif fmt is KpiFormat.csv:
        emit_text(arrow_csv(table), output)
    elif fmt is KpiFormat.json:
        emit_text(to_json(table.to_pylist()) + "\n", output)
    else:
        shown = table.slice(0, max_rows)
        render_rows(
            _table_rows(shown, result.timezones),
            OutputFormat.table,
            title=f"KPIs per {minutes}-minute window",
            columns=list(_TABLE_COLUMNS.values()),
        )
        if table.num_rows > max_rows:
            err.print(
                f"[yellow]showing {max_rows:,} of {table.num_rows:,} rows[/yellow]; "
                "use --max-rows, --branch/--from/--to, or --format csv/json/parquet for all of them"
            )


def _zone_kpis(
    loaded: Config,
    data_dir: Path,
    minutes: int,
    branch: str | None,
    since: dt.datetime | None,
    until: dt.datetime | None,
    engine: str,
    fmt: KpiFormat,
    output: Path | None,
    queues: bool,
    include_staff: bool,
    max_rows: int,
) -> None:
    from retail_intel.kpis.zone_compute import compute_zone_kpis

    if fmt is KpiFormat.parquet or output is not None:
        raise InputError("--zones prints to stdout: use --format table, json or csv without -o")
    result = compute_zone_kpis(
        loaded,
        data_dir,
        window_minutes=minutes,
        branch=branch,
        start=since,
        end=until,
        engine=engine,
        include_staff=include_staff,
        range_names=("--from", "--to"),
    )
    timezones = {b.id: b.tzinfo for b in loaded.branches}
    shown = [loaded.branch(branch)] if branch is not None else loaded.branches
    configured = any(camera.zones for b in shown for camera in b.cameras)
    show_zone_kpis(
        result.zones,
        result.queues,
        OutputFormat(fmt.value),
        timezones,
        csv_queues=queues,
        configured=configured,
        max_rows=max_rows,
        with_branch=branch is None,
    )


def register(app: typer.Typer) -> None:
    app.command("kpis")(kpis)
