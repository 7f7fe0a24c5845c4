"""The KPI endpoint's two caches: decoded KPI files, and encoded responses.

``/kpis/branch/{id}`` is the API's hot path, so it avoids work at two levels:

* each KPI file (one branch, one window size) is read once and kept as its
  rows, sorted by ``window_start`` and each already encoded as JSON; a page
  is then two binary searches and a slice of that list, cheap enough to
  build on the event loop;
* each response body is kept too, so a repeated request costs one ``stat``;
* and by the URL exactly as received, so :mod:`retail_intel.serve.fastpath`
  can answer a repeated URL before FastAPI parses anything. Such an answer
  also records the signature of the config it was checked against (the
  branch must still exist), and is used only while the config files on disk
  still have that signature.

All of them live in one :class:`~retail_intel.serve.bytecache.ByteLru`
bounded in bytes (``serve --cache-mb``), not in entries: answers range from
a few hundred bytes to megabytes.

All are keyed by the file's identity (inode, mtime, size). The KPI store
replaces a file by renaming a new one into place, which always changes that
identity, so nothing cached is ever served after the file changed: the next
request reads the new file. The file is read through one open handle whose
identity becomes the key, so the rows (and a body) are always exactly one
version of the file, never a mix.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from retail_intel.kpis.schema import KPI_SCHEMA
from retail_intel.serve import files
from retail_intel.serve.bytecache import ByteLru
from retail_intel.serve.errors import NotFound
from retail_intel.serve.jsonio import dumps, table_rows
from retail_intel.serve.settings import ServeSettings

DEFAULT_CACHE_BYTES = ServeSettings().cache_bytes

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


# (path, query string) of a request exactly as the server received them.
RawUrl = tuple[str, bytes]


@dataclass(frozen=True)
class _UrlAnswer:
    config: Hashable  # signature of the config files the request was checked against
    path: Path  # the KPI file the body was read from
    key: files.FileKey  # that file's identity then
    body: bytes


@dataclass(frozen=True)
class _Series:
    """One KPI file's rows of one branch and window size, ready to serve."""

    key: files.FileKey | None  # identity of the file version they were read from; None: no file
    starts: npt.NDArray[np.int64]  # window_start in microseconds, ascending, for binary search
    # window_end likewise: a file's windows follow each other without overlapping, so the ends ascend too
    ends: npt.NDArray[np.int64]
    rows: list[bytes]  # each row already encoded as a JSON object, same order

    def size(self) -> int:
        """Bytes held: the encoded rows with their object overhead, the list and the start and end times."""
        return (
            sum(map(sys.getsizeof, self.rows)) + sys.getsizeof(self.rows) + int(self.starts.nbytes + self.ends.nbytes)
        )


