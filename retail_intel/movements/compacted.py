"""Compacted files: one branch's month of a per-source table in one Parquet file.

The store writes one file per source video (``<kind>/<branch>/<YYYY-MM-DD>/<source>.parquet``),
so a year of eight cameras is tens of thousands of small files, and opening
them, not reading rows, becomes most of a KPI run (docs/kpis.md, "Compacting
the store"). ``retail-intel compact`` merges closed days into
``<kind>/<branch>/<YYYY-MM>/compacted.parquet``. The month folder sits where
day folders sit, so every reader that lists ``<kind>/*/*/*.parquet`` (SQL
views, the export, serve's index, the KPIs) reads it without change.

The file's schema metadata lists its sources in row order (key, day, rows),
so a source written again can be cut out of it: :func:`drop_compacted_source`
is called by every per-source write, which keeps "writing a source again
replaces it" true after compaction.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from retail_intel.errors import DataError
from retail_intel.locking import COMPACT_LOCK, data_dir_lock
from retail_intel.storage import FileVersion, atomic_write_table, file_version

COMPACTED_NAME = "compacted.parquet"
_SOURCES_KEY = b"retail_intel.compacted"
_MONTH = re.compile(r"^\d{4}-\d{2}$")


def is_month_folder(name: str) -> bool:
    """True for a compacted month's folder name (``YYYY-MM``), never a day folder's."""
    return _MONTH.fullmatch(name) is not None


@dataclass(frozen=True)
class CompactedSource:
    """One source inside a compacted file: its key, the day folder it came from, and its row count."""

    key: str
    day: str
    rows: int


# path -> (inode, mtime_ns, size) and its source list: every per-source write
# checks the compacted months' footers, and a month changes far less often
_footers: dict[Path, tuple[FileVersion, list[CompactedSource]]] = {}
_footers_lock = threading.Lock()


def compacted_sources(path: Path) -> list[CompactedSource]:
    """The sources of a compacted file in row order, from its footer alone (cached per file version)."""
    try:
        version = file_version(path)
        if version is None:
            raise FileNotFoundError(path)
        with _footers_lock:
            known = _footers.get(path)
        if known is not None and known[0] == version:
            return list(known[1])
        sources = _parse_sources(pq.read_schema(path).metadata)
    except (OSError, pa.ArrowException, ValueError, KeyError, TypeError) as exc:
        raise DataError(f"{path}: not a compacted file of this store ({exc})") from exc
    with _footers_lock:
        _footers[path] = (version, sources)
    return list(sources)


def _parse_sources(metadata: dict[bytes, bytes] | None) -> list[CompactedSource]:
    raw = (metadata or {}).get(_SOURCES_KEY)
    listed = json.loads(raw) if raw else None
    if not isinstance(listed, list):
        raise ValueError("no source list")
    return [CompactedSource(str(s["key"]), str(s["day"]), int(s["rows"])) for s in listed]


def month_of(source_path: Path) -> Path:
    """The compacted file that would hold the source whose own file is ``source_path``
    (``<kind>/<branch>/<YYYY-MM-DD>/<key>.parquet``)."""
    return source_path.parent.parent / source_path.parent.name[:7] / COMPACTED_NAME


def holds_source(source_path: Path) -> bool:
    """True when the source whose own file was ``source_path`` now sits in its compacted month."""
    month = month_of(source_path)
    if not month.exists():
        return False
    try:
        return any(s.key == source_path.stem for s in compacted_sources(month))
    except DataError:
        return False  # unreadable: a reader of the month names it


def write_compacted(pieces: list[tuple[CompactedSource, pa.Table]], schema: pa.Schema, path: Path) -> Path | None:
    """Write ``pieces`` (each a source and its rows, of ``schema``) as one compacted file, atomically.

    With no pieces left the file is removed instead; returns the path written, or None.
    """
    if not pieces:
        path.unlink(missing_ok=True)
        with _footers_lock:
            _footers.pop(path, None)
        return None
    listed = [{"key": s.key, "day": s.day, "rows": s.rows} for s, _ in pieces]
    table = pa.concat_tables([t.cast(schema) if t.schema != schema else t for _, t in pieces])
    table = table.replace_schema_metadata({**(schema.metadata or {}), _SOURCES_KEY: json.dumps(listed)})
    written = atomic_write_table(table, path)
    with _footers_lock:
        _footers.pop(path, None)
    return written


def read_compacted(path: Path, schema: pa.Schema) -> list[tuple[CompactedSource, pa.Table]]:
    """A compacted file cut back into its sources' row slices (none when there is no file).

    Rows and source list come from one open file, never from the footer cache:
    two versions of a month can share inode, size and a coarse modification
    time, and slicing by another version's list would give rows to the wrong source.
    """
    try:
        with open(path, "rb") as handle:
            parquet = pq.ParquetFile(handle)
            sources = _parse_sources(parquet.schema_arrow.metadata)
            table = parquet.read()
    except FileNotFoundError:
        return []
    except (OSError, pa.ArrowException, ValueError, KeyError, TypeError) as exc:
        raise DataError(f"{path}: not a readable compacted file of this store ({exc})") from exc
    # a month written before a nullable column existed reads it as nulls
    n = table.num_rows
    table = pa.Table.from_arrays(
        [table.column(f.name).cast(f.type) if f.name in table.column_names else pa.nulls(n, f.type) for f in schema],
        schema=schema,
    )
    if sum(s.rows for s in sources) != n:
        raise DataError(f"{path}: its source list counts {sum(s.rows for s in sources)} rows, the file has {n}")
    pieces = []
    offset = 0
    for source in sources:
        pieces.append((source, table.slice(offset, source.rows)))
        offset += source.rows
    return pieces


def compacted_files(root: Path, branch_id: str | None = None, month: str | None = None) -> list[Path]:
    """The compacted files under a table's folder ``root``, optionally of one branch and month."""
    branch = branch_id if branch_id is not None else "*"
    # a month pattern, so that only month folders are looked into, not every day folder
    pattern = f"{branch}/{month or '[0-9][0-9][0-9][0-9]-[0-9][0-9]'}/{COMPACTED_NAME}"
    return sorted(p for p in root.glob(pattern) if is_month_folder(p.parent.name))


