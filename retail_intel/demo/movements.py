"""Synthetic movement events with daily and weekly rhythms and promotion lift.

One branch at a time, every step is a numpy array operation over all of the
branch's rows (about a hundred thousand for 90 days), so ten million rows take
seconds, not minutes. The model, per branch and local day:

* visitors who enter ~ Poisson(base x weekday factor x trend x promotion lift
  x event lift x day noise), zero on days the branch is closed;
* people who only pass by ~ Poisson(entered x the branch's pass-by ratio);
* arrival times follow a lunchtime and an after-work peak over a base level,
  inside the opening hours (local time, so DST is handled per day);
* dwell is log-normal around 8 minutes for visitors and a few seconds for
  passers-by.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from retail_intel.config.calendar import at_minute, expand_events
from retail_intel.config.loader import Config
from retail_intel.config.models import WEEKDAYS, Branch, TimeRange
from retail_intel.demo.cleanup import demo_source_key
from retail_intel.demo.people import form_groups, missed_exits, place_staff, staff_reasons
from retail_intel.movements.schema import ACTION_TYPES, MOVEMENT_SCHEMA

SOURCE_VIDEO = "synthetic-demo"
MODEL = "synthetic"
WEEKDAY_FACTOR = {"mon": 0.85, "tue": 0.9, "wed": 0.95, "thu": 1.0, "fri": 1.15, "sat": 1.35, "sun": 0.75}
EVENT_LIFT = 1.15
_US = 1_000_000
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_HYPHENS = (8, 13, 18, 23)
_DIGIT_COLUMNS = np.array([i for i in range(36) if i not in _HYPHENS])


@dataclass(frozen=True)
class DayFile:
    """One branch-day of movements, ready for :func:`write_movements`."""

    branch_id: str
    day_index: int  # position of local_date in the generated period
    local_date: dt.date
    utc_date: dt.date  # UTC date of the first event: the store's partition
    table: pa.Table
    entered: int  # rows with action_type "entered"; the rest passed by

    @property
    def source_key(self) -> str:
        return demo_source_key(self.branch_id, self.local_date)


def arrival_density(open_min: int, close_min: int) -> np.ndarray:
    """Relative arrival rate for each minute of an opening span (local minutes of the day)."""
    hours = np.arange(open_min, close_min) / 60.0
    lunch = np.exp(-0.5 * ((hours - 12.75) / 1.1) ** 2)
    after_work = 0.85 * np.exp(-0.5 * ((hours - 17.6) / 1.4) ** 2)
    density = 0.3 + lunch + after_work
    # Few people arrive in the last half hour before closing.
    closing = np.clip((close_min - np.arange(open_min, close_min)) / 30.0, 0.2, 1.0)
    result: np.ndarray = density * closing
    return result


def uuid_strings(rng: np.random.Generator, count: int) -> pa.Array:
    """``count`` random version-4 UUIDs as an Arrow string array, without a Python loop."""
    raw = rng.integers(0, 256, size=(count, 16), dtype=np.uint8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40  # version 4
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80  # RFC 4122 variant
    digits = np.empty((count, 32), dtype=np.uint8)
    digits[:, 0::2] = _HEX[raw >> 4]
    digits[:, 1::2] = _HEX[raw & 0x0F]
    chars = np.full((count, 36), ord("-"), dtype=np.uint8)
    chars[:, _DIGIT_COLUMNS] = digits
    offsets = np.arange(0, 36 * count + 1, 36, dtype=np.int32)
    return pa.Array.from_buffers(pa.string(), count, [None, pa.py_buffer(offsets), pa.py_buffer(chars)])


def _promotion_lift(config: Config, branch: Branch, dates: list[dt.date], lifts: dict[str, float]) -> np.ndarray:
    """Per local day, the strongest lift of any promotion running at the branch that day."""
    factor = np.ones(len(dates))
    tz = branch.tzinfo
    day_start = np.array([dt.datetime.combine(d, dt.time(), tzinfo=tz).timestamp() for d in dates])
    day_end = day_start + 86400
    for promotion in config.promotions_for(branch.id):
        active = (promotion.start.timestamp() < day_end) & (promotion.end.timestamp() > day_start)
        factor = np.where(active, np.maximum(factor, 1.0 + lifts[promotion.id]), factor)
    return factor


def _event_lift(config: Config, branch: Branch, dates: list[dt.date]) -> np.ndarray:
    events = config.events_for(branch.id)
    if not events or not dates:
        return np.ones(len(dates))
    tz = branch.tzinfo
    window_start = dt.datetime.combine(dates[0], dt.time(), tzinfo=tz)
    window_end = dt.datetime.combine(dates[-1] + dt.timedelta(days=1), dt.time(), tzinfo=tz)
    event_days = {
        occurrence.start.astimezone(tz).date()
        for occurrence in expand_events(events, window_start, window_end, timezones=config.timezones)
    }
    return np.array([EVENT_LIFT if d in event_days else 1.0 for d in dates])


def promotion_lifts(config: Config, rng: np.random.Generator) -> dict[str, float]:
    """How much each promotion raises visits (0.2 = +20%), drawn once per data set."""
    return {p.id: float(rng.uniform(0.2, 0.45)) for p in config.promotions}


def branch_day_files(
    config: Config,
    branch: Branch,
    dates: list[dt.date],
    lifts: dict[str, float],
    rng: np.random.Generator,
    processed_at: dt.datetime,
) -> Iterator[DayFile]:
    """The branch's movements, one :class:`DayFile` per open day with visitors."""
    n_days = len(dates)
    tz = branch.tzinfo
    hours: dict[str, TimeRange] = {day: span for day, span in branch.opening_hours.items()}
    spans = [hours.get(WEEKDAYS[d.weekday()]) for d in dates]
    open_days = np.array([s is not None for s in spans])

    base = branch.capacity * rng.uniform(1.7, 2.6)
    weekday = np.array([WEEKDAY_FACTOR[WEEKDAYS[d.weekday()]] for d in dates])
    trend = 1.0 + rng.uniform(-0.03, 0.08) * np.arange(n_days) / max(1, n_days - 1)
    noise = rng.lognormal(0.0, 0.08, n_days)
    mean = base * weekday * trend * noise
    mean *= _promotion_lift(config, branch, dates, lifts) * _event_lift(config, branch, dates)
    mean = np.where(open_days, mean, 0.0)
    n_entered = rng.poisson(mean)
    n_passed = rng.poisson(mean * rng.uniform(1.6, 2.4))
    n_rows = n_entered + n_passed
    total = int(n_rows.sum())

    open_min = np.array([s.minutes[0] if s else 0 for s in spans])
    close_min = np.array([s.minutes[1] if s else 0 for s in spans])  # 1440 for 24:00
    open_utc = np.array(
        [at_minute(d, s.minutes[0], tz).timestamp() if s else 0.0 for d, s in zip(dates, spans, strict=True)]
    )
    # the close as the KPIs lay it out (24:00 is the next local midnight), not open + wall-clock length
    close_utc = np.array(
        [at_minute(d, s.minutes[1], tz).timestamp() if s else 0.0 for d, s in zip(dates, spans, strict=True)]
    )

    day = np.repeat(np.arange(n_days), n_rows)
    block_start = np.repeat(np.cumsum(n_rows) - n_rows, n_rows)
    entered = (np.arange(total) - block_start) < np.repeat(n_entered, n_rows)

    # Arrival minute by inverse CDF, one opening span at a time (a branch has few).
    minute = np.zeros(total)
    u = rng.random(total)
    span_key = open_min * 10_000 + close_min
    for key in np.unique(span_key[open_days]):
        lo, hi = divmod(int(key), 10_000)
        cdf = np.cumsum(arrival_density(lo, hi))
        cdf /= cdf[-1]
        rows = span_key[day] == key
        minute[rows] = np.searchsorted(cdf, u[rows])
    enter_s = open_utc[day] + (minute + rng.random(total)) * 60.0

    dwell = np.where(
        entered,
        np.clip(rng.lognormal(np.log(480.0), 0.7, total), 20.0, 5400.0),
        rng.uniform(1.5, 12.0, total),
    )
    exit_s = np.minimum(enter_s + dwell, close_utc[day] + 600.0)
    in_day = np.arange(total) - block_start
    staffing = place_staff(rng, day, in_day, entered, n_entered, branch.min_staff, open_utc, close_utc, enter_s, exit_s)
    enter_s, exit_s = staffing.enter_s, staffing.exit_s
    exit_seen = missed_exits(rng, day, entered, n_days)
    enter_us = np.round(enter_s * _US).astype(np.int64)
    exit_us = np.maximum(np.round(exit_s * _US).astype(np.int64), enter_us)
    first_us = enter_us - (rng.uniform(0.0, 4.0, total) * _US).astype(np.int64)
    last_us = exit_us + (rng.uniform(0.0, 4.0, total) * _US).astype(np.int64)

    order = np.lexsort((enter_us, day))
    day, entered = day[order], entered[order]
    enter_us, exit_us, first_us, last_us = enter_us[order], exit_us[order], first_us[order], last_us[order]
    is_staff, exit_seen = staffing.is_staff[order], exit_seen[order]
    # A party arrives together: members take their first member's enter time, and their
    # whole stay moves with it, so each keeps the dwell drawn above (a passer-by who joins
    # a party that arrived minutes earlier still passes in seconds).
    party = form_groups(rng, day, is_staff)
    in_party = party >= 0
    shift = np.where(in_party, enter_us[np.maximum(party, 0)] - enter_us, 0)
    enter_us, exit_us, first_us, last_us = enter_us + shift, exit_us + shift, first_us + shift, last_us + shift
    track_id = np.arange(total) - np.repeat(np.cumsum(n_rows) - n_rows, n_rows) + 1
    n_frames = np.maximum(1, np.round((last_us - first_us) / _US * 5.0)).astype(np.int64)
    confidence = np.clip(rng.normal(0.72, 0.08, total), 0.3, 0.98)

    ts = pa.timestamp("us", tz="UTC")
    action = pa.DictionaryArray.from_arrays(
        pa.array(np.where(entered, 0, 1).astype(np.int8)), pa.array(list(ACTION_TYPES))
    ).cast(pa.string())
    customer_ids = uuid_strings(rng, total)
    seen_min = ((exit_us - enter_us) // (60 * _US)).astype(np.int64)
    columns = {
        "customer_id": customer_ids,
        "exit_observed": pa.array(exit_seen),
        "is_staff": pa.array(is_staff),
        "staff_reason": staff_reasons(is_staff, seen_min),
        "group_id": pc.if_else(
            pa.array(in_party), customer_ids.take(pa.array(np.maximum(party, 0))), pa.scalar(None, pa.string())
        ),
        "line_in": pa.nulls(total, pa.int64()),
        "line_out": pa.nulls(total, pa.int64()),
        "action_type": action,
        "enter_time": pa.array(enter_us, type=ts),
        "exit_time": pa.array(exit_us, type=ts),
        "dwell_seconds": pa.array((exit_us - enter_us) / _US),
        "first_seen": pa.array(first_us, type=ts),
        "last_seen": pa.array(last_us, type=ts),
        "track_id": pa.array(track_id.astype(np.int64)),
        "n_frames": pa.array(n_frames),
        "mean_confidence": pa.array(confidence),
    }
    stamp = pa.scalar(processed_at, type=ts)
    ends = np.cumsum(n_rows)
    for index in np.flatnonzero(n_rows):
        start, count = int(ends[index] - n_rows[index]), int(n_rows[index])
        local_date = dates[index]
        fingerprint = hashlib.sha256(f"{SOURCE_VIDEO}:{branch.id}:{local_date}".encode()).hexdigest()
        arrays = {name: column.slice(start, count) for name, column in columns.items()}
        arrays |= {
            "branch_id": pa.repeat(branch.id, count),
            "camera_id": pa.repeat(branch.cameras[0].id if branch.cameras else None, count).cast(pa.string()),
            "source_video": pa.repeat(SOURCE_VIDEO, count),
            "video_fingerprint": pa.repeat(fingerprint, count),
            "model": pa.repeat(MODEL, count),
            "processed_at": pa.repeat(stamp, count),
        }
        table = pa.Table.from_arrays([arrays[name] for name in MOVEMENT_SCHEMA.names], schema=MOVEMENT_SCHEMA)
        first_event = int(enter_us[start])
        utc_date = dt.datetime.fromtimestamp(first_event / _US, dt.UTC).date()
        yield DayFile(branch.id, int(index), local_date, utc_date, table, int(n_entered[index]))
