"""The movement store: one Parquet file per source (video or ingest file).

Layout: ``DATA_DIR/movements/<branch_id>/<YYYY-MM-DD>/<source_key>.parquet``
(and the same under ``trajectories/``), the date being the UTC date of the
recording start. Writing a source again replaces its file(s), so
re-processing never duplicates events. ``retail-intel compact`` merges
closed days into ``<branch_id>/<YYYY-MM>/compacted.parquet``
(:mod:`retail_intel.movements.compaction`); a source written again is cut
out of it.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from retail_intel.errors import DataError
from retail_intel.movements.compacted import drop_compacted_source, is_month_folder
from retail_intel.movements.overlap import plan_read
from retail_intel.movements.schema import MOVEMENT_SCHEMA, TRACK_SCHEMA, TRAJECTORY_SCHEMA
from retail_intel.storage import (
    MOVEMENTS_DIR,
    TRACKS_DIR,
    TRAJECTORIES_DIR,
    atomic_write_bytes,
    atomic_write_table,
    is_plain_name,
    parquet_files,
    reread_once,
)


def movements_root(data_dir: Path) -> Path:
    return data_dir / MOVEMENTS_DIR


def source_files(data_dir: Path, source_key: str, kind: str = MOVEMENTS_DIR) -> list[Path]:
    """Files already written for ``source_key`` (any branch, any date; compacted months aside)."""
    found = (data_dir / kind).glob(f"*/*/{source_key}.parquet")
    return sorted(p for p in found if not is_month_folder(p.parent.name))


def write_movements(
    table: pa.Table,
    data_dir: Path,
    *,
    branch_id: str,
    day: dt.date,
    source_key: str,
    replace_elsewhere: bool = True,
) -> Path:
    """Write one source's movements, replacing whatever that source wrote before.

    An empty table is still written: it records that the source was processed
    and found nobody, and it replaces stale events from an earlier run.
    ``replace_elsewhere=False`` skips the search for the source's files under
    other branches/dates (a scan of every folder of the store) for writers
    whose key already names its branch and date (ingest, demo-data).
    """
    return write_source(table, data_dir, MOVEMENTS_DIR, MOVEMENT_SCHEMA, branch_id, day, source_key, replace_elsewhere)


def movements_path(data_dir: Path, *, branch_id: str, day: dt.date, source_key: str) -> Path:
    """The file :func:`write_movements` writes for this source, branch and day."""
    return _source_path(data_dir, MOVEMENTS_DIR, branch_id, day, source_key)


def write_trajectories(table: pa.Table, data_dir: Path, *, branch_id: str, day: dt.date, source_key: str) -> Path:
    """Write one source's sampled paths (:data:`TRAJECTORY_SCHEMA`), replacing earlier ones."""
    return write_source(table, data_dir, TRAJECTORIES_DIR, TRAJECTORY_SCHEMA, branch_id, day, source_key)


@dataclass(frozen=True)
class StoredTracks:
    """A video's full-rate tracks and what they were made with (``identity``, fps, frame size, ...)."""

    table: pa.Table
    metadata: dict[str, str]
    path: Path


_META_KEY = b"retail_intel.tracks"


def write_tracks(
    table: pa.Table, metadata: dict[str, str], data_dir: Path, *, branch_id: str, day: dt.date, source_key: str
) -> Path:
    """Write one video's tracks (:data:`TRACK_SCHEMA`) with the run's description in the file's metadata."""
    table = table.cast(TRACK_SCHEMA).replace_schema_metadata({_META_KEY: json.dumps(metadata, sort_keys=True)})
    return write_source(table, data_dir, TRACKS_DIR, table.schema, branch_id, day, source_key)


def read_tracks(data_dir: Path, source_key: str) -> StoredTracks | None:
    """The stored tracks of ``source_key``; None when there are none or they cannot be read as ours."""
    for path in source_files(data_dir, source_key, TRACKS_DIR):
        try:
            table = pq.read_table(path)
            raw = (table.schema.metadata or {}).get(_META_KEY)
            metadata = json.loads(raw) if raw else None
        except (OSError, pa.ArrowException, ValueError):
            continue  # unreadable: the video is simply detected again
        if isinstance(metadata, dict) and set(_REQUIRED_TRACK_COLUMNS) <= set(table.column_names):
            return StoredTracks(_with_track_columns(table), {str(k): str(v) for k, v in metadata.items()}, path)
    return None


def stored_tracks_metadata(data_dir: Path, source_key: str) -> dict[str, str] | None:
    """The run description stored with ``source_key``'s tracks (the file's schema only, no rows)."""
    for path in source_files(data_dir, source_key, TRACKS_DIR):
        try:
            raw = (pq.read_schema(path).metadata or {}).get(_META_KEY)
            metadata = json.loads(raw) if raw else None
        except (OSError, pa.ArrowException, ValueError):
            continue
        if isinstance(metadata, dict):
            return {str(k): str(v) for k, v in metadata.items()}
    return None


# a stored table needs the box columns; a nullable column it lacks (written before the
# column existed, e.g. uniform_sum) reads as nulls, so older runs' tracks are still reused
_REQUIRED_TRACK_COLUMNS = tuple(f.name for f in TRACK_SCHEMA if not f.nullable)


