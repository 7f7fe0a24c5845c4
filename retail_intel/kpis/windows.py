"""Tumbling KPI windows aligned to midnight in the branch's own timezone.

A local day runs from one local midnight to the next (23 or 25 hours on DST
days). Its windows are ``[midnight + k * size, midnight + (k + 1) * size)``
in elapsed time, the last one cut at the next midnight, so a DST day has 23
or 25 hourly windows and windows never straddle two local dates. A daily
window is the whole local day, 23, 24 or 25 hours long; where the clocks
skip midnight the day starts at its first instant (01:00). Everything
here works in integer microseconds since the epoch (UTC), the unit of the
movement timestamps.
"""

from __future__ import annotations

import datetime as dt
import numbers
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from retail_intel.errors import DataError, InputError, NextStep, Step
from retail_intel.kpis.schema import WINDOW_SCHEMA
from retail_intel.timeutil import parse_duration

US_PER_SECOND = 1_000_000
US_PER_MINUTE = 60 * US_PER_SECOND
US_PER_DAY = 86_400 * US_PER_SECOND
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

# Lookup cells (see BRANCH_SCHEMA.grid_us) per branch beyond which the input
# is refused rather than exhausting memory; only a timezone whose offset is
# not a whole number of minutes, over years of data, gets near it.
_MAX_CELLS_PER_BRANCH = 5_000_000

Int64Array = npt.NDArray[np.int64]


