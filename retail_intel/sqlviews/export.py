"""The same views for a user's own DuckDB session: SQL text or a database file.

``view_statements`` gives ``CREATE VIEW`` statements with absolute paths to
paste into any DuckDB shell; ``export_database`` writes a ``.duckdb`` file
holding those views plus copies of the metadata tables, so
``duckdb my.duckdb`` (or ``ATTACH``) opens everything at once. The views keep
pointing at the Parquet files, so new movement files show up there too.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from retail_intel.config.loader import load_config
from retail_intel.errors import DataError, InputError
from retail_intel.sqlviews.metadata import create_metadata_tables
from retail_intel.sqlviews.views import (
    CUSTOMERS_VIEW_SQL,
    create_view_sql,
    parquet_views,
    read_parquet_sql,
)


def _quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def empty_select_sql(schema: pa.Schema) -> str:
    """A zero-row ``SELECT`` with the columns and DuckDB types of ``schema``."""
    con = duckdb.connect(":memory:")
    try:
        relation = con.from_arrow(schema.empty_table())
        columns = [
            f"CAST(NULL AS {duck_type}) AS {_quote_identifier(name)}"
            for name, duck_type in zip(relation.columns, relation.types, strict=True)
        ]
    finally:
        con.close()
    return f"(SELECT {', '.join(columns)} WHERE false)"


def view_statements(data_dir: Path) -> tuple[list[str], list[str]]:
    """``CREATE VIEW`` statements for the Parquet views, and the views that are empty stand-ins.

    A folder with no Parquet file yet gets a typed empty view (DuckDB cannot
    create a view over a glob that matches nothing); run this again once data
    exists.
    """
    statements: list[str] = []
    empty: list[str] = []
    for view in parquet_views():
        if view.has_files(data_dir):
            source = read_parquet_sql([view.pattern(data_dir)])
        else:
            source = empty_select_sql(view.schema)
            empty.append(view.name)
        statements.append(create_view_sql(view.name, source))
    statements.append(CUSTOMERS_VIEW_SQL)
    return [s + ";" for s in statements], empty


@dataclass(frozen=True)
class ExportResult:
    path: Path
    tables: dict[str, int]  # metadata table -> rows copied
    views: list[str]
    empty_views: list[str]  # views that are empty stand-ins because no file existed


def export_database(
    config_dir: Path, data_dir: Path, target: Path, *, force: bool = False, force_name: str = "force"
) -> ExportResult:
    """Write a DuckDB database file with the views (absolute paths) and metadata tables.

    The file is built under a temporary name and renamed into place, so an
    existing export is replaced whole (only with ``force``) or left alone.
    ``force_name`` is what the caller calls ``force`` in messages (its flag: ``--force``).
    """
    if target.exists() and not force:
        raise InputError(f"{target} already exists; pass {force_name} to replace it")
    if target.exists() and target.is_dir():
        raise InputError(f"{target} is a directory; expected a .duckdb file name")
    config = load_config(config_dir)
    statements, empty = view_statements(data_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.unlink()  # DuckDB refuses to open an empty file as a database
    try:
        con = duckdb.connect(str(tmp))
        try:
            tables = create_metadata_tables(con, config)
            for statement in statements:
                con.execute(statement)
            con.execute("CHECKPOINT")
        finally:
            con.close()
        os.replace(tmp, target)
    except duckdb.Error as exc:
        raise DataError(f"{target}: cannot write the DuckDB database ({exc})") from exc
    finally:
        tmp.unlink(missing_ok=True)
        Path(str(tmp) + ".wal").unlink(missing_ok=True)
    views = [view.name for view in parquet_views()] + ["customers"]
    return ExportResult(path=target, tables=tables, views=views, empty_views=empty)
