"""A movement file copied into the store under another name, found before its rows count twice.

No writer stores one movement twice: a video written again replaces its file, and ``compact``
and a re-processed video leave a source both in its month and in its own file only for a moment
that :func:`~retail_intel.movements.overlap.plan_read` resolves (the month is read without it). A
batch hand-over does store a person twice, but under each segment's own ``video_fingerprint``.
So :data:`MOVEMENT_KEY` on two rows of a read means a file is there twice (a backup kept beside
it, a file ingested again under another name). ``kpis``, ``etl``, ``report`` and ``sql`` refuse it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from retail_intel.errors import DataError
from retail_intel.movements.overlap import StoreRead, plan_read
from retail_intel.movements.schema import MOVEMENT_SCHEMA
from retail_intel.movements.store import movement_files

if TYPE_CHECKING:
    from pathlib import Path

    import polars as pl

# one person entering one branch at one instant, as one video saw it
MOVEMENT_KEY = ("customer_id", "branch_id", "enter_time", "video_fingerprint")
MOVEMENT_TABLE = "customer_branch_movement"


def _key_rows(plan: StoreRead, branch_ids: Sequence[str] | None, *, with_file: bool) -> pl.LazyFrame:
    import polars as pl

    # here, not at the top: retail_intel.kpis imports this module while it loads
    from retail_intel.kpis.store_scan import scan_store

    key = list(MOVEMENT_KEY)
    pinned = pl.Schema(pl.from_arrow(MOVEMENT_SCHEMA.empty_table().select(key)).schema)  # type: ignore[union-attr]
    options: dict[str, object] = {"schema": pinned, "missing_columns": "insert", "extra_columns": "ignore"}
    if not with_file:
        rows = scan_store(plan, key, **options)
    else:
        parts = []
        if plan.by_name:
            by_name = StoreRead(plan.by_name, [])
            parts.append(scan_store(by_name, [*key, "file"], include_file_paths="file", **options))
        for path, table in zip(plan.cut_from, plan.cut, strict=True):
            parts.append(scan_store(StoreRead([], [table]), key).with_columns(file=pl.lit(str(path))))
        rows = pl.concat(parts, how="diagonal_relaxed")
    if branch_ids is not None:
        rows = rows.filter(pl.col("branch_id").is_in(list(branch_ids)))
    return rows.drop_nulls(key).with_columns(_hash=pl.struct(key).hash(seed=0))


def refuse_repeated_movements(plan: StoreRead, branch_ids: Sequence[str] | None = None) -> None:
    """:class:`DataError` naming a :data:`MOVEMENT_KEY` on more than one row of ``plan``, and its files.

    A first pass keeps only each row's 64-bit key hash (streamed, so no customer id is held);
    only the rows whose hash repeats are read again with their keys and files.
    """
    import polars as pl

    if plan.empty:
        return
    try:
        hashes = _key_rows(plan, branch_ids, with_file=False).select("_hash").collect(engine="streaming")
        repeated = hashes.filter(pl.col("_hash").is_duplicated()).get_column("_hash").unique()
        if repeated.is_empty():
            return
        key = list(MOVEMENT_KEY)
        found = (
            _key_rows(plan, branch_ids, with_file=True)
            .filter(pl.col("_hash").is_in(repeated.implode()))
            .group_by(key)
            .agg(pl.col("file").unique().sort(), pl.len().alias("_rows"))
            .filter(pl.col("_rows") > 1)
            .sort(key)
            .head(1)
            .collect()
        )
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise DataError(f"{MOVEMENT_TABLE}: cannot read the movement keys of the Parquet files ({exc})") from exc
    if found.height == 0:
        return  # two keys with one hash, not one key twice
    row = found.row(0, named=True)
    files = [str(f) for f in row["file"]]
    holders = " and ".join(files) if len(files) > 1 else f"{files[0]} (on more than one row)"
    raise DataError(
        f"{MOVEMENT_TABLE}: the same movement ({', '.join(MOVEMENT_KEY)}) appears on more than one row of "
        f"the Parquet files: {', '.join(str(row[k]) for k in MOVEMENT_KEY)} in {holders}; a file copied into "
        "the data directory (a backup kept beside it, a file ingested again under another name) would count "
        "every person in it twice: move the extra copy out of it"
    )


def refuse_repeated_store(data_dir: Path) -> None:
    """:func:`refuse_repeated_movements` over the whole movement store, read as ``kpis`` reads it."""
    files = movement_files(data_dir)
    if files:
        plan = plan_read(files, MOVEMENT_SCHEMA)
        refuse_repeated_movements(plan)
        plan.verify()
