"""The feature store: ``DATA_DIR/features/hourly/<branch_id>.parquet``, one file per branch.

Same rules as the KPI store: recomputed rows replace older rows with the same
``(branch_id, window_start)``, other rows are kept, and each file is rewritten
whole with :func:`retail_intel.storage.atomic_write_table`. Rows are sorted by
``window_start`` and carry no timestamp of their own, so writing the same rows
twice gives the same bytes.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from retail_intel.errors import DataError
from retail_intel.etl.schema import FEATURE_SCHEMA
from retail_intel.movements.repeats import RowKey, refuse_repeated_read
from retail_intel.storage import FEATURES_DIR, atomic_write_table, parquet_files, read_table_as
from retail_intel.timeutil import require_aware

HOURLY_DIR = "hourly"


# One row per branch and hourly KPI window: a branch's rows are in its one file, where
# write_branch_features replaces the rows of the windows it writes; the rest follows from the window.
FEATURE_KEY = ("branch_id", "window_start")
FEATURE_ROWS = RowKey("branch_features", FEATURE_SCHEMA, FEATURE_KEY, "feature hour", "every hour in it")


def features_root(data_dir: Path) -> Path:
    return data_dir / FEATURES_DIR / HOURLY_DIR


def feature_path(data_dir: Path, branch_id: str) -> Path:
    # The id becomes a file name: refuse anything that could escape the folder.
    if not branch_id or branch_id in (".", "..") or "/" in branch_id or "\\" in branch_id:
        raise DataError(f"branch id {branch_id!r} cannot be used as a file name in {FEATURES_DIR}/{HOURLY_DIR}/")
    return features_root(data_dir) / f"{branch_id}.parquet"


def _read_file(path: Path) -> pa.Table:
    return read_table_as(path, FEATURE_SCHEMA, "feature")


def write_branch_features(
    table: pa.Table, data_dir: Path, branch_id: str, windows: pa.Array | None = None
) -> Path | None:
    """Merge one branch's rows (:data:`FEATURE_SCHEMA`) into its file; the path, or None when nothing changed.

    ``windows``: the starts of the branch's stored hourly KPI windows. A stored feature row of an
    hour that is no longer among them goes: its KPI window lost its movements (a video redone
    with a corrected start time) and the row would keep the people it had counted.
    """
    rows = table.cast(FEATURE_SCHEMA)
    others = pc.any(pc.not_equal(rows["branch_id"], branch_id)).as_py()
    if others:
        raise DataError(f"feature rows of other branches handed to the writer of {branch_id!r}")
    path = feature_path(data_dir, branch_id)
    if path.exists():
        old = _read_file(path)
        dropped = pc.is_in(old["window_start"], value_set=rows["window_start"])
        if windows is not None:
            gone = pc.invert(pc.is_in(old["window_start"], value_set=windows.cast(old["window_start"].type)))
            dropped = pc.or_(dropped, gone)
        if rows.num_rows == 0 and not pc.any(dropped).as_py():
            return None
        rows = pa.concat_tables([old.filter(pc.invert(dropped)), rows])
    elif rows.num_rows == 0:
        return None
    rows = rows.sort_by([("window_start", "ascending")])
    return atomic_write_table(rows, path)


def _utc(moment: dt.datetime, name: str) -> pa.Scalar:
    return pa.scalar(require_aware(moment, name), pa.timestamp("us", tz="UTC"))


def read_features(
    data_dir: Path,
    branch_id: str | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
) -> pa.Table:
    """Stored feature rows, sorted by branch and window start; ``start``/``end`` keep ``[start, end)`` starts."""
    # checked before the files are listed: a naive time is wrong even where nothing is stored
    # a str is taken as load_config and create_app take one
    data_dir = Path(data_dir)
    low = None if start is None else _utc(start, "start")
    high = None if end is None else _utc(end, "end")
    root = features_root(data_dir)
    files = [p for p in parquet_files(root) if p.parent == root and (branch_id is None or p.stem == branch_id)]
    if not files:
        return FEATURE_SCHEMA.empty_table()
    table = pa.concat_tables([_read_file(path) for path in files])
    refuse_repeated_read(table, files, FEATURE_ROWS)  # a copied file would count its hours twice
    if low is not None:
        table = table.filter(pc.greater_equal(table["window_start"], low))
    if high is not None:
        table = table.filter(pc.less(table["window_start"], high))
    return table.sort_by([("branch_id", "ascending"), ("window_start", "ascending")])
