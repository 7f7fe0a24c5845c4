"""Calendar arithmetic over the config: event occurrences, shift intervals, active promotions.

Pure functions, no I/O. Every datetime going in must be timezone-aware and
every datetime coming out is aware UTC, so callers can compare them with
movement timestamps directly.

Wall-clock rules (why the code below works in local time and not in UTC):

* A weekly shift "mon 09:00-17:00" means 09:00 on the shop floor's clock, so
  it is laid out in the branch's timezone and only then converted to UTC; in
  a DST week the UTC times move by an hour, the local times do not.
* A repeating event keeps its local start time too. Its "local" zone is the
  branch's timezone when the caller passes one (``timezones``), otherwise the
  UTC offset written in the event's ``start``.
* A local time that does not exist (skipped by a spring-forward change) is
  read with the offset in force before the change, and a local time that
  happens twice (the repeated hour of a fall-back change) is its first
  occurrence: both are what :mod:`zoneinfo` does with ``fold=0``, applied in
  :func:`_localize` alone, so every caller (KPIs, ``etl``'s ``is_open``)
  resolves a wall-clock time to the same instant (docs/config.md).
"""

from __future__ import annotations

import calendar as _calendar
import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from retail_intel.config.models import (
    MINUTES_PER_DAY,
    WEEKDAYS,
    Branch,
    Employee,
    Event,
    Promotion,
    Repeat,
    span_minutes,
)
from retail_intel.errors import InputError
from retail_intel.timeutil import require_aware

__all__ = [
    "EventOccurrence",
    "active_promotions",
    "at_minute",
    "expand_events",
    "opening_intervals",
    "shift_intervals",
    "weekly_spans",
]

# Occurrences of one event are generated lazily; this guards against a
# runaway loop on absurd ranges (a daily event over 50 years is ~18k rows):
# more occurrences than this in one range are refused, not cut short.
_MAX_OCCURRENCES_PER_EVENT = 100_000


@dataclass(frozen=True)
class EventOccurrence:
    """One dated occurrence of an event; ``start``/``end`` are aware UTC."""

    event_id: str
    name: str
    branch: str | None
    location: str | None
    start: dt.datetime
    end: dt.datetime


def _localize(naive: dt.datetime, tz: dt.tzinfo) -> dt.datetime:
    """Attach ``tz`` to a wall-clock time and convert to UTC."""
    return naive.replace(tzinfo=tz).astimezone(dt.UTC)


