"""Which Parquet tables go to PostgreSQL, under which names and keys, and their DDL.

The list is data: one :class:`ExportTable` per table. The names are the
seed's (the same as the DuckDB views of :mod:`retail_intel.sqlviews`), the
columns come from each table's one Arrow schema constant, and the key is what
makes a row the same row on the next export (the upsert's conflict target).
Adding a table is one more entry in :func:`export_tables`, as the zone
visits (``zone_visits/<branch>/<day>/``, ZONE_VISIT_SCHEMA) are.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from retail_intel.errors import DataError
from retail_intel.movements.schema import MOVEMENT_SCHEMA
from retail_intel.movements.zone_schema import ZONE_VISIT_SCHEMA
from retail_intel.movements.zone_store import ZONE_VISITS_DIR
from retail_intel.sqlviews.views import KPI_VIEW, MOVEMENT_VIEW, kpi_schema, visible_files_glob
from retail_intel.storage import KPIS_DIR, MOVEMENTS_DIR


@dataclass(frozen=True)
class ExportTable:
    """``<data_dir>/<subdir>/<glob>`` Parquet files exported as PostgreSQL table ``name``."""

    name: str
    subdir: str
    glob: str
    schema: pa.Schema
    key: tuple[str, ...]  # primary key in PostgreSQL: repeated exports update, never duplicate
    time_column: str  # what --since compares against

    def pattern(self, data_dir: Path) -> str:
        """The DuckDB glob of :meth:`files`: names starting with '.' skipped, the folder's glob characters escaped."""
        return visible_files_glob(data_dir.resolve() / self.subdir, self.glob)

    def files(self, data_dir: Path) -> list[Path]:
        root = data_dir / self.subdir
        if not root.is_dir():
            return []
        return sorted(p for p in root.glob(self.glob) if not p.name.startswith("."))


def export_tables() -> tuple[ExportTable, ...]:
    return (
        # customer_id is unique in the store: deterministic per video, camera and person, and ingest refuses repeats.
        ExportTable(MOVEMENT_VIEW, MOVEMENTS_DIR, "*/*/*.parquet", MOVEMENT_SCHEMA, ("customer_id",), "enter_time"),
        ExportTable(
            KPI_VIEW,
            KPIS_DIR,
            "*/*.parquet",
            kpi_schema(),
            ("branch_id", "window_minutes", "window_start"),
            "window_start",
        ),
        # a person's visits to one zone differ in enter_time; the view has the folder's name
        ExportTable(
            ZONE_VISITS_DIR,
            ZONE_VISITS_DIR,
            "*/*/*.parquet",
            ZONE_VISIT_SCHEMA,
            ("customer_id", "zone_id", "enter_time"),
            "enter_time",
        ),
    )


def select_tables(names: list[str] | None, name: str = "tables") -> tuple[ExportTable, ...]:
    """The tables called ``names`` (all of them for None), or :class:`DataError` naming the known ones.

    ``name`` is what the caller calls ``names`` in messages (its flag: ``--table``)."""
    tables = export_tables()
    if not names:
        return tables
    by_name = {t.name: t for t in tables}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise DataError(f"{name}: expected one of {', '.join(by_name)}, got {', '.join(unknown)}")
    return tuple(by_name[n] for n in dict.fromkeys(names))  # a name given twice is exported once


# Arrow type -> PostgreSQL type; anything else is refused (a schema constant grew a type nobody mapped).
_PG_TYPES: dict[pa.DataType, str] = {
    pa.string(): "text",
    pa.large_string(): "text",
    pa.bool_(): "boolean",
    pa.int8(): "smallint",
    pa.int16(): "smallint",
    pa.int32(): "integer",
    pa.int64(): "bigint",
    pa.float32(): "real",
    pa.float64(): "double precision",
    pa.date32(): "date",
}


def pg_type(field: pa.Field) -> str:
    kind = field.type
    if pa.types.is_timestamp(kind):
        return "timestamptz" if kind.tz is not None else "timestamp"
    try:
        return _PG_TYPES[kind]
    except KeyError:
        raise DataError(f"column {field.name}: no PostgreSQL type for Arrow type {kind}") from None


# Timestamps travel as integer microseconds since the epoch: Arrow's CSV
# writer formats a zoned timestamp about 7x slower than an int64, which made
# formatting, not the server, the slowest step. The upsert turns them back.
def staging_type(field: pa.Field) -> pa.DataType:
    """The Arrow type a column is sent as (and staged in PostgreSQL as, see :func:`staging_sql_type`)."""
    return pa.int64() if pa.types.is_timestamp(field.type) else field.type


def staging_sql_type(field: pa.Field) -> str:
    return "bigint" if pa.types.is_timestamp(field.type) else pg_type(field)


def from_staging(field: pa.Field) -> str:
    """The SQL expression that reads ``field`` back from its staging column."""
    column = quote_ident(field.name)
    if pa.types.is_timestamp(field.type):
        epoch = "timestamptz 'epoch'" if field.type.tz is not None else "timestamp 'epoch'"
        return f"{epoch} + {column} * interval '1 microsecond'"
    return column


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def create_table_sql(table: ExportTable) -> str:
    """``CREATE TABLE IF NOT EXISTS`` with the schema's columns, NOT NULLs and the key."""
    columns = [f"{quote_ident(f.name)} {pg_type(f)}{'' if f.nullable else ' NOT NULL'}" for f in table.schema]
    columns.append(f"PRIMARY KEY ({', '.join(quote_ident(k) for k in table.key)})")
    body = ",\n    ".join(columns)
    return f"CREATE TABLE IF NOT EXISTS {quote_ident(table.name)} (\n    {body}\n)"


def add_columns_sql(table: ExportTable) -> list[str]:
    """One ``ADD COLUMN IF NOT EXISTS`` per column: a table made by an older version gains the new ones."""
    return [
        f"ALTER TABLE {quote_ident(table.name)} ADD COLUMN IF NOT EXISTS {quote_ident(f.name)} {pg_type(f)}"
        for f in table.schema
    ]


def upsert_sql(table: ExportTable, staging: str) -> str:
    """Insert the staged rows; a row whose key exists is updated only where a value differs.

    Returns one row: (inserted, updated). xmax is 0 exactly for freshly
    inserted tuples, which is how PostgreSQL tells the two apart.
    """
    names = [quote_ident(f.name) for f in table.schema]
    others = [quote_ident(f.name) for f in table.schema if f.name not in table.key]
    target = quote_ident(table.name)
    listed = ", ".join(names)
    staged = ", ".join(from_staging(f) for f in table.schema)
    conflict = ", ".join(quote_ident(k) for k in table.key)
    if others:
        assignments = ", ".join(f"{c} = EXCLUDED.{c}" for c in others)
        current = ", ".join(f"{target}.{c}" for c in others)
        incoming = ", ".join(f"EXCLUDED.{c}" for c in others)
        action = f"DO UPDATE SET {assignments} WHERE ({current}) IS DISTINCT FROM ({incoming})"
    else:
        action = "DO NOTHING"
    return (
        f"WITH written AS (INSERT INTO {target} ({listed}) SELECT {staged} FROM {staging} "
        f"ON CONFLICT ({conflict}) {action} RETURNING (xmax = 0) AS inserted) "
        "SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM written"
    )
