"""``retail-intel compact``: merge closed days of the store into one file per branch and month."""

from __future__ import annotations

import datetime as dt
import sys
from typing import Annotated, Any

import typer

from retail_intel.cli.common import (
    DEFAULT_DATA_DIR,
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

# how many recent days stay one file per video unless --before says otherwise
_OPEN_DAYS = 2


def compact(
    before: Annotated[
        str | None,
        typer.Option(
            "--before",
            help=f"Merge days before this date (YYYY-MM-DD, the UTC day folders; default: {_OPEN_DAYS} days ago).",
        ),
    ] = None,
    branch: Annotated[str | None, typer.Option("--branch", "-b", help="Only this branch's folders.")] = None,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Merge each branch's movement and zone files of closed days into one Parquet file per month.

    The store writes one file per video; after months of footage most of a
    KPI run is spent opening them. Compacting turns a branch's month into one
    file per table (DATA_DIR/<table>/<branch>/<YYYY-MM>/compacted.parquet);
    every command reads it as before, and processing a compacted video again
    still replaces its rows. Tracks and trajectories are not compacted.
    It waits for a running batch to finish, and is safe beside any other
    writer; run it after the nightly batch, e.g. weekly.

    Example: retail-intel compact --before 2026-03-01
    """
    from retail_intel.movements.compaction import compact_store

    cutoff = parse_date_option(before, "--before") or dt.datetime.now(dt.UTC).date() - dt.timedelta(days=_OPEN_DAYS)
    with counting_progress("folders") as progress:
        task = progress.add_task("compacting", total=None)

        def report(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        def waiting(holder: str) -> None:
            err.print(f"[yellow]waiting for the batch writing to {data_dir} ({holder}) to finish[/yellow]")

        try:
            result = compact_store(data_dir, before=cutoff, branch=branch, progress=report, on_wait=waiting)
        except KeyboardInterrupt:
            # a month is written whole before its day files go, and readers count each video once meanwhile
            progress.stop()
            exit_interrupted("months written so far are complete (run the same command again to finish)")
    rows: list[dict[str, Any]] = [
        {
            "table": kind,
            "files_merged": t.files_merged,
            "months_written": t.months_written,
            "rows": t.rows,
            "kept_newer": t.kept_newer,
            "healed": t.healed,
        }
        for kind, t in result.tables.items()
    ]
    if result.branch_missing is not None:
        err.print(f"[yellow]{result.branch_missing}; nothing to compact[/yellow]")
    if fmt is OutputFormat.json:
        payload = {"before": result.before, "tables": rows, "seconds": round(result.seconds, 3)}
        if result.branch_missing is not None:
            payload["note"] = result.branch_missing
        sys.stdout.write(to_json(payload) + "\n")
        return
    render_rows(rows, fmt, title=f"Compacted days before {result.before.isoformat()}", columns=list(rows[0]))
    if result.files_merged == 0 and fmt is OutputFormat.table and result.branch_missing is None:
        err.print(f"[yellow]nothing to compact: no per-video files of days before {result.before.isoformat()}[/yellow]")


def register(app: typer.Typer) -> None:
    app.command("compact")(compact)