def drop_compacted_sources(
    data_dir: Path, paths: Iterable[Path], schema: pa.Schema, unwanted: Callable[[str], bool]
) -> int:
    """Cut the sources for which ``unwanted(key)`` is true out of the compacted files ``paths``.

    The footers are read without the lock (the common case is no match); a
    file that lists a match is re-read and rewritten under the compaction lock,
    so two writers, or a writer and ``compact``, never undo each other's cut.
    Returns how many sources were cut.
    """
    cut = 0
    for path in paths:
        try:
            if not any(unwanted(s.key) for s in compacted_sources(path)):
                continue
        except DataError:
            if not path.exists():
                continue  # removed meanwhile: nothing left to cut
            raise
        with data_dir_lock(data_dir, COMPACT_LOCK):
            pieces = read_compacted(path, schema)
            kept = [(s, t) for s, t in pieces if not unwanted(s.key)]
            if len(kept) != len(pieces):
                write_compacted(kept, schema, path)
                cut += len(pieces) - len(kept)
    return cut


def drop_compacted_source(
    data_dir: Path, kind: str, schema: pa.Schema, source_key: str, *, branch_id: str, month: str | None
) -> int:
    """Cut ``source_key`` out of the compacted files of table ``kind``: of ``branch_id`` and ``month``,
    or (``month`` None) of every branch and month, for a source that may have moved."""
    root = data_dir / kind
    paths = compacted_files(root, branch_id, month) if month is not None else compacted_files(root)
    return drop_compacted_sources(data_dir, paths, schema, lambda key: key == source_key)


def without_customers(table: pa.Table, customer_ids: Sequence[str]) -> pa.Table:
    """``table`` without the rows of ``customer_ids``."""
    wanted = pa.array(list(customer_ids), pa.string())
    return table.filter(pc.invert(pc.is_in(table.column("customer_id"), value_set=wanted)))


def cut_customers(data_dir: Path, source_path: Path, schema: pa.Schema, customer_ids: Sequence[str]) -> bool:
    """Remove ``customer_ids``' rows of the source whose own file was ``source_path`` from its compacted
    month (a batch's hand-over of people to the next segment); True if any row went."""
    month = month_of(source_path)
    if not customer_ids or not holds_source(source_path):
        return False
    with data_dir_lock(data_dir, COMPACT_LOCK):
        pieces = read_compacted(month, schema)
        changed = False
        for index, (source, table) in enumerate(pieces):
            if source.key != source_path.stem:
                continue
            kept = without_customers(table, customer_ids)
            if kept.num_rows != table.num_rows:
                pieces[index] = (CompactedSource(source.key, source.day, kept.num_rows), kept)
                changed = True
        if changed:
            write_compacted(pieces, schema, month)
    return changed