class KpiCache:
    """The three kinds of entries above, all in one :class:`ByteLru` (shared with the dashboard's pages)."""

    def __init__(self, data_dir: Path, *, cache: ByteLru | None = None) -> None:
        self.data_dir = data_dir
        self.cache = ByteLru(DEFAULT_CACHE_BYTES) if cache is None else cache

    def cached_response(self, request: KpiRequest) -> bytes | None:
        """The body for ``request`` without reading any file, or None if the KPI file has to be read.

        Cheap enough for the event loop: a ``stat``, and at most slicing a
        list of encoded rows when the file is known but this page is not.
        """
        path = files.kpi_file(self.data_dir, request.branch_id, request.window_minutes)
        key = None if path is None else files.file_key(path)
        if path is None or key is None:
            return None
        hit: tuple[files.FileKey, bytes] | None = self.cache.get(("response", request))
        if hit is not None and hit[0] == key:
            return hit[1]
        series: _Series | None = self.cache.get(("series", path))
        if series is None or series.key != key:
            return None
        return self._build(request, series)

    def response(self, request: KpiRequest) -> bytes:
        """Read the KPI file if needed and build the body; :class:`NotFound` if the KPIs were never computed."""
        return self._build(request, self._series(request.branch_id, request.window_minutes))

    def remember_url(self, url: RawUrl, request: KpiRequest, config: Hashable) -> None:
        """Let ``url`` be answered with the body just built or found for ``request``."""
        path = files.kpi_file(self.data_dir, request.branch_id, request.window_minutes)
        built: tuple[files.FileKey, bytes] | None = self.cache.get(("response", request))
        if path is None or built is None:
            return
        body = built[1]
        self.cache.put(("url", url), _UrlAnswer(config, path, built[0], body), sys.getsizeof(body) + len(url[1]))

    def answer_for_url(self, url: RawUrl, config: Hashable) -> bytes | None:
        """The body remembered for ``url`` if neither its KPI file nor the config (``config``, now) changed."""
        answer: _UrlAnswer | None = self.cache.get(("url", url))
        if answer is None or answer.config != config or files.file_key(answer.path) != answer.key:
            return None
        return answer.body

    def _build(self, request: KpiRequest, series: _Series) -> bytes:
        start_us = None if request.start is None else to_us(request.start)
        end_us = None if request.end is None else to_us(request.end)
        # windows overlapping [start, end), as `retail-intel kpis --from/--to` and read_kpis take them:
        # the first whose end is after start, up to the last that starts before end
        low = 0 if start_us is None else int(np.searchsorted(series.ends, start_us, side="right"))
        high = len(series.rows) if end_us is None else int(np.searchsorted(series.starts, end_us, side="left"))
        total = max(0, high - low)
        first = low + min(request.offset, total)
        page = series.rows[first : min(high, first + request.limit)]
        following = request.offset + len(page)
        head: dict[str, Any] = {
            "branch_id": request.branch_id,
            "window_minutes": request.window_minutes,
            "start": request.start,
            "end": request.end,
            "total": total,
            "offset": request.offset,
            "limit": request.limit,
            "next_offset": following if following < total else None,
        }
        # The rows are spliced in already encoded: the same bytes dumps() would write.
        body = dumps(head)[:-1] + b',"rows":[' + b",".join(page) + b"]}"
        if series.key is not None:  # an empty series has no file whose change would outdate it
            self.cache.put(("response", request), (series.key, body), sys.getsizeof(body))
        return body

    def _series(self, branch_id: str, window_minutes: int) -> _Series:
        path = files.kpi_file(self.data_dir, branch_id, window_minutes)
        key = None if path is None else files.file_key(path)
        if path is not None and key is not None:
            known: _Series | None = self.cache.get(("series", path))
            if known is not None and known.key == key:
                return known
        snapshot = None if path is None else files.read_snapshot(path)
        if path is not None and snapshot is None and path.parent.is_dir():
            # This window size was computed, and the branch (configured: the route checked) had no
            # movements then, so the KPI writer left it no file: its series is empty, not missing.
            return _Series(None, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), [])
        if path is None or snapshot is None:
            computed = files.kpi_windows(self.data_dir, branch_id)
            listed = ", ".join(f"{m}m" for m in computed) or "none yet"
            raise NotFound(
                f"no {window_minutes}-minute KPIs for branch {branch_id!r} (computed windows: {listed}); "
                f"run retail-intel kpis --window {window_minutes}m"
            )
        read_key, raw = snapshot
        table = _kpi_table(raw, branch_id, window_minutes)
        starts = table.column("window_start").cast(pa.int64()).to_numpy()
        ends = table.column("window_end").cast(pa.int64()).to_numpy()
        series = _Series(read_key, starts, ends, [dumps(row) for row in table_rows(table)])
        # Too big for the whole ceiling: served, but read again next time rather than kept.
        self.cache.put(("series", path), series, series.size())
        return series


def _kpi_table(raw: pa.Table, branch_id: str, window_minutes: int) -> pa.Table:
    """The file's rows of this branch and window size, as :data:`KPI_SCHEMA`, by window_start."""
    table = files.conform(raw, KPI_SCHEMA, what=f"KPI file of branch {branch_id!r} ({window_minutes}m)")
    mask = pc.and_(pc.equal(table["branch_id"], branch_id), pc.equal(table["window_minutes"], window_minutes))
    return table.filter(mask).sort_by([("window_start", "ascending")])
