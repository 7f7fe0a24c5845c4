"""Preparing the zone KPI inputs: one lazy scan per zone table, and a small table of windows.

Windows are the branch KPIs' windows (:func:`retail_intel.kpis.windows.day_windows`:
tumbling from local midnight, DST days 23 or 25 hours). A visit belongs to
the window of its enter_time, a queue row to the window of its queue_enter,
a queue-length minute to the window of its start, and a movement to the
window of its enter_time (entered) or first_seen (passed), as in the branch
KPIs.

Millions of rows never get a window each here. Every row gets a ``cell``
instead, computed inside the scan: its branch's code and the block of time it
falls in (``branch * 2**32 + µs // block``). Blocks are short (15 minutes,
or less where the window size asks) and every window boundary of a
real-world timezone falls on one, so a cell lies in exactly one window; that
is checked, and a finer block is tried when it does not hold. Only the
distinct cells (about 470,000 for 100 branches over 90 days) are placed in
windows, in numpy, and the engines join on the integer. Queue lengths and ROI movements only feed sums,
counts and maxima, so they are summed per cell inside the scan too: 6.8
million queue-length minutes become about 450,000 rows (docs/zones.md).
Rows of branches not asked for are dropped in the scan, and cells of windows
outside ``[start, end)`` are missing from the window table, so neither engine
sees them.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa

from retail_intel.errors import DataError
from retail_intel.kpis.windows import US_PER_SECOND, day_windows, local_date, to_us
from retail_intel.kpis.zone_schema import (
    CELL_SCHEMA,
    LENGTH_INPUT_SCHEMA,
    QUEUE_INPUT_SCHEMA,
    ROI_INPUT_SCHEMA,
    VISIT_INPUT_SCHEMA,
    ZONE_WINDOW_SCHEMA,
)
from retail_intel.movements.repeats import KEY_HASH, repeats_a_hash

Int64Array = npt.NDArray[np.int64]

CELL_SHIFT = 32  # a cell is branch code * 2**32 + block number
_BLOCK_MASK = (1 << CELL_SHIFT) - 1
_ID_COLUMNS = ("camera_id", "zone_id", "zone_kind")


@dataclass(frozen=True)
class ZoneKpiInputs:
    visits: pa.Table  # VISIT_INPUT_SCHEMA
    roi: pa.Table  # ROI_INPUT_SCHEMA: movements of cameras with zones, counted per camera and cell
    queues: pa.Table  # QUEUE_INPUT_SCHEMA
    lengths: pa.Table  # LENGTH_INPUT_SCHEMA
    cells: pa.Table  # CELL_SCHEMA: the window of each cell above that lies in a window asked for
    windows: pa.Table  # ZONE_WINDOW_SCHEMA: those windows' branch and bounds
    # of ZoneSources.hashed: the tables where a key hash repeats (a copied file, or two keys with one hash)
    repeated: tuple[str, ...] = ()


@dataclass(frozen=True)
class ZoneSources:
    """The stored zone tables and the ROI movements as lazy frames (files to scan, or tables in memory).

    Each zone table holds at least the columns its reader below selects, as
    stored (:mod:`retail_intel.movements.zone_schema`); ``moments`` is
    :func:`roi_moments` of the movements. Staff are already left out of all
    four where the KPIs leave them out (:func:`without_staff`).
    """

    visits: pl.LazyFrame
    queues: pl.LazyFrame
    lengths: pl.LazyFrame
    moments: pl.LazyFrame
    # Of "visits", "queues", "lengths": tables whose frame carries each row's key hash (KEY_HASH)
    # for the copied-file check, taken in this scan instead of a second read of the files. Visits
    # and queues then also carry KEPT, and their staff are left out after the hashes are looked at.
    hashed: tuple[str, ...] = ()


KEPT = "_kept"  # a row the KPIs count (not a staff member's); null or false: left out
_REPEATS = "_repeats"  # per summed cell: rows whose key hash another row of the cell has too


def roi_moments(movements: pl.LazyFrame, *, include_staff: bool = False) -> pl.LazyFrame:
    """branch_id, camera_id and the ``moment`` that places each person of the ROI in a window.

    ``movements`` holds branch_id, camera_id, action_type, enter_time,
    first_seen and is_staff. The moment is enter_time for the entered and
    first_seen for the passed, as in the branch KPIs; other actions are not
    counted, nor people flagged as staff unless ``include_staff`` (is_staff
    null: not judged, a customer), nor movements without a camera.
    """
    entered = pl.col("action_type") == "entered"
    # Ingested events (the seed's payload) have no camera_id: no camera's zones saw them, so they
    # are no camera's ROI people, and a null id cannot be joined to a camera's zone rows anyway.
    counted = (entered | (pl.col("action_type") == "passed")) & pl.col("camera_id").is_not_null()
    if not include_staff:
        counted &= ~pl.col("is_staff").fill_null(False)
    return movements.filter(counted).select(
        "branch_id",
        "camera_id",
        pl.when(entered).then(pl.col("enter_time")).otherwise(pl.col("first_seen")).alias("moment"),
    )


def without_staff(rows: pl.LazyFrame, staff_ids: Sequence[str]) -> pl.LazyFrame:
    """``rows`` (zone visits or queue rows, with customer_id) less those of the people in ``staff_ids``.

    A person's zone rows carry the customer id of their movement, which holds
    the staff flag (docs/zones.md): staff are left out of the zone and queue
    KPIs as they are out of the branch KPIs.
    """
    if not staff_ids:
        return rows
    return rows.filter(~pl.col("customer_id").is_in(list(staff_ids)))


def staff_ids_of(movements: pl.LazyFrame) -> list[str]:
    """The customer ids of ``movements`` (customer_id, is_staff) flagged as staff."""
    return movements.filter(pl.col("is_staff").fill_null(False)).select("customer_id").collect().to_series().to_list()


def window_bounds(times_us: Int64Array, tz: ZoneInfo, minutes: int) -> tuple[Int64Array, Int64Array]:
    """(start, end) in µs of the local window holding each instant."""
    if len(times_us) == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    first, last = local_date(int(times_us.min()), tz), local_date(int(times_us.max()), tz)
    starts: list[Int64Array] = []
    ends: list[Int64Array] = []
    day = first
    while day <= last:
        windows = day_windows(day, tz, minutes)
        starts.append(windows.starts)
        ends.append(windows.ends)
        day += dt.timedelta(days=1)
    all_starts, all_ends = np.concatenate(starts), np.concatenate(ends)
    index = np.searchsorted(all_starts, times_us, side="right") - 1
    return all_starts[index], all_ends[index]


def block_sizes_us(minutes: int) -> list[int]:
    """Block lengths to try, longest first: 15 minutes (or what divides both it and the window), 1 min, 1 s.

    Local midnights of every zone in use today are whole quarter hours from
    UTC midnight; the finer blocks are for historical offsets.
    """
    first = math.gcd(minutes, 15) * 60 * US_PER_SECOND
    return sorted({first, 60 * US_PER_SECOND, US_PER_SECOND}, reverse=True)


def _code(branch: pl.Expr, codes: Mapping[str, int]) -> pl.Expr:
    """Each branch's code; null for branches not in ``codes`` (their rows are dropped).

    An Enum of the branch ids numbers them in the order of ``codes`` (0, 1, ...)
    without turning each row's id into a string (which costs a lot of memory over millions).
    """
    return branch.cast(pl.Enum(list(codes)), strict=False).to_physical().cast(pl.Int64)


def _block(time: str, block_us: int) -> pl.Expr:
    return (pl.col(time).dt.epoch("us") // block_us).alias("block")


def _cell(codes: Mapping[str, int], block: pl.Expr) -> pl.Expr:
    # Times before 1970 would give negative blocks and cells of the wrong branch: no store holds any.
    return (_code(pl.col("branch_id"), codes) * (1 << CELL_SHIFT) + block).alias("cell")


def _ids(*names: str) -> list[pl.Expr]:
    return [pl.col(name).cast(pl.Categorical) for name in names]


def _scans(
    sources: ZoneSources, codes: Mapping[str, int], block_us: int
) -> tuple[pl.LazyFrame, pl.LazyFrame, pl.LazyFrame, pl.LazyFrame]:
    """The four engine inputs as lazy queries: projection, cells and per-cell sums run in the scan.

    Queue lengths and movements are summed per branch, camera, zone and block
    before their cells are computed: from millions of rows to a few hundred thousand.
    """
    hashed = sources.hashed
    visits = _rows(
        sources.visits,
        "visits" in hashed,
        _cell(codes, _block("enter_time", block_us)),
        *_ids(*_ID_COLUMNS),
        "dwell_seconds",
        "counted",
    )
    queues = _rows(
        sources.queues,
        "queues" in hashed,
        _cell(codes, _block("queue_enter", block_us)),
        *_ids("camera_id", "zone_id"),
        "wait_seconds",
        "service_seconds",
        "abandoned",
    )
    sums = [pl.col("observed_seconds", "people_seconds").sum(), pl.col("peak_people").max()]
    if "lengths" in hashed:
        # A key's rows share their branch, camera, zone and minute, hence their cell: a key on two
        # rows shows as a hash repeated inside one cell, counted as the rows are summed.
        sums.append((pl.col(KEY_HASH).count() - pl.col(KEY_HASH).drop_nulls().n_unique()).alias(_REPEATS))
    lengths = (
        sources.lengths.group_by("branch_id", "camera_id", "zone_id", _block("minute", block_us))
        .agg(sums)
        .select(
            _cell(codes, pl.col("block")),
            *_ids("camera_id", "zone_id"),
            "observed_seconds",
            "people_seconds",
            "peak_people",
            *([_REPEATS] if "lengths" in hashed else []),
        )
    )
    if "lengths" not in hashed:
        lengths = lengths.drop_nulls("cell")
    roi = (
        sources.moments.group_by("branch_id", "camera_id", _block("moment", block_us))
        .agg(people=pl.len().cast(pl.Int64))
        .select(_cell(codes, pl.col("block")), *_ids("camera_id"), "people")
        .drop_nulls("cell")
    )
    return visits, roi, queues, lengths


def _rows(rows: pl.LazyFrame, hashed: bool, *columns: str | pl.Expr) -> pl.LazyFrame:
    """``columns`` of the rows with a cell; hashed: of every row, with KEY_HASH and KEPT (see :func:`_checked`)."""
    if hashed:
        return rows.select(*columns, KEY_HASH, KEPT)
    return rows.select(*columns).drop_nulls("cell")


def _checked(frames: Sequence[pl.DataFrame], hashed: Sequence[str]) -> tuple[list[pl.DataFrame], tuple[str, ...]]:
    """``frames`` (visits, roi, queues, lengths) as the unhashed scans give them, and the tables of
    ``hashed`` where a key hash repeats.

    Every row of a hashed table came back, staff and rows of no branch asked for too, as the
    check counts them; they are left out here.
    """
    out = list(frames)
    repeated: list[str] = []
    for name, at in (("visits", 0), ("queues", 2)):
        if name in hashed:
            if repeats_a_hash(out[at].get_column(KEY_HASH)):
                repeated.append(name)
            out[at] = out[at].filter(pl.col(KEPT)).drop_nulls("cell").drop(KEY_HASH, KEPT)
    if "lengths" in hashed:
        if out[3].get_column(_REPEATS).sum() > 0:
            repeated.append("lengths")
        out[3] = out[3].drop_nulls("cell").drop(_REPEATS)
    return out, tuple(repeated)


def _window_cells(
    cells: Int64Array,
    branch_ids: list[str],
    timezones: Mapping[str, ZoneInfo],
    minutes: int,
    block_us: int,
    start: dt.datetime | None,
    end: dt.datetime | None,
) -> tuple[pa.Table, pa.Table] | None:
    """(cell -> window id, window id -> branch and bounds) of the sorted distinct ``cells``.

    None when a block straddles two windows (a finer block is needed).
    """
    codes = cells >> CELL_SHIFT
    blocks = cells & _BLOCK_MASK
    ws = np.empty(len(cells), np.int64)
    we = np.empty(len(cells), np.int64)
    cuts = np.searchsorted(codes, np.arange(len(branch_ids) + 1))
    for code, name in enumerate(branch_ids):
        part = slice(int(cuts[code]), int(cuts[code + 1]))
        ws[part], we[part] = window_bounds(blocks[part] * block_us, timezones[name], minutes)
    if ((blocks + 1) * block_us > we).any():
        return None
    keep = np.ones(len(cells), bool)
    if start is not None:
        keep &= we > to_us(start)
    if end is not None:
        keep &= ws < to_us(end)
    cells, codes, ws, we = cells[keep], codes[keep], ws[keep], we[keep]
    # cells are sorted by branch, then time: a new window starts where the branch or the start changes
    first = np.ones(len(cells), bool)
    first[1:] = (codes[1:] != codes[:-1]) | (ws[1:] != ws[:-1])
    wid = (np.cumsum(first) - 1).astype(np.int32)
    names = pa.array(branch_ids, pa.string()).take(pa.array(codes[first]))
    windows = pa.table(
        {"wid": np.arange(int(first.sum()), dtype=np.int32), "branch_id": names, "ws": ws[first], "we": we[first]},
        schema=ZONE_WINDOW_SCHEMA,
    )
    return pa.table({"cell": cells, "wid": wid}, schema=CELL_SCHEMA), windows


def collect_zone_inputs(
    sources: ZoneSources,
    timezones: Mapping[str, ZoneInfo],
    minutes: int,
    *,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
) -> ZoneKpiInputs:
    """Run the four scans once (with Polars' streaming engine) and place their cells in windows."""
    branch_ids = sorted(timezones)
    codes = {name: code for code, name in enumerate(branch_ids)}
    for block_us in block_sizes_us(minutes):
        try:
            frames, repeated = _checked(
                pl.collect_all(_scans(sources, codes, block_us), engine="streaming"), sources.hashed
            )
        except (pl.exceptions.PolarsError, OSError) as exc:
            raise DataError(f"cannot read the zone tables ({exc})") from exc
        distinct = pl.concat([f.get_column("cell") for f in frames]).unique().sort()
        placed = _window_cells(
            distinct.to_numpy().astype(np.int64), branch_ids, timezones, minutes, block_us, start, end
        )
        if placed is not None:
            break
    else:  # pragma: no cover - a whole-second offset always lands on the 1 s blocks
        raise DataError("zone KPIs: window boundaries do not fall on whole seconds")
    visits, roi, queues, lengths = (f.to_arrow() for f in frames)
    return ZoneKpiInputs(
        visits=visits.select(VISIT_INPUT_SCHEMA.names).cast(VISIT_INPUT_SCHEMA),
        roi=roi.select(ROI_INPUT_SCHEMA.names).cast(ROI_INPUT_SCHEMA),
        queues=queues.select(QUEUE_INPUT_SCHEMA.names).cast(QUEUE_INPUT_SCHEMA),
        lengths=lengths.select(LENGTH_INPUT_SCHEMA.names).cast(LENGTH_INPUT_SCHEMA),
        cells=placed[0],
        windows=placed[1],
        repeated=repeated,
    )


def _lazy(table: pa.Table) -> pl.LazyFrame:
    frame = pl.from_arrow(table, rechunk=False)
    assert isinstance(frame, pl.DataFrame)
    return frame.lazy()


def prepare_zone_inputs(
    visits: pa.Table,
    queues: pa.Table,
    lengths: pa.Table,
    movements: pa.Table,
    timezones: Mapping[str, ZoneInfo],
    minutes: int,
    *,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    include_staff: bool = False,
) -> ZoneKpiInputs:
    """The engine inputs from zone tables and movements already in memory (see the module docstring).

    ``movements`` holds branch_id, camera_id, action_type, enter_time,
    first_seen and, to tell staff, customer_id and is_staff. Unless
    ``include_staff``, the visits, queue rows and ROI people of customers
    flagged as staff there are left out.
    """
    for name, kind in (("customer_id", pa.string()), ("is_staff", pa.bool_())):
        if name not in movements.column_names:  # as a file written before the staff flag: customers
            movements = movements.append_column(name, pa.nulls(movements.num_rows, kind))
    moves = _lazy(movements)
    staff = [] if include_staff else staff_ids_of(moves)
    sources = ZoneSources(
        without_staff(_lazy(visits), staff),
        without_staff(_lazy(queues), staff),
        _lazy(lengths),
        roi_moments(moves, include_staff=include_staff),
    )
    return collect_zone_inputs(sources, timezones, minutes, start=start, end=end)
