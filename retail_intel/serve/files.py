"""What the server knows about the files in the data directory, without reading their rows.

Every path here is built from the data directory given at start-up and from
names that come from the config (branch ids) or from integers (window
sizes); nothing from a request ever becomes part of a path.

Writers replace files by renaming a finished temporary file into place, so a
file seen here is always whole. It may still be replaced or disappear between
listing and reading (a re-processed source drops its old file): whatever is
read from one open handle is one version, and readers that open a file by
name more than once (DuckDB) check afterwards that nothing changed.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from retail_intel.errors import DataError
from retail_intel.kpis.store import kpi_path
from retail_intel.movements.compacted import compacted_sources
from retail_intel.movements.overlap import is_month_file, outside_branches
from retail_intel.movements.zone_store import ZONE_TABLES
from retail_intel.storage import (
    FRAMES_DIR,
    KPIS_DIR,
    MOVEMENTS_DIR,
    TRAJECTORIES_DIR,
    FileVersion,
    is_plain_name,
    parquet_files,
    version_of,
)

RUNS_DIR = "runs"  # where ``retail-intel process`` writes its run summaries
_WINDOW_DIR = re.compile(r"^([1-9]\d{0,4})m$")

# (inode, mtime_ns, size): changes whenever a writer renames a new file into
# place, because the new file is a different inode.
FileKey = FileVersion


def _key(entry: os.DirEntry[str]) -> FileKey | None:
    try:
        return version_of(entry.stat())
    except OSError:  # vanished since the directory was listed
        return None


def _finished_parquet(entry: os.DirEntry[str]) -> bool:
    # Writers' temporary files start with a dot and end in .tmp.
    return entry.name.endswith(".parquet") and not entry.name.startswith(".")


def _subdirs(path: Path) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(path) as entries:
            return sorted((e for e in entries if e.is_dir() and not e.name.startswith(".")), key=lambda e: e.name)
    except (FileNotFoundError, NotADirectoryError):
        return []


def _parquet_entries(path: Path) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(path) as entries:
            return sorted((e for e in entries if _finished_parquet(e) and e.is_file()), key=lambda e: e.name)
    except (FileNotFoundError, NotADirectoryError):
        return []


@dataclass(frozen=True)
class MovementFile:
    """One movement file and what its footer says: rows and the range of ``enter_time``."""

    path: str
    key: FileKey
    rows: int
    min_enter_us: int | None  # None when the footer has no statistics
    max_enter_us: int | None

    def may_overlap(self, start_us: int | None, end_us: int | None) -> bool:
        """False only when the footer proves no ``enter_time`` lies in ``[start, end)``."""
        if start_us is not None and self.max_enter_us is not None and self.max_enter_us < start_us:
            return False
        return not (end_us is not None and self.min_enter_us is not None and self.min_enter_us >= end_us)


def overlapping(listed: list[MovementFile], start_us: int | None, end_us: int | None) -> list[MovementFile]:
    """The files of ``listed`` that may hold an ``enter_time`` in ``[start, end)``, and the own file of
    every video that a chosen compacted month lists too.

    A video in its month and in its own file (a re-processing half done) is read
    from its own file (``retail_intel.movements.overlap``), which must therefore
    be listed even when its rows, of another time, are all outside the range:
    left out, it would no longer hide the video's old rows in the month.
    """
    chosen = [f for f in listed if f.may_overlap(start_us, end_us)]
    if len(chosen) == len(listed):
        return chosen
    in_months: set[str] = set()
    for month in (f for f in chosen if is_month_file(Path(f.path))):
        try:
            in_months.update(s.key for s in compacted_sources(Path(month.path)))
        except DataError:
            continue  # gone or not ours: the query reads it by name and reports it
    if not in_months:
        return chosen
    kept = {f.path for f in chosen}
    return [f for f in listed if f.path in kept or (Path(f.path).stem in in_months and not is_month_file(Path(f.path)))]


def moved_elsewhere(root: Path, branch_id: str, listed: list[tuple[str, FileKey]]) -> list[tuple[str, FileKey]]:
    """Other branches' files of the videos that a compacted month of ``listed`` (one branch's) holds.

    A video moved to another branch (its camera's branch corrected) whose old copy
    is not cut out of this branch's month yet is the other branch's video: its
    file there is listed so that it hides that copy; its rows are of the other
    branch, which a query of this branch leaves out.
    """
    months = [Path(path) for path, _ in listed if is_month_file(Path(path))]
    in_months: set[str] = set()
    for month in months:
        try:
            in_months.update(s.key for s in compacted_sources(month))
        except DataError:
            continue  # gone or not ours: the query reads it by name and reports it
    found = []
    for path in outside_branches(root, [branch_id], months) if in_months else []:
        if path.stem in in_months and (key := file_key(path)) is not None:
            found.append((str(path), key))
    return found


def _enter_time_range(metadata: pq.FileMetaData) -> tuple[int | None, int | None]:
    lows: list[int] = []
    highs: list[int] = []
    for group in range(metadata.num_row_groups):
        row_group = metadata.row_group(group)
        if row_group.num_rows == 0:
            continue
        column = next(
            (
                row_group.column(i)
                for i in range(row_group.num_columns)
                if row_group.column(i).path_in_schema == "enter_time"
            ),
            None,
        )
        stats = None if column is None else column.statistics
        if stats is None or not stats.has_min_max or stats.physical_type != "INT64":
            return None, None
        lows.append(int(stats.min_raw))
        highs.append(int(stats.max_raw))
    if not lows:
        return None, None
    return min(lows), max(highs)


class MovementIndex:
    """The movement files of a data directory with row counts and time ranges, cached per file.

    A file's footer is read once per version of the file (see :data:`FileKey`),
    so listing 2,000 files costs one ``stat`` each after the first call.
    """

    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir.resolve() / MOVEMENTS_DIR
        self._known: dict[str, MovementFile] = {}
        self._lock = threading.Lock()

    def _describe(self, path: str, key: FileKey) -> MovementFile | None:
        known = self._known.get(path)
        if known is not None and known.key == key:
            return known
        try:
            # The footer and the key come from the same open handle, so they
            # describe the same version even if a writer replaces the file now.
            with open(path, "rb") as handle:
                opened = os.fstat(handle.fileno())
                opened_key = (opened.st_ino, opened.st_mtime_ns, opened.st_size)
                try:
                    metadata = pq.read_metadata(handle)
                except (OSError, pa.ArrowException):
                    # Unreadable footer: keep the file so the query reports it
                    # rather than silently dropping rows.
                    return MovementFile(path, opened_key, 0, None, None)
        except FileNotFoundError:
            return None
        low, high = _enter_time_range(metadata)
        described = MovementFile(path, opened_key, metadata.num_rows, low, high)
        self._known[path] = described
        return described

    def files(self, branch_id: str | None = None) -> list[MovementFile]:
        """Every finished movement file, or those in one branch's folder."""
        if branch_id is not None:
            branches = [self.root / branch_id] if is_plain_name(branch_id) else []
        else:
            branches = [Path(e.path) for e in _subdirs(self.root)]
        found: list[MovementFile] = []
        seen: set[str] = set()
        with self._lock:
            for branch_dir in branches:
                for day in _subdirs(branch_dir):
                    for entry in _parquet_entries(Path(day.path)):
                        key = _key(entry)
                        described = None if key is None else self._describe(entry.path, key)
                        if described is not None:
                            found.append(described)
                            seen.add(described.path)
            if branch_id is None:
                # Forget files that are gone, so the cache cannot grow without bound.
                for path in [p for p in self._known if p not in seen]:
                    del self._known[path]
        return found


def kpi_root(data_dir: Path) -> Path:
    return data_dir.resolve() / KPIS_DIR


def kpi_file(data_dir: Path, branch_id: str, window_minutes: int) -> Path | None:
    """The KPI store's file for a branch and window size; None if the id cannot be a file name."""
    if not is_plain_name(branch_id):
        return None
    try:
        return kpi_path(data_dir.resolve(), window_minutes, branch_id)
    except DataError:
        return None


def read_snapshot(path: Path) -> tuple[FileKey, pa.Table] | None:
    """The whole Parquet file and the key of the version read; None if there is no file.

    One open handle serves both, so the table is exactly the version the key
    names, whatever a writer renames into place meanwhile.
    """
    try:
        with open(path, "rb") as handle:
            opened = os.fstat(handle.fileno())
            return (opened.st_ino, opened.st_mtime_ns, opened.st_size), pq.read_table(handle)
    except (FileNotFoundError, IsADirectoryError):
        return None
    except (OSError, pa.ArrowException) as exc:
        raise DataError(f"{path.name}: not a readable Parquet file ({exc})") from exc


def conform(table: pa.Table, schema: pa.Schema, *, what: str) -> pa.Table:
    """``table`` with exactly the columns of ``schema``, in order and type.

    A file written by an older version may lack newer nullable columns; they
    read as null. A missing required column or a type that does not cast is a
    :class:`DataError` naming ``what`` (a file name, never a full path).
    """
    columns = []
    for field in schema:
        if field.name in table.column_names:
            columns.append(table.column(field.name))
        elif field.nullable:
            columns.append(pa.chunked_array([pa.nulls(table.num_rows, field.type)]))
        else:
            raise DataError(f"{what}: lacks the column {field.name}")
    try:
        return pa.Table.from_arrays(columns, names=schema.names).cast(schema)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
        raise DataError(f"{what}: columns of unexpected types ({exc})") from exc


def report_inputs(data_dir: Path, branch_id: str | None = None) -> list[Path]:
    """Every file a report on ``branch_id`` (None: any branch) reads: movements, trajectories, the
    zone and queue tables (its zones section; ``zones --rejudge`` rewrites only those), camera pictures."""
    if branch_id is not None and not is_plain_name(branch_id):
        return []
    found: list[Path] = []
    for kind in (MOVEMENTS_DIR, TRAJECTORIES_DIR, *ZONE_TABLES):
        root = data_dir / kind
        found.extend(parquet_files(root / branch_id if branch_id is not None else root))
    frames = data_dir / FRAMES_DIR
    if frames.is_dir():
        pattern = f"{branch_id}/*.jpg" if branch_id is not None else "*/*.jpg"
        found.extend(sorted(p for p in frames.glob(pattern) if not p.name.startswith(".")))
    return found


def file_key(path: Path) -> FileKey | None:
    try:
        return version_of(path.stat())
    except OSError:
        return None


def kpi_windows(data_dir: Path, branch_id: str | None = None) -> list[int]:
    """Window sizes (minutes) that have KPI files, for one branch or any."""
    windows: list[int] = []
    for entry in _subdirs(kpi_root(data_dir)):
        match = _WINDOW_DIR.match(entry.name)
        if match is None:
            continue
        files = _parquet_entries(Path(entry.path))
        if branch_id is not None:
            files = [f for f in files if f.name == f"{branch_id}.parquet"]
        if files:
            windows.append(int(match.group(1)))
    return sorted(windows)


def kpi_file_count(data_dir: Path) -> int:
    return sum(len(_parquet_entries(Path(e.path))) for e in _subdirs(kpi_root(data_dir)))


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _file_name(value: Any) -> str | None:
    # The summary stores the video's path as given on the command line; only
    # its file name is shown (the same as a movement row's source_video).
    return re.split(r"[\\/]", value)[-1] if isinstance(value, str) else None


def last_run(data_dir: Path) -> dict[str, Any] | None:
    """The newest readable run summary of a video or live stream (by modification time), as plain values.

    A live session's record (``process rtsp://...``) names no video (its URL may hold a password): its
    ``video`` is None, its branch, camera and counts are shown.

    The summary's paths are left out or cut to a file name on purpose: the API
    never hands out paths of the machine it runs on.
    """
    runs = data_dir / RUNS_DIR
    try:
        with os.scandir(runs) as entries:
            candidates = []
            for entry in entries:
                if entry.name.endswith(".json") and not entry.name.startswith(".") and entry.is_file():
                    try:
                        candidates.append((entry.stat().st_mtime_ns, entry.path))
                    except OSError:
                        continue
    except (FileNotFoundError, NotADirectoryError):
        return None
    for mtime_ns, path in sorted(candidates, reverse=True):
        try:
            with open(path, "rb") as handle:
                summary = json.loads(handle.read())
        except (OSError, ValueError):
            continue  # half-deleted or hand-edited: try the next newest
        if not isinstance(summary, dict) or not (
            isinstance(summary.get("video"), str) or isinstance(summary.get("session_id"), str)
        ):
            continue  # a batch's own summary (runs/batch-*.json): of no one video nor stream
        return {
            "video": _file_name(summary.get("video")),
            "branch_id": _str_or_none(summary.get("branch_id")),
            "camera_id": _str_or_none(summary.get("camera_id")),
            "start_time": _str_or_none(summary.get("start_time")),
            "people": _int_or_none(summary.get("people")),
            "entered": _int_or_none(summary.get("entered")),
            "passed": _int_or_none(summary.get("passed")),
            "processed_at": dt.datetime.fromtimestamp(mtime_ns / 1e9, tz=dt.UTC),
        }
    return None
