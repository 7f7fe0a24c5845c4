"""Overlapping shifts of one employee, with shifts that end at 24:00 or run past midnight.

A shift belongs to the date it starts on, so a night shift (fri 22:00-06:00) can
overlap the next day's shifts (sat 05:00-09:00), and sun 22:00-06:00 the
following Monday's. Spans are compared in minutes, on a week that wraps round
for the weekly shifts and on the calendar for dated exceptions, never as text
(``"24:00" < "06:00"`` says nothing about time).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable

from retail_intel.config.models import MINUTES_PER_DAY, WEEKDAYS, ShiftException, Shifts, WeeklyShift, span_minutes

__all__ = ["shift_problems"]

_WEEK = 7 * MINUTES_PER_DAY

# (label as the user wrote it, start, end) in minutes from a fixed origin
_Span = tuple[str, int, int]


def _weekly(shift: WeeklyShift, origin: int, label: str) -> _Span:
    start, end = span_minutes(shift.start, shift.end)
    return label, origin + start, origin + end


def _exception(exc: ShiftException) -> _Span:
    assert exc.start is not None and exc.end is not None  # callers pass exceptions with hours
    start, end = span_minutes(exc.start, exc.end)
    origin = exc.date.toordinal() * MINUTES_PER_DAY
    return f"{exc.date.isoformat()} {exc.start}-{exc.end}", origin + start, origin + end


def _clashes(pairs: Iterable[tuple[_Span, _Span]], shifts: tuple[int, ...] = (0,)) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for (label_a, a0, a1), (label_b, b0, b1) in pairs:
        if any(a0 < b1 + k and b0 + k < a1 for k in shifts):
            found.append((label_a, label_b))
    return found


def _scheduled_on(shifts: Shifts, day: dt.date) -> list[_Span]:
    """The shifts starting on ``day`` as calendar.shift_intervals lays them out (exceptions replace weekly)."""
    exceptions = [e for e in shifts.exceptions if e.date == day]
    if exceptions:
        return [] if any(e.off for e in exceptions) else [_exception(e) for e in exceptions]
    weekday = WEEKDAYS[day.weekday()]
    origin = day.toordinal() * MINUTES_PER_DAY
    return [
        _weekly(s, origin, f"weekly {s.day} {s.start}-{s.end} on {day.isoformat()}")
        for s in shifts.weekly
        if s.day == weekday
    ]


def shift_problems(shifts: Shifts) -> list[str]:
    """One line per pair of overlapping shifts: ``shifts.weekly: A overlaps B`` or ``shifts.exceptions: ...``."""
    problems: list[str] = []
    weekly = [_weekly(s, WEEKDAYS.index(s.day) * MINUTES_PER_DAY, f"{s.day} {s.start}-{s.end}") for s in shifts.weekly]
    # the week wraps round: sun 22:00-06:00 runs into Monday
    for first, second in _clashes(itertools.combinations(weekly, 2), (-_WEEK, 0, _WEEK)):
        problems.append(f"shifts.weekly: {first} overlaps {second}")
    for day in sorted({e.date for e in shifts.exceptions}):
        same_day = [e for e in shifts.exceptions if e.date == day]
        if any(e.off for e in same_day) and any(e.start and e.end for e in same_day):
            problems.append(f"shifts.exceptions: {day.isoformat()} is marked off: true and also given hours")
        dated = [_exception(e) for e in same_day if e.start and e.end]
        pairs = list(itertools.combinations(dated, 2))
        # the day before may run into this one (a weekly night shift, or an exception that replaced it);
        # the day after is checked from here only when no exception of its own will check it
        pairs += [(before, span) for before in _scheduled_on(shifts, day - dt.timedelta(days=1)) for span in dated]
        after = day + dt.timedelta(days=1)
        if not any(e.date == after for e in shifts.exceptions):
            pairs += [(span, later) for later in _scheduled_on(shifts, after) for span in dated]
        for first, second in _clashes(pairs):
            problems.append(f"shifts.exceptions: {first} overlaps {second}")
    return problems
