"""Atomic Parquet writes and the layout of the data directory.

Readers only ever look at ``*.parquet`` files; writers put their bytes in a
hidden temporary file in the same folder and rename it into place, so a crash
or a concurrent reader never sees a half-written file.
"""

from __future__ import annotations

import contextvars
import errno
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pyarrow as pa
import pyarrow.parquet as pq

from retail_intel.errors import DataError, InputError, StoreChangedError, WriteError

T = TypeVar("T")

MOVEMENTS_DIR = "movements"
KPIS_DIR = "kpis"
FEATURES_DIR = "features"
TRAJECTORIES_DIR = "trajectories"
FRAMES_DIR = "frames"
TRACKS_DIR = "tracks"
# Runs over part of a video (--max-frames) write a whole data tree of their own here.
PREVIEWS_DIR = "previews"


def _current_umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


# Read once at import: os.umask can only be read by setting it, which is not
# safe while other threads create files.
_FILE_MODE = 0o666 & ~_current_umask()


def _readable(path: Path) -> None:
    # mkstemp creates 0600 files; data files are shared (dashboards, other
    # users' workers on a shared data directory): give them the umask's mode.
    os.chmod(path, _FILE_MODE)


def _refuse_special(path: Path) -> None:
    # A rename would put a regular file in place of a device or pipe (-o /dev/null)
    if path.exists() and not path.is_file():
        raise InputError(f"{path}: exists and is not a regular file; give a file path to write")


def file_in_the_way(path: Path) -> Path | None:
    """The nearest existing parent of ``path`` when it is not a folder (a file named like one)."""
    for parent in path.parents:
        if parent.exists():
            return None if parent.is_dir() else parent
    return None


def write_error(path: Path, exc: OSError) -> WriteError:
    """``exc``, raised writing ``path``, as the one-line :class:`WriteError` every writer raises."""
    reason = exc.strerror or str(exc)
    blocker = file_in_the_way(path) if exc.errno in (errno.EEXIST, errno.ENOTDIR) else None
    if blocker is not None:
        # mkdir of the parents said "File exists" or "Not a directory": name the file in the way
        reason = f"{blocker} is a file, not a folder"
    if exc.errno == errno.ENOSPC:
        reason += "; free some space and run the command again (what was written before is intact)"
    error = WriteError(f"{path}: cannot be written ({reason})")
    error.errno = exc.errno
    return error


def atomic_write_table(table: pa.Table, path: Path) -> Path:
    """Write ``table`` to ``path`` so the file appears whole or not at all.

    A failed write (disk full, permissions) raises :class:`WriteError`
    naming ``path``; the file's earlier content, if any, is kept.
    """
    _refuse_special(path)
    try:
        return _atomic_write_table(table, path)
    except WriteError:
        raise
    except OSError as exc:
        raise write_error(path, exc) from exc


def _atomic_write_table(table: pa.Table, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        pq.write_table(table, tmp, compression="zstd")
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        _readable(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def make_folder(path: Path) -> Path:
    """Create the folder ``path`` and its parents; :class:`WriteError` naming the file in the way if it cannot."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        if exc.errno == errno.EEXIST and not path.is_dir() and file_in_the_way(path) is None:
            # ``path`` itself is a file: the parents are fine
            error = WriteError(f"{path}: is a file, not a folder")
            error.errno = exc.errno
            raise error from exc
        raise write_error(path, exc) from exc
    return path


def atomic_write_bytes(data: bytes, path: Path) -> Path:
    """Write ``data`` to ``path`` atomically (JSON sidecars, ledgers); :class:`WriteError` if it cannot."""
    _refuse_special(path)
    try:
        return _atomic_write_bytes(data, path)
    except WriteError:
        raise
    except OSError as exc:
        raise write_error(path, exc) from exc


def _atomic_write_bytes(data: bytes, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        _readable(Path(tmp_name))
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return path


def read_table_as(path: Path, schema: pa.Schema, kind: str) -> pa.Table:
    """Read a Parquet file as exactly ``schema`` (columns selected and cast), or say why not.

    ``kind`` names the file in messages ("KPI", "feature").
    """
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataError(f"{path}: not a readable {kind} Parquet file ({exc})") from exc
    missing = [name for name in schema.names if name not in table.column_names]
    if missing:
        raise DataError(f"{path}: not a {kind} file of this version, it lacks {', '.join(missing)}")
    try:
        return table.select(schema.names).cast(schema)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise DataError(f"{path}: {kind} columns have unexpected types ({exc})") from exc


def parquet_files(root: Path) -> list[Path]:
    """Every finished Parquet file under ``root`` (temporary files excluded), sorted."""
    if not root.exists():
        return []
    if not root.is_dir():
        raise DataError(f"{root}: expected a directory, found a file")
    return sorted(p for p in root.rglob("*.parquet") if not p.name.startswith("."))


# (inode, mtime_ns, size): a writer's new version is a new inode renamed into place
FileVersion = tuple[int, int, int]


def version_of(stat: os.stat_result) -> FileVersion:
    """The version a file's ``stat`` describes."""
    return (stat.st_ino, stat.st_mtime_ns, stat.st_size)


def file_version(path: Path) -> FileVersion | None:
    """Which version of ``path`` is there now; None when there is no file."""
    try:
        return version_of(path.stat())
    except FileNotFoundError:
        return None


# how many times a read is made while each attempt finds a file it listed gone: a writer moving a
# source between days or ``compact`` merging a month removes files for a moment, not for good
MOVED_READS = 8


# set while a read is being made by reread_once: a read nested in it (the staff ids read inside the
# zone KPIs' read) is made once, as the outer read is made again whole, listing included
_REREADING: contextvars.ContextVar[bool] = contextvars.ContextVar("rereading", default=False)


def reread_once(read: Callable[[], T]) -> T:
    """``read()``, a listing of store files and then a read of them, again if it fails.

    Between the two a writer may remove a file: a stale copy of a video that
    moved, or a day's files that ``compact`` has just merged into their month.
    Another listing sees the store as it is now. A read that failed for anything
    else is made once more: a file that is really bad fails again and is reported
    then. One that found a listed file gone is made up to :data:`MOVED_READS` times,
    since a writer at work (a batch writing source after source) can remove
    another file during the next read too. Called inside another such read, it
    reads once: the outer one makes the whole read again, so the retries do not multiply.
    """
    if _REREADING.get():
        return read()
    token = _REREADING.set(True)
    try:
        reads = 0
        while True:
            try:
                return read()
            except DataError as exc:
                reads += 1
                if reads >= (MOVED_READS if _file_went(exc) else 2):
                    raise
    finally:
        _REREADING.reset(token)


def _file_went(exc: BaseException) -> bool:
    """True when ``exc`` came from a store file removed or replaced while it was read."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, FileNotFoundError | StoreChangedError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def is_plain_name(name: str) -> bool:
    """True when ``name`` can be used as one path component as it is."""
    return bool(name) and name not in (".", "..") and "/" not in name and "\\" not in name and "\0" not in name


def camera_frame_path(data_dir: Path, branch_id: str, camera_id: str) -> Path:
    """Where the latest picture of a camera is kept (what heatmaps are drawn over)."""
    return data_dir / FRAMES_DIR / branch_id / f"{camera_id}.jpg"
