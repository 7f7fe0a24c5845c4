"""The SQL the API runs: fixed text, every value a bound parameter.

Statements are assembled only from the constant fragments below; what a
client sends (ids, times, action types, cursors) travels as parameters and
the file lists come from :mod:`retail_intel.serve.files`, never from the
request. They run on a locked-down connection from
:func:`retail_intel.sqlviews.open_database`, which cannot read outside the
data directory or write anything.

Files replaced while a query runs: DuckDB opens a Parquet file by name more
than once during a query, so a file that a batch job replaces meanwhile (an
atomic rename) can make the query fail, and could in principle mix two
versions. So after each run the reader checks that every file it named still
has the identity (inode, mtime, size) it was listed with. Each file that
changed is then read whole through one open handle, which pins one version
of it, and the query runs again with those rows handed to DuckDB as an Arrow
table instead of by name. Every answer is thus read from one version of each
file, and a busy writer cannot starve a reader: each retry pins the files
that moved. A retry lists the store anew, and a pinned file listed as another
version than the one read is read again (``compact`` may have merged into a
month the days whose own files the new listing no longer holds).

A compacted month that holds a video whose own file is listed too (a
``compact`` or a re-processing half done) is read source by source and that
video's rows are left out: its own file wins (``retail_intel.movements.overlap``).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from retail_intel.errors import DataError
from retail_intel.movements.compacted import CompactedSource, compacted_sources, read_compacted
from retail_intel.movements.overlap import is_month_file, stale_copies
from retail_intel.movements.schema import MOVEMENT_SCHEMA
from retail_intel.serve.files import FileKey, conform, file_key, read_snapshot
from retail_intel.sqlviews.views import schema_file

# hive_partitioning=false: the folders are not key=value pairs. The zero-row
# schema file comes first in every file list, so it fixes the columns and
# their types; DuckDB matches the other files' columns to it by name. Only
# when a file lacks a column (written by an older version) is the query run
# again with union_by_name, which fills the gap with nulls but has to read
# every file's schema up front (three times slower over a thousand files).
_BY_NAME = "SELECT {columns} FROM read_parquet($files, hive_partitioning=false, union_by_name={union})"
_PINNED_TABLE = "pinned_rows"
_PINNED = "SELECT {columns} FROM " + _PINNED_TABLE
_AFTER = " AND (enter_time > $after_time OR (enter_time = $after_time AND customer_id > $after_id))"

# Runs before giving up: one more than the schema fallback and a round of
# pinning need, unless new files keep replacing old ones throughout.
_ATTEMPTS = 6

ListFiles = Callable[[], Sequence[tuple[str, FileKey]]]
# path -> the version read (None: it was gone) and its rows / a compacted month's rows by source
Pinned = dict[str, tuple[FileKey | None, pa.Table | None]]
Months = dict[str, tuple[FileKey | None, list[tuple[CompactedSource, pa.Table]]]]


class Reader:
    """Runs the API's statements on one shared locked-down connection, a cursor per statement."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con
        self._lock = threading.Lock()

    def close(self) -> None:
        self._con.close()

    def _run(self, sql: str, params: dict[str, Any], pinned: pa.Table | None) -> pa.Table:
        with self._lock:  # creating cursors is the only step that touches shared state
            cursor = self._con.cursor()
        try:
            if pinned is not None:
                cursor.register(_PINNED_TABLE, pinned)  # visible to this cursor only
            table: pa.Table = cursor.sql(sql, params=params).to_arrow_table()
            return table
        finally:
            cursor.close()

    def _query(self, tail: str, list_files: ListFiles, params: dict[str, Any], schema: pa.Schema) -> pa.Table:
        """``SELECT <schema columns> FROM <the listed files> WHERE true<tail>``, from one version of each file."""
        columns = ", ".join(schema.names)
        placeholder = str(schema_file(schema))
        pinned: Pinned = {}
        months: Months = {}  # compacted months read, by source
        union = False
        for _ in range(_ATTEMPTS):
            listed = _without_stale_copies(list(list_files()))
            _pin_again(listed, pinned, months, schema)
            own = _pin_shadowed_months(listed, months, schema)
            by_name = [(path, key) for path, key in listed if path not in pinned and path not in months]
            held = [table for path, _ in listed if (table := pinned.get(path, (None, None))[1]) is not None]
            # a source in its month and in its own file: its own file wins (retail_intel.movements.overlap)
            held += [t for path, _ in listed for s, t in months.get(path, (None, []))[1] if s.key not in own]
            if not by_name and not held:
                return schema.empty_table()
            sources = []
            if by_name:
                sources.append(_BY_NAME.format(columns=columns, union="true" if union else "false"))
            if held:
                sources.append(_PINNED.format(columns=columns))
            sql = f"SELECT {columns} FROM ({' UNION ALL '.join(sources)}) WHERE true{tail}"
            run_params = {**params, "files": [placeholder, *(path for path, _ in by_name)]} if by_name else params
            try:
                table = self._run(sql, run_params, pa.concat_tables(held) if held else None)
            except duckdb.Error as exc:
                if not union and isinstance(exc, duckdb.InvalidInputException) and "schema mismatch" in str(exc):
                    union = True
                    continue
                if not _pin_changed(by_name, pinned, months, schema):
                    raise DataError(f"could not read the data directory: {exc}") from exc
                continue
            if not _pin_changed(by_name, pinned, months, schema):
                return table
        raise DataError("could not read the data directory: its files kept changing while they were read")

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
        tail = ""
        params: dict[str, Any] = {"limit": limit}
        if branch_id is not None:
            tail += " AND branch_id = $branch"
            params["branch"] = branch_id
        if start is not None:
            tail += " AND enter_time >= $start"
            params["start"] = start
        if end is not None:
            tail += " AND enter_time < $end"
            params["end"] = end
        if action_type is not None:
            tail += " AND action_type = $action"
            params["action"] = action_type
        if after is not None:
            tail += _AFTER
            params["after_time"], params["after_id"] = after
        tail += " ORDER BY enter_time, customer_id LIMIT $limit"
        return self._query(tail, list_files, params, MOVEMENT_SCHEMA)

    def customer(self, list_files: ListFiles, customer_id: str, limit: int) -> pa.Table:
        """Every movement of one person (at most ``limit``), by enter_time."""
        tail = " AND customer_id = $customer ORDER BY enter_time, branch_id LIMIT $limit"
        return self._query(tail, list_files, {"customer": customer_id, "limit": limit}, MOVEMENT_SCHEMA)


