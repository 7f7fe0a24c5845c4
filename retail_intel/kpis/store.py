"""The KPI store: ``DATA_DIR/kpis/<N>m/<branch_id>.parquet``, one file per branch and window size.

Recomputing replaces, never duplicates: rows of the recomputed windows take
the place of older rows whose window overlaps one of them (the same
``(branch_id, window_start)``, or a window cut differently before the branch's
timezone was corrected); rows of windows not recomputed this time are kept.
A computation also says which branches and span it covered (:class:`Recomputed`):
a stored window there that it no longer produced has lost its movements (a video
redone with a corrected start time, so its people moved to other hours) and is
dropped, not kept with the people it counted before.
Every file is rewritten whole with :func:`retail_intel.storage.atomic_write_table`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from retail_intel.errors import DataError
from retail_intel.kpis.schema import KPI_SCHEMA
from retail_intel.kpis.windows import check_window_minutes
from retail_intel.locking import KPIS_LOCK, data_dir_lock
from retail_intel.movements.repeats import RowKey, refuse_repeated_read
from retail_intel.storage import KPIS_DIR, atomic_write_table, parquet_files, read_table_as
from retail_intel.timeutil import require_aware

_SIZE_DIR = re.compile(r"^(\d+)m$")

# One row per branch, window size and window: a branch's windows of one size are in its one file,
# where write_kpis replaces every stored window a new one overlaps, so no two share a start.
# window_end and the KPIs follow from the window and the movements; computed_at changes with
# each rewrite, so a backup of an older run holds the same windows under other values.
KPI_KEY = ("branch_id", "window_minutes", "window_start")
KPI_ROWS = RowKey("branch_kpi_timeseries", KPI_SCHEMA, KPI_KEY, "KPI window", "every window in it")


def kpis_root(data_dir: Path) -> Path:
    return data_dir / KPIS_DIR


def _check_branch_id(branch_id: str) -> str:
    # The id becomes a file name: refuse anything that could escape the folder.
    if not branch_id or branch_id in (".", "..") or "/" in branch_id or "\\" in branch_id:
        raise DataError(f"branch id {branch_id!r} cannot be used as a file name in {KPIS_DIR}/")
    return branch_id


def kpi_path(data_dir: Path, window_minutes: int, branch_id: str) -> Path:
    return kpis_root(data_dir) / f"{window_minutes}m" / f"{_check_branch_id(branch_id)}.parquet"


def _read_file(path: Path) -> pa.Table:
    # A file written before a nullable column existed (staff, groups, the reconciled
    # peak and mean) reads with that column null, as the dashboard reads it; a missing
    # required column is still an error naming the file.
    try:
        present = set(pq.read_schema(path).names)
    except (pa.ArrowInvalid, OSError):
        present = set(KPI_SCHEMA.names)  # read_table_as says why the file cannot be read
    kept = pa.schema([field for field in KPI_SCHEMA if field.name in present or not field.nullable])
    table = read_table_as(path, kept, "KPI")
    for index, field in enumerate(KPI_SCHEMA):
        if field.name not in present:
            table = table.add_column(index, field, pa.nulls(table.num_rows, field.type))
    return table


@dataclass(frozen=True)
class Recomputed:
    """What one computation covered: every window of these branches and size overlapping
    ``[start, end)`` (None: unbounded) that still holds movements is among its rows.

    ``read_at``: when its movements were read. A stored row computed at or after that came
    from newer movements than this computation saw (``kpis`` and a batch's KPI step may run
    at once, and only the write takes the lock), so it is kept: it is not this computation's
    to drop. None: no such row is spared.
    """

    branch_ids: tuple[str, ...]
    window_minutes: int
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    read_at: dt.datetime | None = None

    def covers(self, old: pa.Table) -> npt.NDArray[np.bool_]:
        """Per row of ``old`` (one branch and size): whether its window overlaps the span and it
        was computed before this computation read its movements."""
        covered = np.ones(old.num_rows, dtype=np.bool_)
        if self.start is not None:
            covered &= pc.greater(old["window_end"], _utc(self.start, "start")).to_numpy(zero_copy_only=False)
        if self.end is not None:
            covered &= pc.less(old["window_start"], _utc(self.end, "end")).to_numpy(zero_copy_only=False)
        if self.read_at is not None:
            # a row without a time (a file written before the column) counts as older
            older = pc.fill_null(pc.less(old["computed_at"], _utc(self.read_at, "read_at")), True)
            covered &= older.to_numpy(zero_copy_only=False)
        return covered


def write_kpis(table: pa.Table, data_dir: Path, recomputed: Recomputed | None = None) -> list[Path]:
    """Merge ``table`` (rows of :data:`KPI_SCHEMA`) into the store; the files written.

    With ``recomputed``, stored rows of its branches and span that ``table`` does not
    replace are dropped as well (see the module's docstring).
    """
    table = table.cast(KPI_SCHEMA)
    keys = pa.table({"branch_id": table["branch_id"], "window_minutes": table["window_minutes"]})
    groups = {
        (g["window_minutes"], g["branch_id"])
        for g in keys.group_by(["branch_id", "window_minutes"]).aggregate([]).to_pylist()
    }
    if recomputed is not None:
        groups |= {(recomputed.window_minutes, branch_id) for branch_id in recomputed.branch_ids}
    if not groups:
        return []
    written: list[Path] = []
    # read-merge-write: two writers at once (a batch's KPI step and `kpis`) would
    # each keep only their own windows, so they take turns
    with data_dir_lock(data_dir, KPIS_LOCK):
        for minutes, branch_id in sorted(groups):
            covered = recomputed if recomputed is not None and recomputed.window_minutes == minutes else None
            if covered is not None and branch_id not in covered.branch_ids:
                covered = None
            path = _merge_group(table, data_dir, branch_id, minutes, covered)
            if path is not None:
                written.append(path)
    return written


def _superseded(old: pa.Table, new: pa.Table) -> npt.NDArray[np.bool_]:
    """Per row of ``old``: whether its window overlaps a window of ``new`` (one branch and size).

    The windows of one computation follow each other without overlapping, so
    sorted by start their ends are sorted too: the only new window that can
    overlap an old one is the last one starting before the old one ends.
    """
    starts = new["window_start"].cast(pa.int64()).to_numpy()
    order = np.argsort(starts, kind="stable")
    starts, ends = starts[order], new["window_end"].cast(pa.int64()).to_numpy()[order]
    old_starts = old["window_start"].cast(pa.int64()).to_numpy()
    old_ends = old["window_end"].cast(pa.int64()).to_numpy()
    before = np.searchsorted(starts, old_ends, side="left") - 1
    overlaps: npt.NDArray[np.bool_] = (before >= 0) & (ends[np.maximum(before, 0)] > old_starts)
    # a zero-length row overlaps nothing by that test; it is replaced when it starts a new window
    same_start: npt.NDArray[np.bool_] = np.isin(old_starts, starts)
    return overlaps | same_start


def _merge_group(
    table: pa.Table, data_dir: Path, branch_id: str, minutes: int, recomputed: Recomputed | None
) -> Path | None:
    """Write the branch's file of this size; None where there is neither a file nor a row for it."""
    rows = table.filter(pc.and_(pc.equal(table["branch_id"], branch_id), pc.equal(table["window_minutes"], minutes)))
    path = kpi_path(data_dir, minutes, branch_id)
    if path.exists():
        old = _read_file(path)
        # Not only rows with the same start: a window cut differently (the branch's timezone
        # corrected in branches.yaml) overlaps the new ones and would count its people twice.
        dropped = _superseded(old, rows) if rows.num_rows else np.zeros(old.num_rows, dtype=np.bool_)
        if recomputed is not None:
            dropped |= recomputed.covers(old)
        kept = old.filter(pa.array(~dropped))
        rows = pa.concat_tables([kept, rows])
    elif rows.num_rows == 0:
        return None
    rows = rows.sort_by([("window_start", "ascending")])
    return atomic_write_table(rows, path)


def stored_window_ends(data_dir: Path, window_minutes: int, branch_ids: Sequence[str]) -> dict[str, dt.datetime]:
    """End of the last stored window of each of ``branch_ids`` that has KPI rows of that size."""
    ends: dict[str, dt.datetime] = {}
    for branch_id in branch_ids:
        path = kpi_path(data_dir, window_minutes, branch_id)
        if not path.exists():
            continue
        try:
            column = pq.read_table(path, columns=["window_end"])["window_end"]
        except (pa.ArrowInvalid, OSError, KeyError) as exc:
            raise DataError(f"{path}: cannot read window_end of the stored KPIs ({exc})") from exc
        last = pc.max(column).as_py()
        if last is not None:
            ends[branch_id] = last
    return ends


def _utc(moment: dt.datetime, name: str) -> pa.Scalar:
    return pa.scalar(require_aware(moment, name), pa.timestamp("us", tz="UTC"))


def read_kpis(
    data_dir: Path,
    branch_id: str | None = None,
    window_minutes: int | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
) -> pa.Table:
    """Stored KPI rows of :data:`KPI_SCHEMA`, sorted by window size, branch and window start.

    ``start``/``end`` keep windows overlapping ``[start, end)``.
    """
    # checked before the files are listed: a naive time is wrong even where nothing is stored
    # a str is taken as load_config and create_app take one
    data_dir = Path(data_dir)
    low = None if start is None else _utc(start, "start")
    high = None if end is None else _utc(end, "end")
    root = kpis_root(data_dir)
    if window_minutes is not None:
        # 60.0 would look in a "60.0m" folder that never exists and answer with no rows
        root = root / f"{check_window_minutes(window_minutes)}m"
    files = [
        path
        for path in parquet_files(root)
        if (window_minutes is not None or _SIZE_DIR.match(path.parent.name))
        and (branch_id is None or path.stem == branch_id)
    ]
    if not files:
        return KPI_SCHEMA.empty_table()
    table = pa.concat_tables([_read_file(path) for path in files])
    refuse_repeated_read(table, files, KPI_ROWS)  # a copied file would count its windows twice
    if branch_id is not None:
        table = table.filter(pc.equal(table["branch_id"], branch_id))
    if low is not None:
        table = table.filter(pc.greater(table["window_end"], low))
    if high is not None:
        table = table.filter(pc.less(table["window_start"], high))
    return table.sort_by([("window_minutes", "ascending"), ("branch_id", "ascending"), ("window_start", "ascending")])
