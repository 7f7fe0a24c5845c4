"""Data quality per camera and local day: door imbalance and staff flags (``retail-intel quality``).

In/out counts at a door never balance exactly; how far they miss says how
much to trust a day's occupancy. Per camera and local day (the branch's
timezone), over the customers (people not flagged as staff), each door
count on the local day it happened, as the KPIs count it:

* ``ins``: door-line crossings inwards (``line_in``), or one per visitor on
  a camera without a line, on the day of ``enter_time``;
* ``outs``: crossings outwards (``line_out``), or one per visitor whose exit
  was seen (``exit_observed``), on the day of ``exit_time`` (a customer in
  at 23:50 and out at 00:10 is an in on one day and an out on the next);
* ``imbalance = ins - outs`` and ``imbalance_ratio = |imbalance| / ins``
  (null without ins); ``flagged`` when the ratio exceeds the threshold (any
  imbalance on a day without ins);
* ``staff``: people flagged as staff, and ``people`` everybody counted: a
  visitor on the day of ``enter_time``, a passer-by on the day of
  ``first_seen``, as the KPIs book them (a passer-by's ``enter_time`` can
  fall after midnight when ``first_seen`` does not).

The KPI engines compute the same door counts per window (the whole local day)
to reconcile occupancy; this is the raw figure, before any fixing.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from retail_intel.errors import DataError, InputError
from retail_intel.kpis.store_scan import scan_store
from retail_intel.movements.filecheck import refuse_unreadable
from retail_intel.movements.overlap import outside_branches, plan_read
from retail_intel.movements.schema import MOVEMENT_SCHEMA
from retail_intel.movements.store import movements_root
from retail_intel.storage import is_plain_name, parquet_files, reread_once

if TYPE_CHECKING:
    from retail_intel.config.loader import Config

QUALITY_SCHEMA = pa.schema(
    [
        pa.field("branch_id", pa.string(), nullable=False),
        pa.field("camera_id", pa.string()),  # null for ingested rows without a camera
        pa.field("date", pa.date32(), nullable=False),  # local date in the branch's timezone
        pa.field("people", pa.int64(), nullable=False),  # movements counted (staff included)
        pa.field("staff", pa.int64(), nullable=False),  # of which flagged as staff
        pa.field("ins", pa.int64(), nullable=False),
        pa.field("outs", pa.int64(), nullable=False),
        pa.field("imbalance", pa.int64(), nullable=False),  # ins - outs
        pa.field("imbalance_ratio", pa.float64()),  # |imbalance| / ins
        pa.field("flagged", pa.bool_(), nullable=False),  # ratio over the threshold
    ]
)

_COLUMNS = (
    "branch_id",
    "camera_id",
    "action_type",
    "enter_time",
    "exit_time",
    "first_seen",
    "exit_observed",
    "is_staff",
    "line_in",
    "line_out",
)


def _read(data_dir: Path, branch_ids: list[str]) -> pa.Table:
    """:func:`_read_once`, listed and read again if a file went meanwhile (``compact``)."""
    return reread_once(lambda: _read_once(data_dir, branch_ids))


def _read_once(data_dir: Path, branch_ids: list[str]) -> pa.Table:
    import polars as pl

    root = movements_root(data_dir)
    files = [path for b in branch_ids if is_plain_name(b) for path in parquet_files(root / b)]
    outside = outside_branches(root, branch_ids, files)
    plan = plan_read(files, MOVEMENT_SCHEMA, outside)  # a video in its month and its own file is read once
    if plan.empty:
        return MOVEMENT_SCHEMA.empty_table().select(list(_COLUMNS))
    pinned = pl.Schema(pl.from_arrow(MOVEMENT_SCHEMA.empty_table().select(list(_COLUMNS))).schema)  # type: ignore[union-attr]
    try:
        frame = (
            # files older than the staff / line columns: those read as nulls
            scan_store(plan, list(_COLUMNS), schema=pinned, missing_columns="insert", extra_columns="ignore")
            .filter(pl.col("branch_id").is_in(branch_ids))
            .collect()
        )
    except (pl.exceptions.PolarsError, OSError) as exc:
        refuse_unreadable(plan.by_name)  # names the corrupt or foreign file when there is one
        raise DataError(f"{root}: cannot read the movement Parquet files ({exc})") from exc
    plan.verify()
    return frame.to_arrow()


def door_quality(
    config: Config,
    data_dir: Path,
    *,
    branch: str | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    threshold: float = 0.1,
    range_names: tuple[str, str] = ("start", "end"),
) -> pa.Table:
    """Rows of :data:`QUALITY_SCHEMA` per branch, camera and local date in ``[start, end]``, sorted.

    ``range_names`` name ``start`` and ``end`` in messages (the caller's flags, such as ``--from`` and ``--to``).
    """
    import polars as pl

    from retail_intel.datadir import require_retail_data

    require_retail_data(data_dir)  # a mistyped --data-dir is not "no movements"

    if not 0 <= threshold <= 1:
        raise InputError(f"threshold must be between 0 and 1, got {threshold}")
    if start is not None and end is not None and end < start:
        first, last = range_names
        raise InputError(f"{last} must not be before {first}, got from {start} to {end}")
    chosen = [config.branch(branch)] if branch is not None else list(config.branches)
    frame = pl.from_arrow(_read(data_dir, [b.id for b in chosen]))
    assert isinstance(frame, pl.DataFrame)
    parts = []
    staff = pl.col("is_staff").fill_null(False)
    visitor = (pl.col("action_type") == "entered") & ~staff
    zero = pl.lit(0, pl.Int64)
    for info in chosen:
        # other action types are not people the KPIs count (docs/kpis.md): left out here too
        mine = frame.lazy().filter(pl.col("branch_id") == info.id, pl.col("action_type").is_in(["entered", "passed"]))

        def on_day_of(column: str, tz: str = info.timezone) -> pl.Expr:
            return pl.col(column).dt.convert_time_zone(tz).dt.date().alias("date")

        # Ins (and the people counted) on the local day they entered, outs on the day they left;
        # a passer-by on the day first seen, the moment the KPIs' ``passed`` counts them at.
        booked = pl.when(pl.col("action_type") == "passed").then(pl.col("first_seen")).otherwise(pl.col("enter_time"))
        entries = mine.with_columns(booked=booked).select(
            "branch_id",
            "camera_id",
            on_day_of("booked"),
            people=pl.lit(1, pl.Int64),
            staff=staff.cast(pl.Int64),
            ins=pl.when(visitor).then(pl.col("line_in").fill_null(1)).otherwise(0).cast(pl.Int64),
            outs=zero,
        )
        exits = mine.filter(visitor).select(
            "branch_id",
            "camera_id",
            on_day_of("exit_time"),
            people=zero,
            staff=zero,
            ins=zero,
            outs=pl.col("line_out").fill_null(pl.col("exit_observed").fill_null(True).cast(pl.Int64)).cast(pl.Int64),
        )
        parts.append(
            pl.concat([entries, exits])
            .group_by("branch_id", "camera_id", "date")
            .agg(pl.col("people", "staff", "ins", "outs").sum())
        )
    if not parts:
        return QUALITY_SCHEMA.empty_table()
    result = (
        pl.concat(parts)
        .with_columns(imbalance=pl.col("ins") - pl.col("outs"))
        .with_columns(
            imbalance_ratio=pl.when(pl.col("ins") > 0).then(pl.col("imbalance").abs() / pl.col("ins")),
            # the ratio shown compared with the threshold: 57 of 100 ins (0.57) is not over 0.57, though
            # 0.57 * 100 is 56.99999999999999
            flagged=pl.when(pl.col("ins") > 0)
            .then(pl.col("imbalance").abs().cast(pl.Float64) / pl.col("ins").cast(pl.Float64) > threshold)
            .otherwise(pl.col("imbalance") != 0),
        )
        .filter(pl.col("date") >= (start or dt.date.min), pl.col("date") <= (end or dt.date.max))
        .sort("branch_id", "date", "camera_id", nulls_last=True)
        .select(QUALITY_SCHEMA.names)
        .collect()
    )
    return result.to_arrow().cast(QUALITY_SCHEMA)
