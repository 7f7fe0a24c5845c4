"""``retail-intel compact``: merge closed days of the per-source tables into one file per branch and month.

Only the tables the KPIs read are compacted (movements and the three zone
tables); tracks and trajectories are read per source (re-judging, reports)
and stay one file per video. A month already compacted takes in the days
written since; running it again with nothing new changes nothing.

Safe beside writers: it waits for a running batch (which hands people
between a video's file and the next one's), each month is merged under the
compaction lock, and a source file is removed only if it is still the
version that was merged. One written again meanwhile is kept and its merged
copy cut out again. A process killed between writing a month and removing
its files (or a writer killed between writing a file and cutting its merged
copy, or between writing a source's file under a new day or branch and
removing its old one) leaves rows twice until the next ``compact``, which
heals that first (docs/kpis.md).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from retail_intel.datadir import require_retail_data
from retail_intel.errors import DataError, InputError
from retail_intel.locking import BATCH_LOCK, COMPACT_LOCK, data_dir_lock
from retail_intel.movements.compacted import (
    COMPACTED_NAME,
    CompactedSource,
    compacted_files,
    drop_compacted_sources,
    is_month_folder,
    read_compacted,
    write_compacted,
)
from retail_intel.movements.overlap import stale_copies
from retail_intel.movements.schema import MOVEMENT_SCHEMA
from retail_intel.movements.store import read_files, source_files
from retail_intel.movements.zone_store import ZONE_TABLES
from retail_intel.storage import MOVEMENTS_DIR, FileVersion, file_version, is_plain_name

# folder -> schema of the tables that are compacted
COMPACTED_TABLES: dict[str, pa.Schema] = {MOVEMENTS_DIR: MOVEMENT_SCHEMA, **ZONE_TABLES}


@dataclass
class TableCompaction:
    """What compacting did to one table: source files merged, months written, rows they hold."""

    files_merged: int = 0
    months_written: int = 0
    rows: int = 0
    kept_newer: int = 0  # sources written again while being merged: left as their own file
    healed: int = 0  # sources found both merged and as their own file (a killed writer): cut from the month
    # or with two own files (a writer killed before removing the old one): the older removed


@dataclass(frozen=True)
class CompactionResult:
    before: dt.date
    tables: dict[str, TableCompaction] = field(default_factory=dict)
    seconds: float = 0.0
    # the branch asked for has no files here: a typo, or a branch that has recorded nothing yet
    # (compact reads no config, so it cannot tell them apart; a nightly loop over branches must not fail)
    branch_missing: str | None = None

    @property
    def files_merged(self) -> int:
        return sum(t.files_merged for t in self.tables.values())


def _closed_months(branch_dir: Path, before: dt.date) -> dict[str, list[Path]]:
    """The branch's per-source files of days before ``before``, by month (``YYYY-MM``)."""
    months: dict[str, list[Path]] = {}
    for day_dir in sorted(p for p in branch_dir.iterdir() if p.is_dir()):
        try:
            day = dt.date.fromisoformat(day_dir.name)
        except ValueError:
            continue  # a month folder, or not ours
        if day < before:
            files = sorted(p for p in day_dir.glob("*.parquet") if not p.name.startswith("."))
            if files:
                months.setdefault(day_dir.name[:7], []).extend(files)
    return months


def _remove_merged(path: Path, key: FileVersion) -> bool:
    """Remove the merged source file ``path`` if it is still version ``key``; False if it changed.

    It is first renamed aside, so a writer's new version renamed into place
    between the check and the removal cannot be the file removed.
    """
    aside = path.with_name(f".{path.name}.{os.getpid()}.merged")
    try:
        os.rename(path, aside)
    except FileNotFoundError:
        return False  # removed by a writer that moved the source elsewhere
    if file_version(aside) == key:
        aside.unlink()
        return True
    with contextlib.suppress(FileExistsError):  # a newer one still exists
        os.link(aside, path)  # a newer version was renamed aside: put it back
    aside.unlink()
    return False


def _merge_month(target: Path, files: list[Path], schema: pa.Schema, done: TableCompaction) -> None:
    merged: list[tuple[Path, FileVersion, pa.Table]] = []
    for path in files:
        key = file_version(path)
        if key is None:
            continue  # moved away by a writer since the folder was listed
        try:
            table = read_files([path], schema, "stored")
        except DataError:
            if path.exists():
                raise
            continue
        merged.append((path, key, table))
    if not merged:
        return
    new_sources = {path.stem for path, _, _ in merged}
    pieces = [(s, t) for s, t in read_compacted(target, schema) if s.key not in new_sources]
    pieces += [(CompactedSource(p.stem, p.parent.name, t.num_rows), t) for p, _, t in merged]
    write_compacted(pieces, schema, target)
    changed = {path.stem for path, key, _ in merged if not _remove_merged(path, key)}
    if changed:  # the lock is held: cut them out directly
        write_compacted([(s, t) for s, t in pieces if s.key not in changed], schema, target)
    for day_dir in {path.parent for path, _, _ in merged}:
        with contextlib.suppress(OSError):
            day_dir.rmdir()  # only when empty
    done.files_merged += len(merged) - len(changed)
    done.kept_newer += len(changed)
    done.months_written += 1
    done.rows += sum(t.num_rows for s, t in pieces if s.key not in changed)


