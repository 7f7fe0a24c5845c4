"""``retail-intel sql``: read-only SQL over the movement store, KPIs and metadata."""

from __future__ import annotations

import enum
import sys
from pathlib import Path
from typing import Annotated

import pyarrow as pa
import typer
from rich.markup import escape

from retail_intel.cli.common import (
    DEFAULT_CONFIG,
    DEFAULT_DATA_DIR,
    ConfigDir,
    DataDir,
    OutputFormat,
    choice_parser,
    err,
    render_rows,
)
from retail_intel.cli.ranges import in_range
from retail_intel.cli.tables import (
    arrow_csv,
    arrow_json,
    arrow_records,
    emit_text,
    intervals_as_durations,
    output_file,
    unique_names,
)
from retail_intel.errors import InputError
from retail_intel.storage import atomic_write_table
from retail_intel.wording import counted


class SqlFormat(enum.StrEnum):
    table = "table"
    csv = "csv"
    json = "json"
    parquet = "parquet"


def _render(table: pa.Table, fmt: SqlFormat, output: Path | None, max_rows: int) -> None:
    output = output_file(output)
    if fmt is SqlFormat.parquet:
        if output is None:
            raise InputError("--format parquet needs -o FILE.parquet (Parquet is binary: it is not written to stdout)")
        # Polars and pyarrow's dataset reader refuse a Parquet file with a repeated column name;
        # Parquet cannot hold an interval (exit_time - enter_time): it is written as a duration
        try:
            atomic_write_table(intervals_as_durations(table.rename_columns(unique_names(table.column_names))), output)
        except pa.ArrowNotImplementedError as exc:  # a type Parquet has no form for (a UNION, say)
            raise InputError(
                f"--format parquet: {exc}; cast that column in the query, or use --format csv or json"
            ) from exc
        err.print(f"[dim]wrote {counted(table.num_rows, 'row')} to {escape(str(output))}[/dim]")
    elif fmt is SqlFormat.csv:
        emit_text(arrow_csv(table), output)
    elif fmt is SqlFormat.json:
        emit_text(arrow_json(table), output)
    else:
        if output is not None:
            raise InputError("-o FILE needs --format csv, json or parquet")
        shown = table.slice(0, max_rows)
        # keyed by unique names: a repeated column name (SELECT k.*, f.*) shows as name_1, as in JSON
        render_rows(
            arrow_records(shown), OutputFormat.table, columns=unique_names(table.column_names), header_if_empty=True
        )
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
        SqlFormat,
        typer.Option(
            "--format", "-f", parser=choice_parser(SqlFormat), help="table, csv, json (stdout or -o) or parquet (-o)."
        ),
    ] = SqlFormat.table,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the result to this file instead of stdout (- is stdout)."),
    ] = None,
    max_rows: Annotated[
        int, typer.Option("--max-rows", **in_range(int, min=1), help="Rows shown by --format table.")
    ] = 100,
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

    Tables: customer_branch_movement, customers, branch_kpi_timeseries,
    branch_features, zone_visits, queue_visits, queue_lengths (views over the
    Parquet files), branches, employees, tasks, events, promotions, zones (from
    the YAML config). Only SELECT / WITH / FROM / VALUES / DESCRIBE / SHOW /
    SUMMARIZE / EXPLAIN and the reporting PRAGMAs (table_info, show_tables,
    ...) are accepted, and the query cannot read files outside the data
    directory's Parquet folders (docs/sql.md).

    Example: retail-intel sql "SELECT branch_id, count(*) FROM customer_branch_movement GROUP BY 1"
    """
    from retail_intel.sqlviews import export_database, query, view_statements

    given = [
        name
        for name, on in (
            ("a SQL statement", statement is not None),
            ("--print-views", print_views),
            ("--export-db", export_db is not None),
        )
        if on
    ]
    if len(given) > 1:  # one of them would be dropped without a word
        raise InputError(f"give one of a SQL statement, --print-views or --export-db, got {' and '.join(given)}")
    if output is not None and (print_views or export_db is not None):
        raise InputError(
            f"-o {output} goes with a SQL statement; --print-views writes to stdout (> views.sql), "
            "--export-db to the file it names"
        )
    if print_views:
        statements, empty = view_statements(data_dir)
        sys.stdout.write("\n\n".join(statements) + "\n")
        for name in empty:
            err.print(f"[yellow]{name}: no Parquet files yet; printed an empty stand-in view[/yellow]")
        return
    if export_db is not None:
        result = export_database(config, data_dir, export_db, force=force, force_name="--force")
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
