"""The KPI endpoint's two caches: decoded KPI files, and encoded responses.

``/kpis/branch/{id}`` is the API's hot path, so it avoids work at two levels:

* each KPI file (one branch, one window size) is read once and kept as an
  Arrow table sorted by ``window_start``; a time range is then two binary
  searches and a slice;
* each response body is kept too, so a repeated request costs one ``stat``.

Both are keyed by the file's identity (inode, mtime, size). The KPI store
replaces a file by renaming a new one into place, which always changes that
identity, so nothing cached is ever served after the file changed: the next
request reads the new file. The file is read through one open handle whose
identity becomes the key, so a table (and a body) is always exactly one
version of the file, never a mix.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from retail_intel.kpis.schema import KPI_SCHEMA
from retail_intel.serve import files
from retail_intel.serve.errors import NotFound
from retail_intel.serve.jsonio import dumps, table_rows

RESPONSE_ENTRIES = 4096
TABLE_ROWS = 2_000_000  # about 200 bytes a row: a few hundred MB at most

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def to_us(moment: dt.datetime) -> int:
    """An aware datetime as integer microseconds since the epoch."""
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


@dataclass(frozen=True)
class KpiRequest:
    """One page of one branch's KPI series, as asked for (already validated)."""

    branch_id: str
    window_minutes: int
    start: dt.datetime | None
    end: dt.datetime | None
    limit: int
    offset: int


@dataclass(frozen=True)
class _Series:
    key: files.FileKey
    table: pa.Table  # KPI_SCHEMA rows of one branch and window size, by window_start
    starts: npt.NDArray[np.int64]  # window_start in microseconds, for binary search


class KpiCache:
    def __init__(
        self,
        data_dir: Path,
        *,
        response_entries: int = RESPONSE_ENTRIES,
        table_rows_kept: int = TABLE_ROWS,
    ) -> None:
        self.data_dir = data_dir
        self._responses: OrderedDict[KpiRequest, tuple[files.FileKey, bytes]] = OrderedDict()
        self._tables: OrderedDict[Path, _Series] = OrderedDict()
        self._response_entries = response_entries
        self._table_rows_kept = table_rows_kept
        self._lock = threading.Lock()

    def cached_response(self, request: KpiRequest) -> bytes | None:
        """The body for ``request`` if it was built from the KPI file as it is now; cheap enough for the event loop."""
        path = files.kpi_file(self.data_dir, request.branch_id, request.window_minutes)
        key = None if path is None else files.file_key(path)
        with self._lock:
            hit = self._responses.get(request)
            if hit is None or key is None or hit[0] != key:
                return None
            self._responses.move_to_end(request)
            return hit[1]

    def response(self, request: KpiRequest) -> bytes:
        """Build (and cache) the body for ``request``; :class:`NotFound` if the KPIs were never computed."""
        series = self._series(request.branch_id, request.window_minutes)
        start_us = None if request.start is None else to_us(request.start)
        end_us = None if request.end is None else to_us(request.end)
        low = 0 if start_us is None else int(np.searchsorted(series.starts, start_us, side="left"))
        high = len(series.starts) if end_us is None else int(np.searchsorted(series.starts, end_us, side="left"))
        matching = series.table.slice(low, max(0, high - low))
        page = matching.slice(request.offset, request.limit)
        following = request.offset + page.num_rows
        body: dict[str, Any] = {
            "branch_id": request.branch_id,
            "window_minutes": request.window_minutes,
            "start": request.start,
            "end": request.end,
            "total": matching.num_rows,
            "offset": request.offset,
            "limit": request.limit,
            "next_offset": following if following < matching.num_rows else None,
            "rows": table_rows(page),
        }
        encoded = dumps(body)
        with self._lock:
            self._responses[request] = (series.key, encoded)
            self._responses.move_to_end(request)
            while len(self._responses) > self._response_entries:
                self._responses.popitem(last=False)
        return encoded

    def _series(self, branch_id: str, window_minutes: int) -> _Series:
        path = files.kpi_file(self.data_dir, branch_id, window_minutes)
        key = None if path is None else files.file_key(path)
        if path is not None and key is not None:
            with self._lock:
                known = self._tables.get(path)
                if known is not None and known.key == key:
                    self._tables.move_to_end(path)
                    return known
        snapshot = None if path is None else files.read_snapshot(path)
        if path is None or snapshot is None:
            computed = files.kpi_windows(self.data_dir, branch_id)
            listed = ", ".join(f"{m}m" for m in computed) or "none yet"
            raise NotFound(
                f"no {window_minutes}-minute KPIs for branch {branch_id!r} (computed windows: {listed}); "
                f"run retail-intel kpis --window {window_minutes}m"
            )
        read_key, raw = snapshot
        table = _kpi_table(raw, branch_id, window_minutes)
        series = _Series(read_key, table, table.column("window_start").cast(pa.int64()).to_numpy())
        with self._lock:
            self._tables[path] = series
            self._tables.move_to_end(path)
            while (
                len(self._tables) > 1 and sum(s.table.num_rows for s in self._tables.values()) > self._table_rows_kept
            ):
                self._tables.popitem(last=False)
        return series


def _kpi_table(raw: pa.Table, branch_id: str, window_minutes: int) -> pa.Table:
    """The file's rows of this branch and window size, as :data:`KPI_SCHEMA`, by window_start."""
    table = files.conform(raw, KPI_SCHEMA, what=f"KPI file of branch {branch_id!r} ({window_minutes}m)")
    mask = pc.and_(pc.equal(table["branch_id"], branch_id), pc.equal(table["window_minutes"], window_minutes))
    return table.filter(mask).sort_by([("window_start", "ascending")])
