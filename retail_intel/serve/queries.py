"""The SQL the API runs: fixed text, every value a bound parameter.

Statements are assembled only from the constant fragments below; what a
client sends (ids, times, action types, cursors) travels as parameters and
the file lists come from :mod:`retail_intel.serve.files`, never from the
request. They run on a locked-down connection from
:func:`retail_intel.sqlviews.open_database`, which cannot read outside the
data directory or write anything.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Sequence
from typing import Any

import duckdb
import pyarrow as pa

from retail_intel.errors import DataError
from retail_intel.kpis.schema import KPI_COLUMNS, KPI_SCHEMA
from retail_intel.movements.schema import MOVEMENT_COLUMNS, MOVEMENT_SCHEMA
from retail_intel.sqlviews.views import schema_file

# hive_partitioning=false: the folders are not key=value pairs. The zero-row
# schema file comes first in every file list, so it fixes the columns and
# their types; DuckDB matches the other files' columns to it by name. Only
# when a file lacks a column (written by an older version) is the query run
# again with union_by_name, which fills the gap with nulls but has to read
# every file's schema up front (three times slower over a thousand files).
_SOURCE = "read_parquet($files, hive_partitioning=false, union_by_name=false)"
_SOURCE_UNION = "read_parquet($files, hive_partitioning=false, union_by_name=true)"
_KPI_SELECT = f"SELECT {', '.join(KPI_COLUMNS)} FROM {_SOURCE} WHERE branch_id = $branch AND window_minutes = $minutes"
_MOVEMENT_SELECT = f"SELECT {', '.join(MOVEMENT_COLUMNS)} FROM {_SOURCE} WHERE true"
_AFTER = " AND (enter_time > $after_time OR (enter_time = $after_time AND customer_id > $after_id))"

# A file can vanish between listing and reading when a writer replaces a
# source; listing again and re-running is enough, a few times at most.
_ATTEMPTS = 3

ListFiles = Callable[[], Sequence[str]]


class Reader:
    """Runs the API's statements on one shared locked-down connection, a cursor per statement."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con
        self._lock = threading.Lock()

    def close(self) -> None:
        self._con.close()

    def _run(self, sql: str, params: dict[str, Any]) -> pa.Table:
        with self._lock:  # creating cursors is the only step that touches shared state
            cursor = self._con.cursor()
        try:
            table: pa.Table = cursor.sql(sql, params=params).to_arrow_table()
            return table
        finally:
            cursor.close()

    def _query(self, sql: str, list_files: ListFiles, params: dict[str, Any], schema: pa.Schema) -> pa.Table:
        placeholder = str(schema_file(schema))
        for attempt in range(1, _ATTEMPTS + 1):
            files = list(list_files())
            if not files:
                return schema.empty_table()
            try:
                return self._run(sql, {**params, "files": [placeholder, *files]})
            except duckdb.InvalidInputException as exc:
                if _SOURCE not in sql or "schema mismatch" not in str(exc):
                    raise DataError(f"could not read the data directory: {exc}") from exc
                sql = sql.replace(_SOURCE, _SOURCE_UNION)
            except duckdb.IOException as exc:
                if attempt == _ATTEMPTS:
                    raise DataError(f"could not read the data directory: {exc}") from exc
            except duckdb.Error as exc:
                raise DataError(f"could not read the data directory: {exc}") from exc
        raise DataError("could not read the data directory: files kept changing while they were read")

    def kpis(self, list_files: ListFiles, branch_id: str, window_minutes: int) -> pa.Table:
        """Every KPI window of one branch and window size, by window_start."""
        params: dict[str, Any] = {"branch": branch_id, "minutes": window_minutes}
        return self._query(_KPI_SELECT + " ORDER BY window_start", list_files, params, KPI_SCHEMA)

    def movements(
        self,
        list_files: ListFiles,
        *,
        branch_id: str | None,
        start: dt.datetime | None,
        end: dt.datetime | None,
        action_type: str | None,
        after: tuple[dt.datetime, str] | None,
        limit: int,
    ) -> pa.Table:
        """Up to ``limit`` movements by (enter_time, customer_id), after the ``after`` key if given."""
        sql = _MOVEMENT_SELECT
        params: dict[str, Any] = {"limit": limit}
        if branch_id is not None:
            sql += " AND branch_id = $branch"
            params["branch"] = branch_id
        if start is not None:
            sql += " AND enter_time >= $start"
            params["start"] = start
        if end is not None:
            sql += " AND enter_time < $end"
            params["end"] = end
        if action_type is not None:
            sql += " AND action_type = $action"
            params["action"] = action_type
        if after is not None:
            sql += _AFTER
            params["after_time"], params["after_id"] = after
        sql += " ORDER BY enter_time, customer_id LIMIT $limit"
        return self._query(sql, list_files, params, MOVEMENT_SCHEMA)

    def customer(self, list_files: ListFiles, customer_id: str, limit: int) -> pa.Table:
        """Every movement of one person (at most ``limit``), by enter_time."""
        sql = _MOVEMENT_SELECT + " AND customer_id = $customer ORDER BY enter_time, branch_id LIMIT $limit"
        return self._query(sql, list_files, {"customer": customer_id, "limit": limit}, MOVEMENT_SCHEMA)
