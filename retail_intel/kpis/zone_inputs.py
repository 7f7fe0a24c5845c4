"""Preparing the zone KPI inputs: every row gets its branch-local window, once, for both engines.

Windows are the branch KPIs' windows (:func:`retail_intel.kpis.windows.day_windows`:
tumbling from local midnight, DST days 23 or 25 hours). A visit belongs to
the window of its enter_time, a queue row to the window of its queue_enter,
a queue-length minute to the window of its start, and a movement to the
window of its enter_time (entered) or first_seen (passed), as in the branch
KPIs. Rows of branches not asked for, or of windows outside ``[start, end)``,
are dropped here so neither engine sees them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from retail_intel.kpis.windows import day_windows, local_date, to_us
from retail_intel.kpis.zone_schema import (
    LENGTH_INPUT_SCHEMA,
    QUEUE_INPUT_SCHEMA,
    ROI_INPUT_SCHEMA,
    VISIT_INPUT_SCHEMA,
)

Int64Array = npt.NDArray[np.int64]


@dataclass(frozen=True)
class ZoneKpiInputs:
    visits: pa.Table  # VISIT_INPUT_SCHEMA
    roi: pa.Table  # ROI_INPUT_SCHEMA: one row per movement of a camera with zones
    queues: pa.Table  # QUEUE_INPUT_SCHEMA
    lengths: pa.Table  # LENGTH_INPUT_SCHEMA


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


def _codes(column: pa.ChunkedArray) -> tuple[npt.NDArray[np.int64], list[str]]:
    """Each row's index into a list of the column's distinct values (dictionary columns stay encoded)."""
    if not pa.types.is_dictionary(column.type):
        column = column.dictionary_encode()
    column = column.unify_dictionaries()
    if column.num_chunks == 0:
        return np.empty(0, np.int64), []
    names = [str(v) for v in column.chunk(0).dictionary.to_pylist()]
    codes = np.concatenate([c.indices.to_numpy(zero_copy_only=False).astype(np.int64) for c in column.chunks])
    return codes, names


def _equals(column: pa.ChunkedArray, value: str) -> npt.NDArray[np.bool_]:
    """Rows equal to ``value``, without decoding a dictionary column into millions of strings."""
    codes, names = _codes(column)
    return codes == names.index(value) if value in names else np.zeros(len(codes), bool)


def with_windows(
    table: pa.Table,
    times_us: Int64Array,
    timezones: Mapping[str, ZoneInfo],
    minutes: int,
    schema: pa.Schema,
    *,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
) -> pa.Table:
    """``table`` (holding ``schema``'s columns but ws/we) with each row's window, as ``schema``."""
    if table.num_rows == 0:
        return schema.empty_table()
    codes, names = _codes(table.column("branch_id"))
    ws = np.zeros(len(codes), np.int64)
    we = np.zeros(len(codes), np.int64)
    known = np.zeros(len(codes), bool)
    order = np.argsort(codes, kind="stable")
    cuts = np.r_[0, np.cumsum(np.bincount(codes, minlength=len(names)))]
    for code, name in enumerate(names):
        tz = timezones.get(name)
        if tz is None:
            continue
        rows = order[cuts[code] : cuts[code + 1]]
        ws[rows], we[rows] = window_bounds(times_us[rows], tz, minutes)
        known[rows] = True
    if start is not None:
        known &= we > to_us(start)
    if end is not None:
        known &= ws < to_us(end)
    columns = {name: table.column(name) for name in schema.names if name not in ("ws", "we")}
    out = pa.table({**columns, "ws": pa.array(ws), "we": pa.array(we)})
    if not known.all():  # filtering copies every column: only when something must go
        out = out.filter(pa.array(known))
    return out.cast(schema)


def _us(table: pa.Table, name: str) -> Int64Array:
    return np.asarray(table.column(name).cast(pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)


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
) -> ZoneKpiInputs:
    """The four engine inputs from the zone tables and the movements (see the module docstring).

    ``movements`` holds branch_id, camera_id, action_type, enter_time and first_seen.
    """
    kw = {"start": start, "end": end}
    is_entered = _equals(movements.column("action_type"), "entered")
    counted = is_entered | _equals(movements.column("action_type"), "passed")
    if not counted.all():
        movements = movements.filter(pa.array(counted))
        is_entered = is_entered[counted]
    moment = np.where(is_entered, _us(movements, "enter_time"), _us(movements, "first_seen"))
    return ZoneKpiInputs(
        visits=with_windows(visits, _us(visits, "enter_time"), timezones, minutes, VISIT_INPUT_SCHEMA, **kw),
        roi=with_windows(movements, moment, timezones, minutes, ROI_INPUT_SCHEMA, **kw),
        queues=with_windows(queues, _us(queues, "queue_enter"), timezones, minutes, QUEUE_INPUT_SCHEMA, **kw),
        lengths=with_windows(lengths, _us(lengths, "minute"), timezones, minutes, LENGTH_INPUT_SCHEMA, **kw),
    )
