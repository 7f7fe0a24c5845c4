"""``retail-intel zones``: a branch's zones for one day, and the zone part of ``kpis --zones``."""

from __future__ import annotations

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
    FormatOpt,
    OutputFormat,
    counting_progress,
    err,
    exit_interrupted,
    parse_date_option,
    render_rows,
    to_json,
    window_label,
)
from retail_intel.cli.tables import arrow_csv, plain_value
from retail_intel.errors import InputError
from retail_intel.wording import counted

if TYPE_CHECKING:
    from retail_intel.config.loader import Config

# column -> header of the Rich tables; JSON and CSV carry every column
_ZONE_COLUMNS = {
    "camera_id": "camera",
    "zone_id": "zone",
    "zone_kind": "kind",
    "local_start": "local window",
    "visits": "visits",
    "counted_visits": "counted",
    "mean_dwell_seconds": "mean dwell s",
    "median_dwell_seconds": "median dwell s",
    "attention_rate": "attention",
}
_QUEUE_COLUMNS = {
    "camera_id": "camera",
    "zone_id": "queue",
    "local_start": "local window",
    "people_queued": "queued",
    "people_served": "served",
    "mean_wait_seconds": "mean wait s",
    "p90_wait_seconds": "p90 wait s",
    "mean_service_seconds": "service s",
    "abandonment_rate": "abandoned",
    "peak_queue_length": "peak length",
    "mean_queue_length": "mean length",
}

QueuesOpt = Annotated[
    bool, typer.Option("--queues", help="With --format csv: the queue rows instead of the zone rows.")
]


def _rows(table: pa.Table, columns: dict[str, str], timezones: dict[str, ZoneInfo]) -> list[dict[str, Any]]:
    rows = []
    for row in table.to_pylist():
        tz = timezones.get(row["branch_id"])
        row["local_start"] = window_label(row["window_start"], tz)
        rows.append({header: row.get(key) for key, header in columns.items()})
    return rows


def _render_table(
    table: pa.Table,
    columns: dict[str, str],
    timezones: dict[str, ZoneInfo],
    title: str,
    max_rows: int | None,
    with_branch: bool,
) -> None:
    # a store's hourly zone rows run to hundreds of thousands: a terminal gets the first max_rows
    shown = table if max_rows is None else table.slice(0, max_rows)
    if with_branch:
        # every demo branch's camera is cam-1 and its zones share their ids: without the branch
        # the rows of two branches cannot be told apart
        columns = {"branch_id": "branch", **columns}
    render_rows(_rows(shown, columns, timezones), OutputFormat.table, title=title, columns=list(columns.values()))
    if table.num_rows > shown.num_rows:
        err.print(
            f"[yellow]showing {shown.num_rows:,} of {table.num_rows:,} {title.lower()} rows[/yellow]; "
            "use --max-rows, --branch/--from/--to, or --format csv/json for all of them"
        )


def show_zone_kpis(
    zones: pa.Table,
    queues: pa.Table,
    fmt: OutputFormat,
    timezones: dict[str, ZoneInfo],
    *,
    csv_queues: bool = False,
    configured: bool = False,
    max_rows: int | None = None,
    with_branch: bool = False,
) -> None:
    """Render zone and queue KPI tables: two Rich tables, one JSON object, or one CSV table.

    ``configured``: some branch shown has zones in branches.yaml, so an empty answer means
    nobody was judged in them in this range, not that zones are missing. ``max_rows``: rows
    each Rich table shows at most (``kpis --max-rows``); JSON and CSV carry every row.
    ``with_branch``: the Rich tables start with the branch (rows of several branches).
    """
    if fmt is OutputFormat.json:
        document = {"zones": plain_value(zones.to_pylist()), "queues": plain_value(queues.to_pylist())}
        typer.echo(to_json(document))
    elif fmt is OutputFormat.csv:
        typer.echo(arrow_csv(queues if csv_queues else zones), nl=False)
    else:
        _render_table(zones, _ZONE_COLUMNS, timezones, "Zones", max_rows, with_branch)
        if queues.num_rows:
            _render_table(queues, _QUEUE_COLUMNS, timezones, "Queues", max_rows, with_branch)
        if zones.num_rows == 0 and queues.num_rows == 0 and configured:
            err.print(
                "[yellow]no zone visits in this range[/yellow]: the zones are configured, but nobody was seen in them "
                "(a closed day, or its video not processed yet)"
            )
        elif zones.num_rows == 0 and queues.num_rows == 0:
            err.print(
                "[yellow]no zone visits in this range[/yellow]: give a camera zones: in branches.yaml "
                "(docs/zones.md) and process its video"
            )


