"""SQL text of the views over the Parquet data directory.

``customer_branch_movement`` reads every movement file and
``branch_kpi_timeseries`` every KPI file, ``branch_features`` every hourly feature
file (``retail-intel etl``); ``customers`` aggregates the movement
view to one row per person. The Parquet views name a glob, not a file list, so
DuckDB looks for files again on every query and files written after the view
was created show up without reopening anything.

The glob skips file names starting with '.' (a macOS ``._x.parquet``, a file
kept aside), as :func:`retail_intel.storage.parquet_files` does for every other
reader, and the data directory's own glob characters are escaped, so a folder
called ``store [12]`` is read as named.

A glob that matches nothing is an error in DuckDB, so each view also reads a
zero-row "schema file" holding the expected columns: it keeps the column list
stable and lets an almost empty data directory still be queried. The schema
files live in a private temporary folder of this process, never in the data
directory (which may be read-only).
"""

from __future__ import annotations

import atexit
import hashlib
import re
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from retail_intel.movements.schema import MOVEMENT_SCHEMA
from retail_intel.storage import FEATURES_DIR, KPIS_DIR, MOVEMENTS_DIR, atomic_write_table

MOVEMENT_VIEW = "customer_branch_movement"
KPI_VIEW = "branch_kpi_timeseries"
CUSTOMER_VIEW = "customers"
FEATURE_VIEW = "branch_features"

# Used only when the KPI engine's schema module is absent: the columns every
# KPI row has whatever else it carries, so the view exists and can be joined.
_FALLBACK_KPI_SCHEMA = pa.schema(
    [
        pa.field("branch_id", pa.string()),
        pa.field("window_start", pa.timestamp("us", tz="UTC")),
        pa.field("window_end", pa.timestamp("us", tz="UTC")),
        pa.field("window_minutes", pa.int32()),
    ]
)


def kpi_schema() -> pa.Schema:
    """The KPI engine's Parquet schema, or a minimal stand-in if it is not installed."""
    try:
        from retail_intel.kpis.schema import KPI_SCHEMA
    except ImportError:
        return _FALLBACK_KPI_SCHEMA
    schema: pa.Schema = KPI_SCHEMA
    return schema


@dataclass(frozen=True)
class ParquetView:
    """A view over ``<data_dir>/<subdir>/<glob>`` with columns of ``schema``."""

    name: str
    subdir: str
    glob: str
    schema: pa.Schema

    def root(self, data_dir: Path) -> Path:
        return data_dir.resolve() / self.subdir

    def pattern(self, data_dir: Path) -> str:
        return visible_files_glob(self.root(data_dir), self.glob)

    def files(self, data_dir: Path) -> list[Path]:
        """The data files the view reads now (its glob, names starting with '.' left out), sorted."""
        root = self.root(data_dir)
        return sorted(p for p in root.glob(self.glob) if not p.name.startswith(".")) if root.is_dir() else []

    def has_files(self, data_dir: Path) -> bool:
        root = self.root(data_dir)
        return root.is_dir() and any(not p.name.startswith(".") for p in root.glob(self.glob))


def escape_glob(text: str) -> str:
    """``text`` matched literally by a DuckDB glob: each of ``[ * ?`` becomes a one-character class."""
    return re.sub(r"([\[*?])", r"[\1]", text)


def visible_files_glob(root: Path, glob: str) -> str:
    """A DuckDB glob for ``glob`` under the literal folder ``root``, skipping file names that start with '.'.

    DuckDB's ``*`` matches a leading dot; ``[!.]`` in front of the last part
    does not, and costs nothing measurable: the folders are listed either way.
    """
    folders, _, name = glob.rpartition("/")
    return "/".join(part for part in (escape_glob(str(root)), folders, "[!.]" + name) if part)


def zone_views() -> tuple[ParquetView, ...]:
    """zone_visits, queue_visits and queue_lengths: one view per zone table, named as its folder."""
    from retail_intel.movements.zone_store import ZONE_TABLES

    return tuple(ParquetView(kind, kind, "*/*/*.parquet", schema) for kind, schema in ZONE_TABLES.items())


# The columns that make a file one of a view's files: a file without them in
# the view's folder is foreign and must not add all-null rows to the view.
_IDENTIFYING = {
    MOVEMENTS_DIR: ("customer_id", "branch_id", "action_type", "enter_time", "exit_time"),
    KPIS_DIR: ("branch_id", "window_start", "window_end", "window_minutes"),
    FEATURES_DIR: ("branch_id", "window_start", "local_date"),
}


