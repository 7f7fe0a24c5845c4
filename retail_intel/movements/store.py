"""The movement store: one Parquet file per source (video or ingest file).

Layout: ``DATA_DIR/movements/<branch_id>/<YYYY-MM-DD>/<source_key>.parquet``,
the date being the UTC date of the source's first event. Writing a source
again replaces its file(s), so re-processing never duplicates events.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from retail_intel.errors import DataError
from retail_intel.movements.schema import MOVEMENT_SCHEMA
from retail_intel.storage import MOVEMENTS_DIR, atomic_write_table, parquet_files


def movements_root(data_dir: Path) -> Path:
    return data_dir / MOVEMENTS_DIR


def source_files(data_dir: Path, source_key: str) -> list[Path]:
    """Files already written for ``source_key`` (any branch, any date)."""
    return sorted(movements_root(data_dir).glob(f"*/*/{source_key}.parquet"))


def write_movements(table: pa.Table, data_dir: Path, *, branch_id: str, day: dt.date, source_key: str) -> Path:
    """Write one source's movements, replacing whatever that source wrote before.

    An empty table is still written: it records that the source was processed
    and found nobody, and it replaces stale events from an earlier run.
    """
    if table.schema != MOVEMENT_SCHEMA:
        table = table.cast(MOVEMENT_SCHEMA)
    target = movements_root(data_dir) / branch_id / day.isoformat() / f"{source_key}.parquet"
    stale = [p for p in source_files(data_dir, source_key) if p != target]
    atomic_write_table(table, target)
    # Only after the new file is in place: a crash in between leaves the old
    # events, never none. A stale file under another date/branch is removed.
    for path in stale:
        path.unlink(missing_ok=True)
    return target


def movement_files(data_dir: Path) -> list[Path]:
    return parquet_files(movements_root(data_dir))


def read_movements(data_dir: Path) -> pa.Table:
    """All movements in the store as one table of :data:`MOVEMENT_SCHEMA`."""
    files = movement_files(data_dir)
    if not files:
        return MOVEMENT_SCHEMA.empty_table()
    tables = []
    for path in files:
        try:
            tables.append(pq.read_table(path, schema=MOVEMENT_SCHEMA))
        except (pa.ArrowInvalid, OSError) as exc:
            raise DataError(f"{path}: not a readable movement Parquet file ({exc})") from exc
    return pa.concat_tables(tables)
