"""``retail-intel sql``: read-only SQL over the movement store, KPIs and metadata."""

from __future__ import annotations

import base64
import csv
import datetime as dt
import decimal
import enum
import io
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import pyarrow as pa
import typer
from rich.markup import escape

from retail_intel.cli.common import (
    DEFAULT_CONFIG,
    DEFAULT_DATA_DIR,
    ConfigDir,
    DataDir,
    OutputFormat,
    err,
    render_rows,
)
from retail_intel.errors import InputError
from retail_intel.storage import atomic_write_bytes, atomic_write_table


class SqlFormat(enum.StrEnum):
    table = "table"
    csv = "csv"
    json = "json"
    parquet = "parquet"


def _plain(value: Any) -> Any:
    """A value as JSON/CSV can hold it (DuckDB sums come back as Decimal, intervals as timedelta)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, float) and value != value:
        return None
    return value


def _csv_text(table: pa.Table) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(table.column_names)
    for row in table.to_pylist():
        cells = []
        for value in (_plain(v) for v in row.values()):
            if value is None:
                cells.append("")
            elif isinstance(value, list | dict):
                cells.append(json.dumps(value, ensure_ascii=False))
            else:
                cells.append(value)
        writer.writerow(cells)
    return buffer.getvalue()


def _json_text(table: pa.Table) -> str:
    return json.dumps([_plain(row) for row in table.to_pylist()], indent=2, ensure_ascii=False) + "\n"


def _emit(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
    else:
        atomic_write_bytes(text.encode("utf-8"), output)
        err.print(f"[dim]wrote {escape(str(output))}[/dim]")


def _render(table: pa.Table, fmt: SqlFormat, output: Path | None, max_rows: int) -> None:
    if fmt is SqlFormat.parquet:
        if output is None:
            raise InputError("--format parquet needs -o FILE.parquet (Parquet is not written to a terminal)")
        atomic_write_table(table, output)
        err.print(f"[dim]wrote {table.num_rows:,} rows to {escape(str(output))}[/dim]")
    elif fmt is SqlFormat.csv:
        _emit(_csv_text(table), output)
    elif fmt is SqlFormat.json:
        _emit(_json_text(table), output)
    else:
        if output is not None:
            raise InputError("-o FILE needs --format csv, json or parquet")
        shown = table.slice(0, max_rows)
        render_rows(shown.to_pylist(), OutputFormat.table, columns=table.column_names)
        if table.num_rows > max_rows:
            err.print(
                f"[yellow]showing {max_rows:,} of {table.num_rows:,} rows[/yellow]; "
                "use --max-rows, or --format csv/json/parquet for all of them"
            )


def _read_statement(statement: str | None) -> str:
    if statement is None:
        raise InputError('expected a SQL statement, e.g. retail-intel sql "SELECT * FROM branches"')
    if statement == "-":
        return sys.stdin.read()
    return statement


def sql(
    statement: Annotated[
        str | None,
        typer.Argument(help="One read-only SQL statement; '-' reads it from stdin.", show_default=False),
    ] = None,
    fmt: Annotated[
        SqlFormat, typer.Option("--format", "-f", help="table, csv, json (stdout or -o) or parquet (-o).")
    ] = SqlFormat.table,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the result to this file instead of stdout.")
    ] = None,
    max_rows: Annotated[int, typer.Option("--max-rows", min=1, help="Rows shown by --format table.")] = 100,
    print_views: Annotated[
        bool,
        typer.Option("--print-views", help="Print CREATE VIEW statements for your own DuckDB session."),
    ] = False,
    export_db: Annotated[
        Path | None,
        typer.Option(
            "--export-db",
            help="Write a DuckDB database file with the views (absolute paths) and metadata tables.",
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing --export-db file.")] = False,
    config: ConfigDir = DEFAULT_CONFIG,
    data_dir: DataDir = DEFAULT_DATA_DIR,
) -> None:
    """Run one read-only SQL statement (DuckDB dialect) over the data.

    Tables: customer_branch_movement, customers, branch_kpi_timeseries (views
    over the Parquet files), branches, employees, tasks, events, promotions
    (from the YAML config). Only SELECT / WITH / FROM / DESCRIBE / SHOW /
    SUMMARIZE / EXPLAIN / PRAGMA table_info are accepted, and the query cannot
    read or write files outside the data directory.

    Example: retail-intel sql "SELECT branch_id, count(*) FROM customer_branch_movement GROUP BY 1"
    """
    from retail_intel.sqlviews import export_database, query, view_statements

    if print_views:
        statements, empty = view_statements(data_dir)
        sys.stdout.write("\n\n".join(statements) + "\n")
        for name in empty:
            err.print(f"[yellow]{name}: no Parquet files yet; printed an empty stand-in view[/yellow]")
        return
    if export_db is not None:
        result = export_database(config, data_dir, export_db, force=force)
        tables = ", ".join(f"{name} ({rows})" for name, rows in result.tables.items())
        err.print(f"wrote {escape(str(result.path))}: views {', '.join(result.views)}; tables {escape(tables)}")
        for name in result.empty_views:
            err.print(
                f"[yellow]{name}: no Parquet files yet; the view is an empty stand-in until you export again[/yellow]"
            )
        return
    text = _read_statement(statement)
    table = query(config, data_dir, text)
    _render(table, fmt, output, max_rows)


def register(app: typer.Typer) -> None:
    app.command("sql")(sql)