def _without_stale_copies(listed: list[tuple[str, FileKey]]) -> list[tuple[str, FileKey]]:
    """``listed`` without the older file of a source listed twice (a writer killed before removing it)."""
    keys = {Path(path): key for path, key in listed}
    stale = stale_copies(list(keys), keys.get)
    return [(path, key) for path, key in listed if Path(path) not in stale] if stale else listed


def _read_month(path: str, schema: pa.Schema) -> tuple[FileKey | None, list[tuple[CompactedSource, pa.Table]]]:
    """A compacted month, source by source, and the version listed just before it was read: one that
    changes meanwhile is listed with another version next time, and read again then."""
    return file_key(Path(path)), read_compacted(Path(path), schema)


def _pin_snapshot(path: str, schema: pa.Schema) -> tuple[FileKey | None, pa.Table | None]:
    snapshot = read_snapshot(Path(path))
    if snapshot is None:
        return None, None
    return snapshot[0], conform(snapshot[1], schema, what=Path(path).name)


def _pin_again(listed: Sequence[tuple[str, FileKey]], pinned: Pinned, months: Months, schema: pa.Schema) -> None:
    """Read again each pinned file now listed as another version than the one read.

    A retry lists the store anew: ``compact`` may have merged more days into a
    month read before (their own files are gone from the listing now), or a file
    read as gone may be back. The old version read would lose those rows.
    """
    for path, key in listed:
        if path in months and months[path][0] != key:
            months[path] = _read_month(path, schema)
        elif path in pinned and pinned[path][0] != key:
            pinned[path] = _pin_snapshot(path, schema)


def _pin_shadowed_months(listed: Sequence[tuple[str, FileKey]], months: Months, schema: pa.Schema) -> set[str]:
    """Read into ``months`` each listed compacted month that holds a source with its own file listed too
    (a ``compact`` or a re-processing half done); returns the keys of the sources with their own file."""
    own = {Path(path).stem for path, _ in listed if not is_month_file(Path(path))}
    for path, _ in listed:
        if path in months or not is_month_file(Path(path)):
            continue
        try:
            shadowed = any(s.key in own for s in compacted_sources(Path(path)))
        except DataError:
            shadowed = False  # gone or not ours: read by name, which reports it
        if shadowed:
            months[path] = _read_month(path, schema)
    return own


def _pin_changed(
    listed: Sequence[tuple[str, FileKey]],
    pinned: Pinned,
    months: Months,
    schema: pa.Schema,
) -> bool:
    """Read every listed file whose identity changed through one handle into ``pinned`` (a compacted
    month into ``months``, source by source, so that its sources can still be told apart); True if any did."""
    changed = False
    for path, key in listed:
        if file_key(Path(path)) == key:
            continue
        changed = True
        if is_month_file(Path(path)):
            months[path] = _read_month(path, schema)
            continue
        pinned[path] = _pin_snapshot(path, schema)
    return changed