def zones(
    branch: Annotated[str, typer.Option("--branch", "-b", help="Branch id.")],
    date: Annotated[
        str | None,
        typer.Option("--date", "-d", help="Day, YYYY-MM-DD in the branch's timezone; required unless --rejudge."),
    ] = None,
    fmt: FormatOpt = OutputFormat.table,
    queues: QueuesOpt = False,
    rejudge: Annotated[
        bool,
        typer.Option(
            "--rejudge", help="First judge the stored paths again against the zones as configured now (no detection)."
        ),
    ] = False,
    engine: EngineOpt = EngineChoice.duckdb,
    config: ConfigDir = DEFAULT_CONFIG,
    data_dir: DataDir = DEFAULT_DATA_DIR,
) -> None:
    """Show a branch's zones for one day: visits, dwell and attention per zone, and its queues.

    A visit counts once the foot point stayed in the zone for the zone's
    min_dwell (default 5 s); attention = counted visits / people the camera
    counted (entered or passed). Queues: wait to reach the service zone,
    service time, abandonment and queue length. Definitions: docs/zones.md.

    After editing zones, --rejudge replaces every video's zone visits from
    its stored paths (sampled every 0.5 s) without running detection again.

    Example: retail-intel zones --branch b1 --date 2026-02-08

    Example: retail-intel zones --branch b1 --rejudge --date 2026-02-08
    """
    from retail_intel.config.loader import load_config
    from retail_intel.kpis.zone_compute import zone_day

    day = parse_date_option(date, "--date")
    if day is None and not rejudge:
        raise InputError("--date YYYY-MM-DD is required (or --rejudge to only judge the stored paths again)")
    loaded = load_config(config)
    if rejudge:
        try:
            _rejudge(loaded, data_dir, branch)
        except KeyboardInterrupt:
            # each video's zone files are replaced whole
            exit_interrupted("zone files judged again so far are complete (run the same command again to finish)")
    if day is None:
        return
    result = zone_day(loaded, data_dir, branch=branch, day=day, engine=engine.value)
    tz = loaded.branch(branch).tzinfo
    err.print(f"[dim]branch {escape(branch)}, {day.isoformat()} ({tz.key}), {engine.value}[/dim]")
    configured = any(camera.zones for camera in loaded.branch(branch).cameras)
    show_zone_kpis(result.zones, result.queues, fmt, {branch: tz}, csv_queues=queues, configured=configured)


def _rejudge(loaded: Config, data_dir: Path, branch: str) -> None:
    from retail_intel.pipeline.rejudge_zones import rejudge_zones

    def waiting(holder: str) -> None:
        err.print(
            f"[yellow]waiting for the batch writing to {escape(str(data_dir))} ({escape(holder)}) to finish[/yellow]"
        )

    with counting_progress("videos") as bar:
        task = bar.add_task("re-judging zones", total=None)
        summary = rejudge_zones(
            loaded,
            data_dir,
            branch,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
            on_wait=waiting,
        )
    for reason in summary.skipped:
        err.print(f"[yellow]skipped {escape(reason)}[/yellow]")
    err.print(
        f"re-judged {counted(summary.videos, 'video')}: {counted(summary.visits, 'zone visit')}, {summary.queued:,} queued"
    )
    if summary.videos == 0 and not summary.skipped:
        # the visits shown next are still those judged against the old zones
        err.print(
            f"[yellow]branch {escape(branch)} has no stored paths (DATA_DIR/trajectories/{escape(branch)}: process "
            "writes them; demo and ingested data have none), so its zone visits stay as they were judged; "
            "process its videos again to judge them against the current zones[/yellow]"
        )


def register(app: typer.Typer) -> None:
    app.command("zones")(zones)


__all__ = ["register", "show_zone_kpis"]