def at_minute(day: dt.date, minute: int, tz: dt.tzinfo) -> dt.datetime:
    """``minute`` minutes of wall clock after the local midnight of ``day``, as aware UTC.

    1440 (an end of 24:00) is the next date's 00:00, read like any wall-clock time,
    so it is the instant :func:`~retail_intel.kpis.windows.local_midnight_us` gives.
    """
    days, rest = divmod(minute, MINUTES_PER_DAY)
    return _localize(dt.datetime.combine(day + dt.timedelta(days=days), dt.time(rest // 60, rest % 60)), tz)


def _add_months(day: dt.date, months: int) -> dt.date | None:
    """The same day-of-month ``months`` later, or None if that month is too short."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    if day.day > _calendar.monthrange(year, month + 1)[1]:
        return None
    return day.replace(year=year, month=month + 1)


def _first_index(event: Event, tz: dt.tzinfo, range_start: dt.datetime) -> int:
    """A repetition index at or before the first occurrence that can overlap ``range_start``.

    Skipping ahead keeps long-running daily events cheap; starting one period
    early is harmless because overlap is checked for every candidate.
    """
    duration = event.end - event.start
    try:
        earliest_start = range_start - duration
    except OverflowError:  # before year 1: every repetition may overlap the range
        return 0
    local_first = event.start.astimezone(tz)
    local_earliest = earliest_start.astimezone(tz)
    if local_earliest <= local_first:
        return 0
    if event.repeat is Repeat.daily:
        return max(0, (local_earliest.date() - local_first.date()).days - 1)
    if event.repeat is Repeat.weekly:
        return max(0, (local_earliest.date() - local_first.date()).days // 7 - 1)
    if event.repeat is Repeat.monthly:
        months = (local_earliest.year - local_first.year) * 12 + local_earliest.month - local_first.month
        return max(0, months - 1)
    return 0


def _candidates(
    event: Event, tz: dt.tzinfo, range_start: dt.datetime, range_names: tuple[str, str]
) -> Iterator[tuple[int, dt.datetime]]:
    """(index, local naive start) of each repetition in order, from a useful starting index."""
    local_start = event.start.astimezone(tz).replace(tzinfo=None)
    if event.repeat is Repeat.none:
        yield 0, local_start
        return
    index = _first_index(event, tz, range_start)
    for _ in range(_MAX_OCCURRENCES_PER_EVENT):
        if event.repeat is Repeat.daily:
            yield index, local_start + dt.timedelta(days=index)
        elif event.repeat is Repeat.weekly:
            yield index, local_start + dt.timedelta(weeks=index)
        else:
            day = _add_months(local_start.date(), index)
            if day is not None:  # e.g. the 31st in a 30-day month: no occurrence that month
                yield index, dt.datetime.combine(day, local_start.time())
        index += 1
    # still inside the range: stopping here would list the first occurrences as if they were all
    raise InputError(
        f"event {event.id!r} repeats {event.repeat.value} more than {_MAX_OCCURRENCES_PER_EVENT:,} times in the "
        f"range asked for (from {range_start.isoformat()}); ask for a shorter range ({'/'.join(range_names)})"
    )


def _occurrences(
    event: Event, tz: dt.tzinfo, range_start: dt.datetime, range_end: dt.datetime, range_names: tuple[str, str]
) -> Iterator[EventOccurrence]:
    base_local_start = event.start.astimezone(tz).replace(tzinfo=None)
    # Wall-clock duration, so an event 09:00-17:00 stays 09:00-17:00 locally on
    # every repetition even when a DST change falls between repetitions.
    local_duration = event.end.astimezone(tz).replace(tzinfo=None) - base_local_start
    for _, local_start in _candidates(event, tz, range_start, range_names):
        if event.until is not None and local_start.date() > event.until:
            return
        if event.repeat is Repeat.none:
            # a one-off event is the instants written: wall clocks would lose (or add) the hour
            # of a clock change inside it, and pick the wrong one of a repeated hour
            start, end = event.start.astimezone(dt.UTC), event.end.astimezone(dt.UTC)
        else:
            start = _localize(local_start, tz)
            end = _localize(local_start + local_duration, tz)
        if start >= range_end:
            return
        if end <= start:  # only possible when a DST change swallows a very short event
            end = start + (event.end - event.start)
        if end > range_start:
            yield EventOccurrence(
                event_id=event.id,
                name=event.name,
                branch=event.branch,
                location=event.location,
                start=start,
                end=end,
            )


def expand_events(
    events: Iterable[Event],
    start: dt.datetime,
    end: dt.datetime,
    *,
    timezones: Mapping[str, ZoneInfo] | None = None,
    range_names: tuple[str, str] = ("start", "end"),
) -> list[EventOccurrence]:
    """Every occurrence of ``events`` overlapping ``[start, end)``, sorted by start.

    ``repeat`` daily / weekly / monthly repeats the event's local start time;
    monthly keeps the day of the month and skips months without that day (an
    event on the 31st has no occurrence in April). ``until`` is inclusive: the
    last occurrence is the one starting on that local date. ``timezones`` maps
    branch ids to their zones so repetitions of a branch's event follow its DST.
    ``range_names`` name ``start`` and ``end`` in messages (the caller's flags, such as ``--from`` and ``--to``).
    """
    range_start = require_aware(start, "start")
    range_end = require_aware(end, "end")
    if range_end <= range_start:
        return []
    found: list[EventOccurrence] = []
    for event in events:
        tz: dt.tzinfo
        if timezones is not None and event.branch is not None and event.branch in timezones:
            tz = timezones[event.branch]
        else:
            tz = event.start.tzinfo or dt.UTC
        found.extend(_occurrences(event, tz, range_start, range_end, range_names))
    found.sort(key=lambda occ: (occ.start, occ.end, occ.event_id))
    return found


def _local_spans_on(employee: Employee, day: dt.date) -> list[tuple[int, int]]:
    """The employee's scheduled spans of one local date, in minutes after its midnight (24:00 is 1440)."""
    exceptions = [exc for exc in employee.shifts.exceptions if exc.date == day]
    if exceptions:
        # Any exception for a date replaces that date's weekly shifts entirely;
        # several non-off exceptions on one date make a split shift.
        if any(exc.off for exc in exceptions):
            return []
        spans: list[tuple[int, int]] = []
        for exc in exceptions:
            assert exc.start is not None and exc.end is not None  # guaranteed by the model
            spans.append(span_minutes(exc.start, exc.end))
        return spans
    weekday = WEEKDAYS[day.weekday()]
    return [span_minutes(shift.start, shift.end) for shift in employee.shifts.weekly if shift.day == weekday]


def shift_intervals(
    employee: Employee, tz: ZoneInfo, start: dt.datetime, end: dt.datetime
) -> list[tuple[dt.datetime, dt.datetime]]:
    """Aware UTC intervals when ``employee`` is scheduled, clipped to ``[start, end)``.

    Weekly shifts are read in ``tz`` (the branch's zone), so a 09:00 shift is
    08:00 UTC in London summer and 09:00 UTC in winter. A shift belongs to the
    date it starts on: one ending at 24:00 runs to the next local midnight, one
    ending before its start (22:00-06:00) ends on the next date, its length the
    elapsed time between the two wall-clock readings (7 hours on a spring-forward
    night). A dated exception replaces the weekly shifts starting on its local
    date (a night shift of the day before still runs into it); ``off: true``
    means no shift.
    Intervals are sorted and never overlap: shifts that meet or overlap are merged, so a person
    is never on duty twice at once. Shifts of a validated config overlap only where an end falls
    in the hour a spring-forward change skips (read with the offset before the change, so
    sat 22:00-02:30 ends at 03:30 on the clock, after sun 03:00-08:00 began).
    """
    range_start = require_aware(start, "start")
    range_end = require_aware(end, "end")
    if range_end <= range_start:
        return []
    # One extra local day either side: the UTC range may begin or end on a
    # different local date than its UTC date.
    first_day = range_start.astimezone(tz).date() - dt.timedelta(days=1)
    last_day = range_end.astimezone(tz).date() + dt.timedelta(days=1)
    intervals: list[tuple[dt.datetime, dt.datetime]] = []
    day = first_day
    while day <= last_day:
        for span_start, span_end in _local_spans_on(employee, day):
            shift_start, shift_end = at_minute(day, span_start, tz), at_minute(day, span_end, tz)
            clipped_start = max(shift_start, range_start)
            clipped_end = min(shift_end, range_end)
            if clipped_end > clipped_start:
                intervals.append((clipped_start, clipped_end))
        day += dt.timedelta(days=1)
    return _merged(sorted(intervals))


def _merged(intervals: list[tuple[dt.datetime, dt.datetime]]) -> list[tuple[dt.datetime, dt.datetime]]:
    """Sorted ``intervals`` with those that meet or overlap joined into one."""
    merged: list[tuple[dt.datetime, dt.datetime]] = []
    for a, z in intervals:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], z))
        else:
            merged.append((a, z))
    return merged


def active_promotions(promotions: Iterable[Promotion], branch_id: str, at: dt.datetime) -> list[Promotion]:
    """Promotions that apply to ``branch_id`` and run at ``at`` (``start <= at < end``)."""
    moment = require_aware(at, "at")
    return [promo for promo in promotions if promo.applies_to(branch_id) and promo.runs_at(moment)]


def opening_intervals(branch: Branch, start: dt.datetime, end: dt.datetime) -> list[tuple[dt.datetime, dt.datetime]]:
    """Aware UTC spans when ``branch`` is open (``opening_hours`` in its own zone), clipped to ``[start, end)``.

    Friday's 18:00-02:00 is one span from Friday 18:00 to Saturday 02:00 local; where it
    meets Saturday's own span the two follow each other (or overlap: open while either is).

    A branch without any opening hours gives none (callers read that as open all day).
    """
    hours = {WEEKDAYS.index(day): span.minutes for day, span in branch.opening_hours.items()}
    return weekly_spans(branch.tzinfo, hours, start, end)


def weekly_spans(
    tz: dt.tzinfo, hours: Mapping[int, tuple[int, int]], start: dt.datetime, end: dt.datetime
) -> list[tuple[dt.datetime, dt.datetime]]:
    """Aware UTC spans of a weekly timetable on the clock of ``tz``, clipped to ``[start, end)``, by local date.

    ``hours`` maps a weekday (0 = Monday) to its (from, to) wall-clock times in
    minutes after that date's local midnight (1440 for an end of 24:00: the
    next local midnight; past 1440 for a span running into the next date, which
    belongs to the weekday it starts on); a weekday missing from it has no span. Both ends are read by the rules of
    this module's docstring, so on the night the clocks go back a span ending
    02:30 ends at the first 02:30 and the second pass of 02:00-03:00 is outside
    it. A span the change leaves empty is dropped (Europe/Paris, 29 Mar 2026:
    from 02:30, skipped and read as 01:30 UTC, to 03:15, which is 01:15 UTC).
    """
    range_start = require_aware(start, "start")
    range_end = require_aware(end, "end")
    spans: list[tuple[dt.datetime, dt.datetime]] = []
    # One extra local day either side: the UTC range may begin or end on another local date.
    day = range_start.astimezone(tz).date() - dt.timedelta(days=1)
    while day <= range_end.astimezone(tz).date() + dt.timedelta(days=1):
        span = hours.get(day.weekday())
        if span is not None:
            a = max(at_minute(day, span[0], tz), range_start)
            z = min(at_minute(day, span[1], tz), range_end)
            if z > a:
                spans.append((a, z))
        day += dt.timedelta(days=1)
    return spans
