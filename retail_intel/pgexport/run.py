"""Copy the Parquet tables into PostgreSQL: COPY into a staging table, then one upsert.

Per table, in one transaction: create the table if missing (columns from the
Arrow schema constant, primary key from :mod:`retail_intel.pgexport.tables`),
stream the Parquet rows (read by DuckDB, which lines up files written before a
column existed) as CSV into a temporary staging table with ``COPY FROM
STDIN``, then ``INSERT ... SELECT ... ON CONFLICT (key) DO UPDATE`` where a
value differs. A second export of the same data therefore inserts and updates
nothing; an export that fails part-way leaves that table as it was.

CSV rather than row-by-row binary COPY because Arrow's C++ CSV writer turns a
100,000-row batch into bytes without a Python loop: the export runs at the
speed of the server's COPY, not of the client.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, cast

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv

from retail_intel.datadir import require_retail_data
from retail_intel.errors import DatabaseError, DataError
from retail_intel.naming import CallerNames
from retail_intel.pgexport.connect import check_url, connect, redact_url, scrub
from retail_intel.pgexport.tables import (
    ExportTable,
    add_columns_sql,
    create_table_sql,
    quote_ident,
    select_tables,
    staging_sql_type,
    staging_type,
    upsert_sql,
)
from retail_intel.sqlviews.database import duckdb_message, refuse_foreign_files
from retail_intel.sqlviews.views import ParquetView, read_parquet_sql, schema_file

if TYPE_CHECKING:
    import psycopg

BATCH_ROWS = 100_000
STAGING = "retail_intel_staging"

# (table name, rows sent so far, rows to send)
ProgressFn = Callable[[str, int, int], None]


@dataclass(frozen=True)
class TableExport:
    name: str
    rows: int  # rows read from Parquet and sent
    inserted: int
    updated: int

    @property
    def unchanged(self) -> int:
        return self.rows - self.inserted - self.updated


@dataclass
class ExportResult:
    url: str  # redacted
    since: dt.datetime | None
    tables: list[TableExport] = field(default_factory=list)


class _Source:
    """The Parquet rows of one table (optionally from ``since`` on), read by DuckDB in batches."""

    def __init__(self, table: ExportTable, data_dir: Path, since: dt.datetime | None) -> None:
        self.table = table
        self.con = duckdb.connect(":memory:")
        self.con.execute("SET TimeZone = 'UTC'")
        # The schema file first: every column exists even if no file has it yet.
        self.pattern = table.pattern(data_dir)
        paths = [str(schema_file(table.schema)), self.pattern]
        source = read_parquet_sql(paths, union_by_name=True)
        columns = ", ".join(quote_ident(f.name) for f in table.schema)
        self.where = f" WHERE {quote_ident(table.time_column)} >= $since" if since is not None else ""
        self.sql = f"SELECT {columns} FROM {source}{self.where}"
        self.params = {"since": since} if since is not None else {}
        self.sent_schema = pa.schema([pa.field(f.name, staging_type(f)) for f in table.schema])

    def count(self) -> int:
        rows = self.con.execute(f"SELECT count(*) FROM ({self.sql})", self.params).fetchall()
        return int(rows[0][0])

    def repeated_key(self) -> tuple[str, list[str]] | None:
        """One key that more than one row holds (as text) and the files holding it, or None.

        Checked here, not left to the upsert: PostgreSQL refuses a key twice in one upsert only
        when both rows change the stored row, so a copy of a file read after its original (or an
        identical copy) into a table that already holds the rows went through unnoticed.
        """
        keys = ", ".join(quote_ident(k) for k in self.table.key)
        shown = " || ', ' || ".join(f"CAST({quote_ident(k)} AS VARCHAR)" for k in self.table.key)
        source = read_parquet_sql([self.pattern], union_by_name=True, filename=True)
        rows = self.con.execute(
            f"SELECT {shown}, list(DISTINCT filename ORDER BY filename) FROM {source}{self.where} "
            f"GROUP BY {keys} HAVING count(*) > 1 ORDER BY {keys} LIMIT 1",  # the same key named on every run
            self.params,
        ).fetchall()
        return (str(rows[0][0]), [str(f) for f in rows[0][1]]) if rows else None

    def batches(self) -> Iterator[pa.RecordBatch]:
        relation = self.con.sql(self.sql, params=self.params)
        # to_arrow_reader is DuckDB 2's name; older releases only have fetch_arrow_reader.
        to_reader = getattr(relation, "to_arrow_reader", None) or relation.fetch_arrow_reader
        reader: pa.RecordBatchReader = to_reader(BATCH_ROWS)
        for batch in reader:
            # Through the schema constant first (a file's int32 that should be int64, ...), then as sent.
            yield batch.cast(self.table.schema).cast(self.sent_schema)

    def close(self) -> None:
        self.con.close()


_CSV_OPTIONS = pacsv.WriteOptions(include_header=False, batch_size=BATCH_ROWS)


def _csv_bytes(batch: pa.RecordBatch) -> bytes:
    # Arrow quotes every string and leaves nulls unquoted and empty, which is
    # exactly how PostgreSQL's CSV format tells '' from NULL.
    buffer = io.BytesIO()
    pacsv.write_csv(batch, buffer, _CSV_OPTIONS)
    return buffer.getvalue()


def _export_table(
    conn: psycopg.Connection[tuple[object, ...]],
    table: ExportTable,
    source: _Source,
    total: int,
    progress: ProgressFn | None,
) -> TableExport:
    columns = ", ".join(quote_ident(f.name) for f in table.schema)
    staging_columns = ", ".join(f"{quote_ident(f.name)} {staging_sql_type(f)}" for f in table.schema)
    sent = 0
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(create_table_sql(table))  # identifiers from the schema constants
        for statement in add_columns_sql(table):
            cur.execute(statement)
        if total == 0:
            return TableExport(table.name, 0, 0, 0)
        cur.execute(f"CREATE TEMP TABLE {STAGING} ({staging_columns}) ON COMMIT DROP")
        with cur.copy(f"COPY {STAGING} ({columns}) FROM STDIN (FORMAT csv)") as copy:
            for batch in source.batches():
                copy.write(_csv_bytes(batch))
                sent += batch.num_rows
                if progress is not None:
                    progress(table.name, sent, total)
        cur.execute(upsert_sql(table, STAGING))
        counts = cast("tuple[int, int] | None", cur.fetchone())  # the upsert returns (inserted, updated)
    inserted, updated = (int(counts[0]), int(counts[1])) if counts else (0, 0)
    return TableExport(table.name, sent, inserted, updated)


def export_to_postgres(
    data_dir: Path,
    url: str,
    *,
    since: dt.datetime | None = None,
    tables: list[str] | None = None,
    progress: ProgressFn | None = None,
    names: Mapping[str, str] | None = None,
) -> ExportResult:
    """Upsert the data directory's movements and KPIs into the PostgreSQL database at ``url``.

    ``since`` keeps rows whose time column (movements: ``enter_time``, KPIs:
    ``window_start``) is at or after it; ``tables`` picks tables by name.
    Raises :class:`DatabaseError` (server unreachable, authentication,
    permissions, a rejected statement; never showing the password) and
    :class:`DataError` (data directory problems, a key that repeats).
    ``names`` say what the caller calls ``url`` and ``tables`` in messages
    (its flags: ``{"url": "--to"}``); a parameter left out is named as it is here.
    """
    named = CallerNames(names)
    check_url(url, named("url"))  # also says what to install when psycopg is missing
    import psycopg

    chosen = select_tables(tables, named("tables"))
    # A wrong directory (the config folder, a typo'd mount) would export 0 rows and exit 0: a quiet day to a cron job.
    require_retail_data(data_dir)
    result = ExportResult(url=redact_url(url), since=since)
    conn = connect(url)
    try:
        for table in chosen:
            source = _Source(table, data_dir, since)
            try:
                total = 0
                if table.files(data_dir):
                    # a foreign Parquet file (no customer_id, ...) would add all-null rows, and fail a NOT NULL cast
                    view = ParquetView(table.name, table.subdir, table.glob, table.schema)
                    refuse_foreign_files(source.con, view, data_dir)
                    total = source.count()
                    repeated = source.repeated_key()
                    if repeated is not None:
                        key, holders = repeated
                        raise DataError(
                            f"{table.name}: the same key ({', '.join(table.key)}) appears on more than one row of "
                            f"the Parquet files: {key} in {', '.join(holders)}; move the extra copy out of the "
                            "data directory; nothing was written to this table"
                        )
                result.tables.append(_export_table(conn, table, source, total, progress))
            except duckdb.Error as exc:
                # DuckDB's first line names the file; its "LINE 1:" excerpt of the query would add lines
                raise DataError(
                    f"{table.name}: cannot read the Parquet files under {data_dir} ({duckdb_message(exc)}); "
                    "nothing was written to this table"
                ) from exc
            except psycopg.errors.CardinalityViolation:
                keys = ", ".join(table.key)
                raise DataError(
                    f"{table.name}: the same key ({keys}) appears on more than one row of the Parquet files; "
                    "nothing was written to this table"
                ) from None
            except psycopg.Error as exc:
                raise DatabaseError(
                    f"{table.name}: {scrub(str(exc), url)} (nothing was written to this table)"
                ) from None
            finally:
                source.close()
    finally:
        conn.close()
    return result
