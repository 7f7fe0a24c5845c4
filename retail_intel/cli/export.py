"""``retail-intel export --to postgresql://...``: movements and KPIs into a PostgreSQL database."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import TaskID

from retail_intel.cli.common import (
    DEFAULT_DATA_DIR,
    DataDir,
    OutputFormat,
    choice_parser,
    counting_progress,
    exit_interrupted,
    parse_time_option,
    render_rows,
)

EXPORT_HELP = """Copy movements and KPIs into PostgreSQL tables named as the seed's.

Tables customer_branch_movement (key customer_id), branch_kpi_timeseries (key branch_id, window_minutes, window_start) and zone_visits (key customer_id, zone_id, enter_time) are created if missing and upserted by key, one transaction per table: exporting again adds nothing, and changed rows (recomputed KPIs) are updated. --since keeps movements that entered, KPI windows that start and zone visits that began at or after that time.

Keep the password off the command line: libpq reads PGPASSWORD and ~/.pgpass. Messages never show it. Needs the postgres extra (pip install 'retail-intel\\[postgres]').

Example: PGPASSWORD=... retail-intel export --to postgresql://bi@db.example:5432/footfall --since 2026-02-01T00:00:00Z"""


def export(
    to: Annotated[
        str,
        typer.Option(
            "--to",
            envvar="RETAIL_INTEL_EXPORT_URL",
            help="postgresql://[user[:password]@]host[:port]/dbname (env RETAIL_INTEL_EXPORT_URL).",
            show_default=False,
        ),
    ],
    since: Annotated[
        str | None,
        typer.Option("--since", help="Only rows from this time on (ISO 8601 with timezone)."),
    ] = None,
    table: Annotated[
        list[str] | None,
        typer.Option("--table", help="Export only this table (repeatable). Default: all of them."),
    ] = None,
    fmt: Annotated[
        OutputFormat,
        typer.Option(
            "--format", "-f", parser=choice_parser(OutputFormat), help="Summary as a table, or JSON / CSV on stdout."
        ),
    ] = OutputFormat.table,
    data_dir: DataDir = DEFAULT_DATA_DIR,
) -> None:
    from retail_intel.pgexport import check_url, export_to_postgres

    check_url(to, "--to")  # before any work: a bad URL or a missing driver is one line
    start = parse_time_option(since, "--since")
    with counting_progress("rows") as bar:
        tasks: dict[str, TaskID] = {}

        def progress(name: str, done: int, total: int) -> None:
            if name not in tasks:
                tasks[name] = bar.add_task(name, total=total)
            bar.update(tasks[name], completed=done)

        try:
            result = export_to_postgres(
                data_dir, to, since=start, tables=table, progress=progress, names={"url": "--to", "tables": "--table"}
            )
        except KeyboardInterrupt:
            # each table is one transaction: the one in progress is rolled back, those before it stay
            bar.stop()
            exit_interrupted(
                "the table being exported was left as it was, tables finished before it are exported "
                "(run the same command again: rows already there are not written twice)"
            )
    rows = [
        {"table": t.name, "rows": t.rows, "inserted": t.inserted, "updated": t.updated, "unchanged": t.unchanged}
        for t in result.tables
    ]
    render_rows(rows, fmt, title=f"exported to {escape(result.url)}")


def register(app: typer.Typer) -> None:
    app.command("export", help=EXPORT_HELP)(export)
