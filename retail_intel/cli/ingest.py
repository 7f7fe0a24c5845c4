"""``retail-intel ingest``: add movement events produced elsewhere to the store."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from retail_intel.cli.common import (
    DEFAULT_CONFIG,
    DEFAULT_DATA_DIR,
    ConfigDir,
    DataDir,
    FormatOpt,
    OutputFormat,
    choice_parser,
    err,
    exit_interrupted,
    out,
    parse_time_option,
    render_rows,
    to_json,
)
from retail_intel.errors import InputError
from retail_intel.ingest import IngestResult, InputFormat, ingest_file
from retail_intel.movements.plausible import DEFAULT_EARLIEST, TimeLimits
from retail_intel.timeutil import parse_duration


def _render(result: IngestResult, fmt: OutputFormat) -> None:
    if fmt is OutputFormat.json:
        sys.stdout.write(to_json(result.as_dict()) + "\n")
        return
    counts = [
        {"rows": "read", "count": result.read},
        {"rows": "accepted", "count": result.accepted},
        {"rows": "rejected", "count": result.rejected},
        {"rows": "already present", "count": result.already_present},
    ]
    if fmt is OutputFormat.csv:
        render_rows(counts, fmt, columns=["rows", "count"])
        return
    table = Table(title=f"ingest {result.file.name} ({result.format.value})")
    table.add_column("rows")
    table.add_column("count", justify="right")
    for row in counts:
        table.add_row(str(row["rows"]), f"{row['count']:,}")
    out.print(table)
    if result.reject_kinds:
        reasons = Table(title="reasons for rejection (a row may have several)")
        reasons.add_column("reason")
        reasons.add_column("rows", justify="right")
        for kind, count in result.reject_kinds.items():
            reasons.add_row(kind, f"{count:,}")
        out.print(reasons)
    if result.ignored_columns:
        err.print(f"[dim]ignored columns: {escape(', '.join(result.ignored_columns))}[/dim]")
    err.print(f"[dim]wrote {len(result.written)} movement file(s)[/dim]")


STDIN = "-"  # FILE - reads the events from standard input


def ingest(
    file: Annotated[
        Path,
        typer.Argument(
            help="Events as JSON Lines (.jsonl/.ndjson/.json) or CSV (.csv); - reads standard input "
            "(with --input-format)."
        ),
    ],
    input_format: Annotated[
        InputFormat | None,
        typer.Option(
            "--input-format",
            parser=choice_parser(InputFormat),
            help="Override the format detected from the file extension.",
        ),
    ] = None,
    rejects: Annotated[
        Path | None,
        typer.Option(
            "--rejects",
            help="Where to write rejected rows (CSV: line, reason, raw). "
            "Default: DATA_DIR/rejects/<file stem>.<fingerprint>.rejects.csv",
        ),
    ] = None,
    earliest: Annotated[
        str | None,
        typer.Option(
            "--earliest", help="Refuse rows before this time (ISO 8601; not before the default 2000-01-01T00:00:00Z)."
        ),
    ] = None,
    latest: Annotated[
        str | None,
        typer.Option("--latest", help="Refuse rows after this time (ISO 8601; not after the default, now + 1 day)."),
    ] = None,
    max_dwell: Annotated[
        str,
        typer.Option("--max-dwell", help="Refuse rows whose exit is more than this after their enter (at most 24h)."),
    ] = "24h",
    config: ConfigDir = DEFAULT_CONFIG,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Add movement events produced elsewhere to the movement store.

    Each row needs customer_id (UUID), branch_id (defined in branches.yaml),
    enter_time and exit_time (ISO 8601 with a timezone, exit not before enter)
    and action_type (entered or passed). Valid rows are stored like the output
    of `process`; rejected rows go to a rejects file with their line number and
    reasons; rows whose customer_id is already stored are skipped and counted.
    Ingesting the same file twice adds nothing. Rows dated outside
    --earliest .. --latest or with a dwell above --max-dwell are rejected
    (they are never real footfall and would break the KPIs). Two ingests into
    one data directory at once take turns.

    Exit code: 0 when every row was accepted or already present, 1 when any row
    was rejected or the file holds no rows.

    Example: retail-intel ingest exports/events-2026-02-08.jsonl --config config

    Example: gunzip -c events.csv.gz | retail-intel ingest - --input-format csv
    """
    try:
        seconds = parse_duration(max_dwell, default_unit="h")
    except InputError as exc:
        raise InputError(f"--max-dwell: {exc}") from exc
    widest = TimeLimits().resolved()
    assert widest.latest is not None
    # checked before it becomes a timedelta, which overflows on absurd values
    if seconds > widest.max_dwell.total_seconds():
        raise InputError(f"--max-dwell can be at most {widest.max_dwell.total_seconds() / 3600:g}h, got {max_dwell!r}")
    limits = TimeLimits(
        earliest=parse_time_option(earliest, "--earliest") or DEFAULT_EARLIEST,
        latest=parse_time_option(latest, "--latest"),
        max_dwell=dt.timedelta(seconds=seconds),
    )
    # kpis, etl and report refuse files with times outside the default range:
    # storing such rows would only move the failure there.
    if limits.earliest < widest.earliest or (limits.latest is not None and limits.latest > widest.latest):
        raise InputError(
            f"--earliest/--latest can only narrow the plausible range {widest.range_text()} (the KPIs refuse "
            f"anything outside it), got {limits.resolved().range_text()}"
        )
    chosen = limits.resolved()
    assert chosen.latest is not None
    if chosen.earliest > chosen.latest:  # an empty range would reject every row as implausible
        raise InputError(
            f"--earliest must not be after --latest (default now + 1 day), got {chosen.range_text()}; "
            "swap them, or leave one out"
        )

    def waiting(holder: str) -> None:
        err.print(f"[dim]waiting for another ingest into {escape(str(data_dir))} ({escape(holder)})[/dim]")

    piped: bytes | None = None
    if str(file) == STDIN and input_format is None:  # told before waiting for the end of the input
        raise InputError("FILE - (standard input) needs --input-format jsonl|csv: stdin has no extension")
    try:
        if str(file) == STDIN:
            # the rows are read whole anyway (their fingerprint names the stored files, so a rerun adds nothing)
            piped = sys.stdin.buffer.read()
            file = Path("stdin")
        result = ingest_file(
            file,
            data=piped,
            config_dir=config,
            data_dir=data_dir,
            input_format=input_format,
            rejects_path=rejects,
            limits=limits,
            on_wait=waiting,
            names={"input_format": "--input-format", "rejects_path": "--rejects"},
        )
    except KeyboardInterrupt:
        # movement files are written whole and keyed by content, so a rerun stores each row once
        exit_interrupted(
            "movement files written so far are complete (run the same command again: rows already stored "
            "are not stored twice)"
        )
    if result.read == 0:  # an error: its one line alone, no table of zeros or "wrote 0 movement file(s)"
        err.print(f"[red]error:[/red] {escape(str(file))} holds no rows; nothing was ingested")
        raise typer.Exit(1)
    _render(result, fmt)
    if result.rejected:
        where = escape(str(result.rejects_file))
        if result.accepted + result.already_present == 0:
            err.print(f"[red]error:[/red] no valid rows in {escape(str(file))}; see {where}")
        else:
            err.print(f"[yellow]{result.rejected:,} row(s) rejected[/yellow]; see {where}")
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("ingest")(ingest)