def _restore_set_aside(root: Path) -> None:
    """Put back source files a killed ``compact`` left renamed aside (see :func:`_remove_merged`).

    Whether one was merged already or a writer's newer version, its own file
    is the truth; :func:`_heal` then cuts a merged copy out of its month. Unless
    the source has been written again since, anywhere: then that file is the
    truth, and the one set aside is older.
    """
    for aside in root.glob("*/*/.*.merged"):
        original = aside.with_name(aside.name[1:].rsplit(".", 2)[0])  # .<key>.parquet.<pid>.merged
        if not source_files(root.parent, original.stem, root.name):
            # no newer file of the source anywhere (it may have moved day or branch since)
            with contextlib.suppress(FileExistsError):
                os.link(aside, original)
        aside.unlink()


def _remove_stale_copies(root: Path) -> int:
    """Remove each source file that has a newer file of the same source elsewhere in the table.

    A source written again under another day or branch (a corrected start time)
    lands as its new file first, then its old one is removed: a writer killed
    in between leaves both, which readers count twice, and which would be
    merged into one month twice. The one written last is the truth. An older
    one is removed only if unchanged since it was looked at (:func:`_remove_merged`).
    """
    files = [p for p in root.glob("*/*/*.parquet") if not p.name.startswith(".") and not is_month_folder(p.parent.name)]
    removed = 0
    for path in sorted(stale_copies(files)):  # the rule readers apply (retail_intel.movements.overlap)
        version = file_version(path)
        if version is not None and _remove_merged(path, version):
            removed += 1
            with contextlib.suppress(OSError):
                path.parent.rmdir()  # only when empty
    return removed


def _heal(data_dir: Path, kind: str, schema: pa.Schema) -> int:
    """Cut out of every month the sources that also have their own file again, anywhere in the table.

    Never so at rest: a writer writes a source's file and then cuts it, and
    ``compact`` writes the month and then removes the files. A process killed
    between the two leaves both, and readers count those rows twice until this runs.
    """
    root = data_dir / kind
    months = compacted_files(root)
    if not months:
        return 0
    own = {
        p.stem for p in root.glob("*/*/*.parquet") if not p.name.startswith(".") and not is_month_folder(p.parent.name)
    }
    return drop_compacted_sources(data_dir, months, schema, lambda key: key in own)


def _branch_folders(root: Path) -> list[Path]:
    """The branch folders under a table's ``root`` (none when it does not exist); hidden ones are ours."""
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def _no_branch_folders(data_dir: Path, branch: str) -> str:
    """Why ``branch`` found nothing, naming the branches that have data (a typo shows there)."""
    known = sorted({p.name for kind in COMPACTED_TABLES for p in _branch_folders(data_dir / kind)})
    holds = f"branches with data: {', '.join(known)}" if known else "it holds no movements of any branch"
    return f"branch {branch}: {data_dir} holds no files of branch {branch} ({holds})"


def compact_store(
    data_dir: Path,
    *,
    before: dt.date,
    branch: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    on_wait: Callable[[str], None] | None = None,
) -> CompactionResult:
    """Merge each branch's per-source files of days before ``before`` into one file per month.

    ``progress(done, total)`` is called per branch folder. Days on or after
    ``before`` are left as they are (the recent days a nightly batch is still
    writing or re-processing). Waits for a running batch (``on_wait(holder)``
    is called once): a batch hands people between a video's file and the
    next one's, and must find the earlier file where it left it.
    """
    began = time.perf_counter()
    require_retail_data(data_dir)
    if branch is not None and not is_plain_name(branch):
        raise InputError(f"branch {branch!r} is not a branch id")
    result = CompactionResult(before=before, tables={kind: TableCompaction() for kind in COMPACTED_TABLES})
    work: list[tuple[str, Path]] = []
    for kind in COMPACTED_TABLES:
        root = data_dir / kind
        if branch is not None:
            branches = [root / branch] if (root / branch).is_dir() else []
        else:
            branches = _branch_folders(root)
        work.extend((kind, b) for b in branches)
    missing = _no_branch_folders(data_dir, branch) if branch is not None and not work else None
    with data_dir_lock(data_dir, BATCH_LOCK, on_wait=on_wait):
        for kind, schema in COMPACTED_TABLES.items():
            _restore_set_aside(data_dir / kind)
            stale = _remove_stale_copies(data_dir / kind)
            result.tables[kind].healed = stale + _heal(data_dir, kind, schema)
        for number, (kind, branch_dir) in enumerate(work):
            for month, files in sorted(_closed_months(branch_dir, before).items()):
                target = branch_dir / month / COMPACTED_NAME
                with data_dir_lock(data_dir, COMPACT_LOCK):
                    _merge_month(target, files, COMPACTED_TABLES[kind], result.tables[kind])
            if progress is not None:
                progress(number + 1, len(work))
    return CompactionResult(
        before=before, tables=result.tables, seconds=time.perf_counter() - began, branch_missing=missing
    )