def check_window_minutes(value: object, *, name: str = "window_minutes") -> int:
    """``value`` when it is a whole number of minutes (an int) that divides a day, else :class:`InputError`.

    A float is refused even when whole: 60.0 hashes like 60, so the windows it
    built would be cached for later calls with 60 and break them.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InputError(
            f"{name} must be a whole number of minutes (an int) that divides a day (1440), "
            f"got {value!r} ({type(value).__name__})"
        )
    minutes = int(value)
    if minutes <= 0 or 1440 % minutes:
        raise InputError(f"{name} must divide a day (1440) evenly, got {minutes}")
    return minutes


def window_minutes_from(text: str, *, flag: str = "window") -> int:
    """``"60m"``, ``"1h"``, ``"15m"``, ``"1d"`` -> minutes; the size must divide a day evenly.

    ``flag`` is how the caller's user wrote the value (a CLI flag, a query parameter)
    and starts every error message.
    """
    seconds = parse_duration(text, default_unit="m", flag=flag)
    minutes = seconds / 60
    if minutes != int(minutes) or 1440 % int(minutes) != 0:
        raise InputError(
            f"{flag} must be a whole number of minutes that divides a day evenly "
            f"(such as 15m, 30m, 60m, 1h, 4h, 1d), got {text!r}"
        )
    return int(minutes)


def to_us(moment: dt.datetime) -> int:
    """An aware datetime as integer microseconds since the epoch."""
    delta = moment.astimezone(dt.UTC) - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * US_PER_SECOND + delta.microseconds


def from_us(value: int) -> dt.datetime:
    return _EPOCH + dt.timedelta(microseconds=int(value))


@dataclass(frozen=True)
class DayWindows:
    """The windows of one local date: starts/ends in µs UTC, wall-clock slot of each start."""

    starts: Int64Array
    ends: Int64Array
    slot_minutes: npt.NDArray[np.int32]
    slot_folds: npt.NDArray[np.int8]


def local_midnight_us(day: dt.date, tz: ZoneInfo) -> int:
    # fold=0: an ambiguous midnight is its first occurrence, a skipped one the
    # moment the clocks jump, i.e. always the first instant of that date.
    return to_us(dt.datetime.combine(day, dt.time(0), tzinfo=tz))


@lru_cache(maxsize=8192)
def day_windows(day: dt.date, tz: ZoneInfo, minutes: int) -> DayWindows:
    """Windows of the local date ``day`` in ``tz`` (cached: branches share zones and dates)."""
    start = local_midnight_us(day, tz)
    end = local_midnight_us(day + dt.timedelta(days=1), tz)
    size = minutes * US_PER_MINUTE
    if size >= US_PER_DAY:
        # A day's window is the local day however long the clocks make it: stepping
        # 24 h of elapsed time through a 25-hour day would leave a one-hour "day".
        size = end - start
    starts = np.arange(start, end, size, dtype=np.int64)
    ends = np.minimum(starts + size, end)
    first_offset = from_us(start).astimezone(tz).utcoffset()
    last_offset = from_us(end - 1).astimezone(tz).utcoffset()
    if end - start == US_PER_DAY and first_offset == last_offset:
        # An ordinary day: the wall clock reads exactly midnight + k * size.
        slots = (np.arange(len(starts)) * minutes).astype(np.int32)
        folds = np.zeros(len(starts), dtype=np.int8)
    else:
        locals_ = [from_us(int(s)).astimezone(tz) for s in starts]
        slots = np.array([t.hour * 60 + t.minute for t in locals_], dtype=np.int32)
        folds = np.array([t.fold for t in locals_], dtype=np.int8)
        if locals_[0].time() != dt.time(0):
            # The clocks skipped this midnight (Havana, Santiago, Beirut...): the day
            # starts at, say, 01:00. Its first window stands for the regular window
            # holding that time, so the daily window stays slot 0 and a 4-hour one
            # 00:00-04:00, and the baseline finds them on the other weeks.
            slots[0] = slots[0] // minutes * minutes
            folds[0] = 0
    return DayWindows(starts=starts, ends=ends, slot_minutes=slots, slot_folds=folds)


def local_date(value_us: int, tz: ZoneInfo) -> dt.date:
    return from_us(value_us).astimezone(tz).date()


def window_containing(value_us: int, tz: ZoneInfo, minutes: int) -> tuple[int, int]:
    """(start, end) in µs of the window holding the instant ``value_us``."""
    windows = day_windows(local_date(value_us, tz), tz, minutes)
    index = int(np.searchsorted(windows.starts, value_us, side="right")) - 1
    return int(windows.starts[index]), int(windows.ends[index])


@dataclass(frozen=True)
class Series:
    """The consecutive windows computed for one branch: history first, then output."""

    starts: Int64Array
    ends: Int64Array
    slot_dates: npt.NDArray[np.int32]  # days since the epoch (Arrow date32)
    slot_minutes: npt.NDArray[np.int32]
    slot_folds: npt.NDArray[np.int8]
    is_output: npt.NDArray[np.bool_]

    @property
    def grid_us(self) -> int:
        """Largest step dividing every window length: each boundary sits on this grid."""
        return int(np.gcd.reduce(self.ends - self.starts))


def build_series(
    tz: ZoneInfo,
    minutes: int,
    *,
    data_first_us: int,
    data_last_us: int,
    out_start_us: int | None,
    out_end_us: int | None,
    history_us: int,
    stored_end_us: int | None = None,
) -> Series | None:
    """Windows for one branch, or None when ``[out_start, out_end)`` misses its data.

    The branch's data span runs from the window holding ``data_first_us`` to
    the window holding ``data_last_us``; every window in it exists, empty or
    not. Output windows are those of the span overlapping the requested range.
    History windows (up to ``history_us`` before the first output window, never
    before the span) come first so baseline and momentum of the first output
    windows see the same past as a computation over everything would.

    ``stored_end_us`` (the end of the branch's last stored window) before
    ``out_start_us`` moves the first output window back to it: a range run
    after an earlier run whose data ended at its last movement then also
    outputs the empty windows in between, which a run over everything has.
    """
    span_start, _ = window_containing(data_first_us, tz, minutes)
    _, span_end = window_containing(data_last_us, tz, minutes)
    lo = span_start if out_start_us is None else max(span_start, out_start_us)
    if out_start_us is not None and stored_end_us is not None and stored_end_us < lo:
        lo = max(span_start, stored_end_us)
    hi = span_end if out_end_us is None else min(span_end, out_end_us)
    if lo >= hi:
        return None
    first_out_start, _ = window_containing(lo, tz, minutes)
    _, last_out_end = window_containing(hi - 1, tz, minutes)
    # Whole local days at both ends (within the data span): the occupancy
    # reconciliation balances each day, so a range must see the same days
    # as a run over everything. Extra windows after the range are history too.
    reach = local_midnight_us(local_date(first_out_start - history_us, tz), tz)
    history_start, _ = window_containing(max(span_start, reach), tz, minutes)
    series_end = min(span_end, local_midnight_us(local_date(last_out_end - 1, tz) + dt.timedelta(days=1), tz))

    first_day = local_date(history_start, tz)
    last_day = local_date(series_end - 1, tz)
    parts: list[DayWindows] = []
    dates: list[Int64Array] = []
    day = first_day
    while day <= last_day:
        windows = day_windows(day, tz, minutes)
        parts.append(windows)
        dates.append(np.full(len(windows.starts), (day - _EPOCH.date()).days, dtype=np.int64))
        day += dt.timedelta(days=1)
    starts = np.concatenate([p.starts for p in parts])
    keep = (starts >= history_start) & (starts < series_end)
    starts = starts[keep]
    series = Series(
        starts=starts,
        ends=np.concatenate([p.ends for p in parts])[keep],
        slot_dates=np.concatenate(dates)[keep].astype(np.int32),
        slot_minutes=np.concatenate([p.slot_minutes for p in parts])[keep],
        slot_folds=np.concatenate([p.slot_folds for p in parts])[keep],
        is_output=(starts >= first_out_start) & (starts < last_out_end),
    )
    cells = (int(series.ends[-1]) - int(series.starts[0])) // series.grid_us
    if cells > _MAX_CELLS_PER_BRANCH:
        raise DataError(
            f"timezone {tz.key}: window boundaries fall on a {series.grid_us} µs grid, which needs "
            f"{cells} lookup cells (at most {_MAX_CELLS_PER_BRANCH})",
            next_step=NextStep(Step.SHORTER_RANGE),
        )
    return series


def history_us(minutes: int, *, baseline_weeks: int, momentum_windows: int) -> int:
    """How far before the first output window the series must reach back.

    One extra day covers DST days, which are an hour longer than 24 hours.
    """
    return (baseline_weeks * 7 + 1) * US_PER_DAY + momentum_windows * minutes * US_PER_MINUTE


def windows_table(series: dict[str, Series]) -> pa.Table:
    """All branches' series as one table of :data:`WINDOW_SCHEMA`, sorted by branch and seq."""
    branch_ids = sorted(series)
    lengths = [len(series[b].starts) for b in branch_ids]
    total = sum(lengths)
    if total == 0:
        return WINDOW_SCHEMA.empty_table()

    def cat(name: str) -> npt.NDArray[np.generic]:
        return np.concatenate([getattr(series[b], name) for b in branch_ids])

    ts = pa.timestamp("us", tz="UTC")
    return pa.table(
        {
            "branch_id": pa.array(np.repeat(np.array(branch_ids, dtype=object), lengths), pa.string()),
            "seq": pa.array(np.concatenate([np.arange(n, dtype=np.int64) for n in lengths])),
            "window_start": pa.array(cat("starts"), ts),
            "window_end": pa.array(cat("ends"), ts),
            "slot_date": pa.array(cat("slot_dates"), pa.date32()),
            "slot_minute": pa.array(cat("slot_minutes"), pa.int32()),
            "slot_fold": pa.array(cat("slot_folds"), pa.int8()),
            "is_output": pa.array(cat("is_output"), pa.bool_()),
        },
        schema=WINDOW_SCHEMA,
    )
