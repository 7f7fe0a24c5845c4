"""The engine-neutral inputs of a KPI computation and how they are prepared.

Preparation happens once, before an engine runs: it decides which windows
exist for each branch (:mod:`retail_intel.kpis.windows`) and turns branch
constants and staff / promotion / event intervals into small Arrow tables.
Both engines then receive the same :class:`KpiInputs` and do all KPI maths
themselves. Nothing here reads the config package: callers pass plain
:class:`BranchInfo` values and an :data:`IntervalSource`.
"""

from __future__ import annotations

import datetime as dt
import numbers
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from retail_intel.errors import DataError, InputError
from retail_intel.kpis.people_inputs import observed_staff_intervals, with_people_columns
from retail_intel.kpis.schema import (
    BRANCH_SCHEMA,
    INTERVAL_KINDS,
    INTERVAL_SCHEMA,
    MOVEMENT_INPUT_COLUMNS,
    PEOPLE_INPUT_COLUMNS,
    WINDOW_SCHEMA,
)
from retail_intel.kpis.windows import (
    Series,
    build_series,
    check_window_minutes,
    from_us,
    history_us,
    to_us,
    windows_table,
)
from retail_intel.kpis.zone_schema import QUEUE_WAIT_INPUT_SCHEMA


@dataclass(frozen=True)
class BranchInfo:
    """What the KPI formulas need to know about a branch."""

    branch_id: str
    timezone: str
    capacity: int
    customers_per_staff: float
    min_staff: int

    @property
    def tzinfo(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class Interval:
    """A span ``[start, end)`` (aware datetimes) of one kind: staff, promotion or event."""

    kind: str
    start: dt.datetime
    end: dt.datetime


# (branch_id, start, end) -> the branch's intervals overlapping [start, end):
# one "staff" interval per scheduled shift of each employee, one "promotion"
# per promotion, one "event" per event occurrence.
IntervalSource = Callable[[str, dt.datetime, dt.datetime], Iterable[Interval]]


def no_intervals(branch_id: str, start: dt.datetime, end: dt.datetime) -> list[Interval]:
    """An :data:`IntervalSource` for branches without staff, promotions or events."""
    return []


# How far back the history may reach: beyond these the look-back leaves the calendar (year 1).
MAX_BASELINE_WEEKS = 520
MAX_MOMENTUM_WINDOWS = 10_000


@dataclass(frozen=True)
class KpiParams:
    window_minutes: int
    baseline_weeks: int = 4
    momentum_windows: int = 6
    # A window whose mean queue wait reaches this is a full bottleneck (docs/kpis.md).
    queue_wait_target_s: float = 300.0
    computed_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    include_staff: bool = False  # count people flagged as staff as customers too
    imbalance_threshold: float = 0.1  # a day whose |ins - outs| exceeds this share of its ins is flagged

    def __post_init__(self) -> None:
        check_window_minutes(self.window_minutes)
        # a float count reached DuckDB's range() (BinderException) or ran as is in Polars
        for name in ("baseline_weeks", "momentum_windows"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise InputError(f"{name} must be a whole number (an int), got {value!r} ({type(value).__name__})")
        threshold = self.imbalance_threshold
        if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real):
            raise InputError(f"imbalance_threshold must be a number, got {threshold!r} ({type(threshold).__name__})")
        if not 1 <= self.baseline_weeks <= MAX_BASELINE_WEEKS:
            raise InputError(f"baseline_weeks must be between 1 and {MAX_BASELINE_WEEKS}, got {self.baseline_weeks}")
        if not 0 <= self.imbalance_threshold <= 1:
            raise InputError(f"imbalance_threshold must be between 0 and 1, got {self.imbalance_threshold}")
        if self.momentum_windows < 2:
            raise InputError(
                f"momentum_windows must be at least 2 (a slope needs two points), got {self.momentum_windows}"
            )
        if self.momentum_windows > MAX_MOMENTUM_WINDOWS:
            raise InputError(f"momentum_windows must be at most {MAX_MOMENTUM_WINDOWS}, got {self.momentum_windows}")


@dataclass(frozen=True)
class KpiInputs:
    """Everything an engine needs; see :mod:`retail_intel.kpis.schema` for the schemas."""

    # MOVEMENT_INPUT_COLUMNS + PEOPLE_INPUT_COLUMNS; staff rows included (engines drop them unless include_staff)
    movements: pa.Table
    windows: pa.Table  # WINDOW_SCHEMA
    branches: pa.Table  # BRANCH_SCHEMA
    intervals: pa.Table  # INTERVAL_SCHEMA
    # QUEUE_WAIT_INPUT_SCHEMA; empty where no branch has a queue
    queue_waits: pa.Table = field(default_factory=QUEUE_WAIT_INPUT_SCHEMA.empty_table)


@dataclass(frozen=True)
class PreparedInputs:
    inputs: KpiInputs
    unknown_branches: tuple[str, ...]  # movements whose branch has no BranchInfo


def data_spans(movements: pa.Table) -> dict[str, tuple[int, int] | None]:
    """Per branch, the first and last instant (µs) its movements touch.

    An ``entered`` movement touches ``enter_time`` up to ``exit_time`` (it
    occupies the floor until just before then, and its door out is at that
    instant: the window holding it exists, so the day's door counts do not
    depend on the window size); a ``passed`` one touches ``first_seen``. Rows of another action type touch nothing; a
    branch with only such rows maps to None. (A Polars group-by: it copes
    with the thousands of chunks a read of many small files produces.)
    """
    import polars as pl

    columns = ["branch_id", "action_type", "enter_time", "exit_time", "first_seen"]
    frame = pl.from_arrow(movements.select(columns), rechunk=False)
    assert isinstance(frame, pl.DataFrame)
    return _spans_of(frame)


def _spans_of(frame: Any) -> dict[str, tuple[int, int] | None]:
    """:func:`data_spans` of movements already converted to a Polars DataFrame."""
    import polars as pl

    for column in ("enter_time", "exit_time", "first_seen"):
        if frame[column].null_count():
            raise DataError(f"movements: {column} is empty in some rows; every movement needs it")
    action = pl.col("action_type")  # categorical or string: compared without decoding
    enter, exit_, seen = (pl.col(c).dt.epoch("us") for c in ("enter_time", "exit_time", "first_seen"))
    grouped = (
        frame.lazy()
        .filter(pl.col("branch_id").is_not_null())
        .group_by("branch_id")
        .agg(
            first=pl.when(action == "entered").then(enter).when(action == "passed").then(seen).min(),
            last=pl.when(action == "entered")
            .then(pl.max_horizontal(enter, exit_))
            .when(action == "passed")
            .then(seen)
            .max(),
        )
        .with_columns(pl.col("branch_id").cast(pl.String))
        .collect()
    )
    return {branch: None if lo is None or hi is None else (int(lo), int(hi)) for branch, lo, hi in grouped.iter_rows()}


def _branches_table(branches: Sequence[BranchInfo], series: dict[str, Series]) -> pa.Table:
    rows = [b for b in branches if b.branch_id in series]
    return pa.table(
        {
            "branch_id": [b.branch_id for b in rows],
            "capacity": [b.capacity for b in rows],
            "customers_per_staff": [float(b.customers_per_staff) for b in rows],
            "min_staff": [b.min_staff for b in rows],
            "grid_us": [series[b.branch_id].grid_us for b in rows],
        },
        schema=BRANCH_SCHEMA,
    )


def _intervals_table(branches: Sequence[BranchInfo], series: dict[str, Series], source: IntervalSource) -> pa.Table:
    branch_ids: list[str] = []
    kinds: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for branch in branches:
        windows = series.get(branch.branch_id)
        if windows is None:
            continue
        lo, hi = from_us(int(windows.starts[0])), from_us(int(windows.ends[-1]))
        found = list(source(branch.branch_id, lo, hi))
        if not any(i.kind == "open" for i in found):
            # A branch with opening hours keeps them even when none falls in the range computed
            # (an evening after closing): a zero-length open interval marks it, so its windows
            # count as closed instead of as "no opening hours known" (always open).
            near = source(branch.branch_id, lo - dt.timedelta(days=8), hi + dt.timedelta(days=8))
            if any(i.kind == "open" for i in near):
                branch_ids.append(branch.branch_id)
                kinds.append("open")
                starts.append(to_us(lo))
                ends.append(to_us(lo))
        for interval in found:
            if interval.kind not in INTERVAL_KINDS:
                raise InputError(
                    f"branch {branch.branch_id}: interval kind must be one of {', '.join(INTERVAL_KINDS)}, "
                    f"got {interval.kind!r}"
                )
            start, end = to_us(interval.start), to_us(interval.end)
            if end > start:
                branch_ids.append(branch.branch_id)
                kinds.append(interval.kind)
                starts.append(start)
                ends.append(end)
    ts = pa.timestamp("us", tz="UTC")
    return pa.table(
        {
            "branch_id": pa.array(branch_ids, pa.string()),
            "kind": pa.array(kinds, pa.string()),
            "start": pa.array(np.array(starts, dtype=np.int64), ts),
            "end": pa.array(np.array(ends, dtype=np.int64), ts),
        },
        schema=INTERVAL_SCHEMA,
    )


def prepare_inputs(
    movements: pa.Table,
    branches: Sequence[BranchInfo],
    params: KpiParams,
    *,
    intervals: IntervalSource = no_intervals,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    queue_waits: pa.Table | None = None,
    stored_ends: Mapping[str, dt.datetime] | None = None,
    range_names: tuple[str, str] = ("start", "end"),
) -> PreparedInputs:
    """Decide the windows of every branch with data and build the engine inputs.

    ``movements`` holds at least :data:`MOVEMENT_INPUT_COLUMNS`. Branches in
    ``branches`` without movements produce no windows; movements of branches
    missing from ``branches`` are reported in ``unknown_branches``.
    ``stored_ends`` (branch -> end of its last stored window) makes a range
    start at the stored end when that is before ``start`` (see build_series).
    ``range_names`` name ``start`` and ``end`` in messages (the caller's flags, such as ``--from`` and ``--to``).
    """
    missing = [c for c in MOVEMENT_INPUT_COLUMNS if c not in movements.column_names]
    if missing:
        raise InputError(f"movements lack the column(s) {', '.join(missing)}")
    if start is not None and end is not None and end <= start:
        first, last = range_names
        raise InputError(f"{last} must be after {first}, got from {start.isoformat()} to {end.isoformat()}")
    movements = with_people_columns(movements).select([*MOVEMENT_INPUT_COLUMNS, *PEOPLE_INPUT_COLUMNS])
    import polars as pl

    # One conversion to Polars serves the data spans and the observed-staff intervals.
    frame = pl.from_arrow(
        movements.select(["branch_id", "action_type", "enter_time", "exit_time", "first_seen", "is_staff"]),
        rechunk=False,
    )
    spans = _spans_of(frame)
    known = {b.branch_id: b for b in branches}
    unknown = tuple(sorted(b for b, span in spans.items() if b not in known and span is not None))
    reach_back = history_us(
        params.window_minutes, baseline_weeks=params.baseline_weeks, momentum_windows=params.momentum_windows
    )
    series: dict[str, Series] = {}
    for branch_id, span in spans.items():
        branch = known.get(branch_id)
        if branch is None or span is None:
            continue
        stored_end = None if stored_ends is None else stored_ends.get(branch_id)
        built = build_series(
            branch.tzinfo,
            params.window_minutes,
            data_first_us=span[0],
            data_last_us=span[1],
            out_start_us=None if start is None else to_us(start),
            out_end_us=None if end is None else to_us(end),
            history_us=reach_back,
            stored_end_us=None if stored_end is None else to_us(stored_end),
        )
        if built is not None:
            series[branch_id] = built
    ordered = [b for b in branches if b.branch_id in series]
    if set(spans) - set(series):
        # Rows of branches without windows would only be filtered out again by the engines.
        branch_col = movements["branch_id"]
        if pa.types.is_dictionary(branch_col.type):
            branch_col = branch_col.cast(pa.string())
        movements = movements.filter(pc.is_in(branch_col, value_set=pa.array(sorted(series), pa.string())))
    observed_staff = observed_staff_intervals(frame, series)
    return PreparedInputs(
        inputs=KpiInputs(
            movements=movements,
            windows=windows_table(series) if series else WINDOW_SCHEMA.empty_table(),
            branches=_branches_table(ordered, series),
            intervals=pa.concat_tables([_intervals_table(ordered, series, intervals), observed_staff]),
            queue_waits=QUEUE_WAIT_INPUT_SCHEMA.empty_table() if queue_waits is None else queue_waits,
        ),
        unknown_branches=unknown,
    )