def foreign_files_sql(view: ParquetView, data_dir: Path) -> str:
    """A query listing (file, columns it has of the identifying ones) for files of ``view`` lacking some.

    DuckDB's ``parquet_schema`` reads only the footers, in parallel: far
    cheaper than the query that follows, even over thousands of files.
    """
    wanted = identifying_columns(view)
    names = ", ".join(sql_string(name) for name in wanted)
    return (
        f"SELECT file_name, list(name) FILTER (WHERE name IN ({names})) AS present "
        f"FROM parquet_schema({sql_string(view.pattern(data_dir))}) GROUP BY file_name "
        f"HAVING count(DISTINCT name) FILTER (WHERE name IN ({names})) < {len(wanted)} ORDER BY file_name LIMIT 1"
    )


def identifying_columns(view: ParquetView) -> tuple[str, ...]:
    """The view's identifying columns; for tables not listed above, every non-nullable column of its schema."""
    listed = _IDENTIFYING.get(view.subdir)
    return listed if listed is not None else tuple(f.name for f in view.schema if not f.nullable)


def parquet_views() -> tuple[ParquetView, ...]:
    from retail_intel.etl.schema import FEATURE_SCHEMA

    return (
        ParquetView(MOVEMENT_VIEW, MOVEMENTS_DIR, "*/*/*.parquet", MOVEMENT_SCHEMA),
        ParquetView(KPI_VIEW, KPIS_DIR, "*/*.parquet", kpi_schema()),
        # The hourly feature table written by ``retail-intel etl``.
        ParquetView(FEATURE_VIEW, FEATURES_DIR, "hourly/*.parquet", FEATURE_SCHEMA),
        *zone_views(),
    )


def sql_string(value: str) -> str:
    """A SQL string literal (single quotes doubled)."""
    return "'" + value.replace("'", "''") + "'"


def read_parquet_sql(paths: list[str], *, union_by_name: bool = True, filename: bool = False) -> str:
    """A ``read_parquet`` call over ``paths`` (files or globs).

    hive_partitioning=false: the branch/date folders are not key=value pairs
    and must not turn into columns. union_by_name lines files up by column
    name, so files written before a column was added still read (as nulls);
    it costs a schema read of every file per query, so the in-process session
    starts without it and switches it on only if the files disagree.
    ``filename`` adds the column ``filename``: the file each row came from.
    """
    listed = ", ".join(sql_string(p) for p in paths)
    union = "true" if union_by_name else "false"
    extra = ", filename=true" if filename else ""
    return f"read_parquet([{listed}], hive_partitioning=false, union_by_name={union}{extra})"


def create_view_sql(name: str, source: str) -> str:
    return f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM {source}"


# n_branches is the length of the distinct list rather than count(DISTINCT ...),
# which costs a second hash table per group and doubles the time on big stores.
CUSTOMERS_VIEW_SQL = f"""CREATE OR REPLACE VIEW {CUSTOMER_VIEW} AS
SELECT
    customer_id, first_seen, last_seen, visits, passes, movements,
    branches, len(branches) AS n_branches, total_dwell_seconds
FROM (
    SELECT
        customer_id,
        min(first_seen) AS first_seen,
        max(last_seen) AS last_seen,
        count(*) FILTER (WHERE action_type = 'entered') AS visits,
        count(*) FILTER (WHERE action_type = 'passed') AS passes,
        count(*) AS movements,
        list_sort(list_distinct(list(branch_id))) AS branches,
        coalesce(sum(dwell_seconds) FILTER (WHERE action_type = 'entered'), 0) AS total_dwell_seconds
    FROM {MOVEMENT_VIEW}
    GROUP BY customer_id
)"""


_schema_dir: Path | None = None
_schema_files: dict[str, Path] = {}
_schema_lock = threading.Lock()


def _schema_root() -> Path:
    global _schema_dir
    if _schema_dir is None or not _schema_dir.is_dir():
        _schema_dir = Path(tempfile.mkdtemp(prefix="retail-intel-sql-"))
        atexit.register(shutil.rmtree, _schema_dir, True)
    return _schema_dir


def schema_file(schema: pa.Schema) -> Path:
    """A zero-row Parquet file with ``schema``, written once per process (thread-safe)."""
    key = hashlib.sha256(schema.serialize().to_pybytes()).hexdigest()[:16]
    with _schema_lock:
        path = _schema_files.get(key)
        if path is None or not path.exists():
            path = _schema_root() / f"schema-{key}.parquet"
            atomic_write_table(schema.empty_table(), path)
            _schema_files[key] = path
        return path