def _with_track_columns(table: pa.Table) -> pa.Table:
    columns = [
        table.column(f.name) if f.name in table.column_names else pa.nulls(table.num_rows, f.type) for f in TRACK_SCHEMA
    ]
    return pa.Table.from_arrays(columns, schema=TRACK_SCHEMA)


def _source_path(data_dir: Path, kind: str, branch_id: str, day: dt.date, source_key: str) -> Path:
    for what, name in (("branch id", branch_id), ("source key", source_key)):
        # Both become path components: a name like "../../x" would write outside the data directory.
        if not is_plain_name(name) or name.startswith("."):
            raise DataError(f"{what} {name!r} cannot be used as a folder or file name under {kind}/")
    return data_dir / kind / branch_id / day.isoformat() / f"{source_key}.parquet"


def place_tracks(stored: StoredTracks, data_dir: Path, *, branch_id: str, day: dt.date, source_key: str) -> Path:
    """Keep reused tracks beside the run's movements: ``<branch>/<day>`` of this run, not the one that stored them.

    A video processed again with a corrected start (another day) or branch reuses its stored
    tracks unchanged; left where they were, they stayed under the old day beside movements
    under the new one. The file is copied byte for byte (its metadata says how it was made),
    then every other copy of the source's tracks is removed, as :func:`write_source` does.
    """
    target = _source_path(data_dir, TRACKS_DIR, branch_id, day, source_key)
    if stored.path != target:
        try:
            data = stored.path.read_bytes()
        except OSError as exc:
            raise DataError(f"{stored.path}: cannot read the stored tracks to move them to {target} ({exc})") from exc
        atomic_write_bytes(data, target)
    for path in source_files(data_dir, source_key, TRACKS_DIR):
        if path != target:
            path.unlink(missing_ok=True)
    return target


def write_source(
    table: pa.Table,
    data_dir: Path,
    kind: str,
    schema: pa.Schema,
    branch_id: str,
    day: dt.date,
    source_key: str,
    replace_elsewhere: bool = True,
) -> Path:
    """Write one source's ``table`` (cast to ``schema``) as ``<kind>/<branch>/<day>/<source_key>.parquet``.

    Atomically, then removes the source's files elsewhere under ``kind/`` (with
    ``replace_elsewhere``): the one replace-on-reprocess step of every table
    written per source video (movements, trajectories, tracks, and the zone tables).
    The source's rows are also cut out of a compacted month that holds them
    (only the month of ``day`` in this branch without ``replace_elsewhere``).
    """
    if table.schema != schema:
        table = table.cast(schema)
    target = _source_path(data_dir, kind, branch_id, day, source_key)
    found = source_files(data_dir, source_key, kind) if replace_elsewhere else []
    stale = [p for p in found if p != target]
    atomic_write_table(table, target)
    # Only after the new file is in place: a crash in between leaves the old
    # events, never none. A stale file under another date/branch is removed.
    for path in stale:
        path.unlink(missing_ok=True)
    month = None if replace_elsewhere else day.isoformat()[:7]
    drop_compacted_source(data_dir, kind, schema, source_key, branch_id=branch_id, month=month)
    return target


def movement_files(data_dir: Path) -> list[Path]:
    return parquet_files(movements_root(data_dir))


def read_trajectories(data_dir: Path, branch_id: str | None = None) -> pa.Table:
    """Sampled paths, optionally of one branch, as one table of :data:`TRAJECTORY_SCHEMA`."""
    root = data_dir / TRAJECTORIES_DIR
    files = parquet_files(root / branch_id if branch_id else root)
    if not files:
        return TRAJECTORY_SCHEMA.empty_table()
    return pa.concat_tables([pq.read_table(path, schema=TRAJECTORY_SCHEMA) for path in files])


def read_movements(data_dir: Path) -> pa.Table:
    """All movements in the store as one table of :data:`MOVEMENT_SCHEMA`."""
    return reread_once(lambda: read_listing(movement_files(data_dir), MOVEMENT_SCHEMA, "movement"))


def read_listing(files: list[Path], schema: pa.Schema, what: str, outside: list[Path] | None = None) -> pa.Table:
    """``files``, one table's listing, as one table of ``schema`` with each source's rows once
    (:mod:`retail_intel.movements.overlap`; ``outside``: the table's files of other branches, not
    read); call it inside :func:`~retail_intel.storage.reread_once`."""
    plan = plan_read(files, schema, outside or [])
    table = read_files(plan.by_name, schema, what)
    plan.verify()
    return pa.concat_tables([table, *(t.cast(schema) for t in plan.cut)]) if plan.cut else table


def read_files(files: list[Path], schema: pa.Schema, what: str) -> pa.Table:
    """``files`` as one table of ``schema``; :class:`DataError` names the first that is not ``what`` data."""
    if not files:
        return schema.empty_table()
    tables = []
    for path in files:
        try:
            tables.append(pq.read_table(path, schema=schema))
        except (pa.ArrowInvalid, OSError) as exc:
            raise DataError(f"{path}: not a readable {what} Parquet file ({exc})") from exc
    return pa.concat_tables(tables)
