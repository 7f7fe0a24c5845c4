"""Event expansion, shift intervals and active promotions (retail_intel.config.calendar)."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from retail_intel.config.calendar import active_promotions, expand_events, shift_intervals
from retail_intel.config.models import Employee, Event, Promotion
from retail_intel.errors import InputError, TimeError

UTC = dt.UTC
LONDON = ZoneInfo("Europe/London")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=UTC)


def event(**fields: Any) -> Event:
    base: dict[str, Any] = {"id": "ev", "name": "Event", "branch": "b1"}
    base.update(fields)
    return Event.model_validate(base)


def employee(weekly: list[dict[str, str]], exceptions: list[dict[str, Any]] | None = None) -> Employee:
    return Employee.model_validate(
        {"id": "e1", "branch": "b1", "name": "A", "shifts": {"weekly": weekly, "exceptions": exceptions or []}}
    )


# --- events -----------------------------------------------------------------


def test_a_range_from_year_1_does_not_overflow() -> None:
    # the earliest start that can overlap the range is before year 1: every repetition is a candidate
    weekly = event(start=utc(2026, 3, 2, 9), end=utc(2026, 3, 2, 12), repeat="weekly")
    assert expand_events([weekly], dt.datetime.min.replace(tzinfo=UTC), utc(2026, 3, 10)) == expand_events(
        [weekly], utc(2026, 3, 1), utc(2026, 3, 10)
    )


def test_one_off_event_is_returned_only_when_it_overlaps_the_range() -> None:
    ev = event(start="2026-05-01T10:00:00Z", end="2026-05-01T12:00:00Z")
    assert [o.start for o in expand_events([ev], utc(2026, 5, 1, 11), utc(2026, 5, 2))] == [utc(2026, 5, 1, 10)]
    assert expand_events([ev], utc(2026, 5, 1, 12), utc(2026, 5, 2)) == []  # ends exactly at range start
    assert expand_events([ev], utc(2026, 4, 1), utc(2026, 5, 1, 10)) == []  # range ends at its start


def test_occurrence_fields_are_copied_from_the_event() -> None:
    ev = event(
        id="m",
        name="Market",
        branch=None,
        location="Square",
        start="2026-05-01T10:00:00+02:00",
        end="2026-05-01T12:00:00+02:00",
    )
    (occ,) = expand_events([ev], utc(2026, 5, 1), utc(2026, 5, 2))
    assert (occ.event_id, occ.name, occ.branch, occ.location) == ("m", "Market", None, "Square")
    assert occ.start == utc(2026, 5, 1, 8) and occ.start.tzinfo is UTC
    assert occ.end == utc(2026, 5, 1, 10) and occ.end.tzinfo is UTC


def test_daily_repetition_stops_after_inclusive_until() -> None:
    ev = event(start="2026-12-07T06:00:00Z", end="2026-12-07T10:00:00Z", repeat="daily", until="2026-12-11")
    starts = [o.start for o in expand_events([ev], utc(2026, 12, 1), utc(2027, 1, 1))]
    assert starts == [utc(2026, 12, day, 6) for day in range(7, 12)]


def test_more_occurrences_than_the_cap_are_refused_not_cut_short() -> None:
    # `events --from 1900-01-01T00:00:00Z --to 2999-01-01T00:00:00Z` listed a daily event up to
    # 2299 and stopped there without a word
    ev = event(start="2026-01-01T06:00:00Z", end="2026-01-01T07:00:00Z", repeat="daily")
    with pytest.raises(InputError, match="event 'ev' repeats daily more than 100,000 times in the range"):
        expand_events([ev], utc(2026, 1, 1), utc(2400, 1, 1))
    # the range named as the caller names it: start/end (it said --from/--to to a Python caller)
    with pytest.raises(InputError, match=r"; ask for a shorter range \(start/end\)$"):
        expand_events([ev], utc(2026, 1, 1), utc(2400, 1, 1))
    with pytest.raises(InputError, match=r"; ask for a shorter range \(--from/--to\)$"):
        expand_events([ev], utc(2026, 1, 1), utc(2400, 1, 1), range_names=("--from", "--to"))
    assert len(expand_events([ev], utc(2026, 1, 1), utc(2036, 1, 1))) == 3652


def test_weekly_repetition_without_until_runs_on() -> None:
    ev = event(start="2026-01-03T08:00:00Z", end="2026-01-03T14:00:00Z", repeat="weekly")
    occs = expand_events([ev], utc(2030, 6, 1), utc(2030, 6, 30))
    assert [o.start.date() for o in occs] == [dt.date(2030, 6, d) for d in (1, 8, 15, 22, 29)]
    assert all(o.start.weekday() == 5 and o.end - o.start == dt.timedelta(hours=6) for o in occs)


def test_weekly_event_keeps_local_time_across_dst_when_given_the_branch_zone() -> None:
    # Saturdays 09:00 London: GMT until 29 March 2026, BST after.
    ev = event(start="2026-03-21T09:00:00+00:00", end="2026-03-21T11:00:00+00:00", repeat="weekly")
    with_zone = expand_events([ev], utc(2026, 3, 20), utc(2026, 4, 5), timezones={"b1": LONDON})
    assert [o.start for o in with_zone] == [utc(2026, 3, 21, 9), utc(2026, 3, 28, 9), utc(2026, 4, 4, 8)]
    assert all(o.end - o.start == dt.timedelta(hours=2) for o in with_zone)
    # Without a zone the offset written in the file (+00:00) is kept.
    without = expand_events([ev], utc(2026, 3, 20), utc(2026, 4, 5))
    assert [o.start.hour for o in without] == [9, 9, 9]


def test_a_one_off_event_across_the_autumn_clock_change_keeps_its_instants() -> None:
    # New York falls back at 06:00 UTC on 1 November 2026: 01:10 EDT to 01:50 EST is 100 minutes,
    # though both wall clocks read 01:xx; the second 01:xx hour must not be lost
    new_york = ZoneInfo("America/New_York")
    ev = event(start="2026-11-01T01:10:00-04:00", end="2026-11-01T01:50:00-05:00")
    (once,) = expand_events([ev], utc(2026, 11, 1), utc(2026, 11, 2), timezones={"b1": new_york})
    assert (once.start, once.end) == (utc(2026, 11, 1, 5, 10), utc(2026, 11, 1, 6, 50))
    # spring forward: 01:30 EST to 03:30 EDT is one hour, not the two the wall clocks show
    spring = event(start="2026-03-08T01:30:00-05:00", end="2026-03-08T03:30:00-04:00")
    (short,) = expand_events([spring], utc(2026, 3, 8), utc(2026, 3, 9), timezones={"b1": new_york})
    assert short.end - short.start == dt.timedelta(hours=1)


def test_monthly_on_the_31st_skips_shorter_months() -> None:
    ev = event(start="2026-01-31T10:00:00Z", end="2026-01-31T11:00:00Z", repeat="monthly")
    occs = expand_events([ev], utc(2026, 1, 1), utc(2027, 1, 1))
    assert [o.start.month for o in occs] == [1, 3, 5, 7, 8, 10, 12]
    assert all(o.start.day == 31 for o in occs)


def test_monthly_on_the_29th_skips_february_except_in_leap_years() -> None:
    ev = event(start="2027-01-29T10:00:00Z", end="2027-01-29T11:00:00Z", repeat="monthly", until="2028-03-29")
    months = [(o.start.year, o.start.month) for o in expand_events([ev], utc(2027, 1, 1), utc(2029, 1, 1))]
    assert (2027, 2) not in months and (2028, 2) in months
    assert months[-1] == (2028, 3)  # until is inclusive
    assert len(months) == 14  # the 15 months Jan 2027 .. Mar 2028 minus Feb 2027


def test_until_is_compared_with_the_local_date() -> None:
    # 23:30 local on 10 March (Amsterdam, +01:00) is 22:30 UTC the same day;
    # 00:30 local on 11 March would already be past until=2026-03-10.
    ev = event(start="2026-03-08T23:30:00+01:00", end="2026-03-09T00:30:00+01:00", repeat="daily", until="2026-03-10")
    occs = expand_events([ev], utc(2026, 3, 1), utc(2026, 4, 1), timezones={"b1": ZoneInfo("Europe/Amsterdam")})
    assert [o.start for o in occs] == [utc(2026, 3, 8, 22, 30), utc(2026, 3, 9, 22, 30), utc(2026, 3, 10, 22, 30)]


def test_long_event_started_before_the_range_is_included() -> None:
    ev = event(start="2026-06-01T00:00:00Z", end="2026-06-04T00:00:00Z", repeat="weekly")
    occs = expand_events([ev], utc(2026, 6, 10), utc(2026, 6, 11))
    assert [(o.start, o.end) for o in occs] == [(utc(2026, 6, 8), utc(2026, 6, 11))]


def test_results_are_sorted_by_start_across_events() -> None:
    a = event(id="a", start="2026-05-02T10:00:00Z", end="2026-05-02T11:00:00Z")
    b = event(id="b", start="2026-05-01T10:00:00Z", end="2026-05-01T11:00:00Z", repeat="daily")
    ids = [o.event_id for o in expand_events([a, b], utc(2026, 5, 1), utc(2026, 5, 3))]
    assert ids == ["b", "a", "b"]


def test_empty_or_inverted_range_gives_nothing() -> None:
    ev = event(start="2026-05-01T10:00:00Z", end="2026-05-01T11:00:00Z", repeat="daily")
    assert expand_events([ev], utc(2026, 5, 3), utc(2026, 5, 3)) == []
    assert expand_events([ev], utc(2026, 5, 4), utc(2026, 5, 3)) == []


def test_naive_range_is_rejected() -> None:
    with pytest.raises(TimeError, match="timezone"):
        expand_events([], dt.datetime(2026, 1, 1), utc(2026, 1, 2))


def test_a_date_for_a_range_end_is_an_error_naming_it() -> None:
    # was an AttributeError ('datetime.date' object has no attribute 'tzinfo')
    with pytest.raises(
        TimeError, match=r"end must be a datetime.datetime with a timezone, got datetime.date\(2026, 1, 2\)"
    ):
        expand_events([], utc(2026, 1, 1), dt.date(2026, 1, 2))  # type: ignore[arg-type]


def _reference_starts(ev: Event, start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    """Brute force from the first repetition, in UTC (the events below are written in UTC)."""
    found = []
    for n in range(0, 5000):
        if ev.repeat.value == "daily":
            s = ev.start + dt.timedelta(days=n)
        elif ev.repeat.value == "weekly":
            s = ev.start + dt.timedelta(weeks=n)
        else:
            month_index = ev.start.month - 1 + n
            try:
                s = ev.start.replace(year=ev.start.year + month_index // 12, month=month_index % 12 + 1)
            except ValueError:
                continue
        if (ev.until is not None and s.date() > ev.until) or s >= end:
            break
        if s + (ev.end - ev.start) > start:
            found.append(s)
    return found


@settings(max_examples=150, deadline=None)
@given(
    repeat=st.sampled_from(["daily", "weekly", "monthly"]),
    first=st.datetimes(min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2026, 12, 31)),
    hours=st.integers(min_value=1, max_value=80),
    offset_days=st.integers(min_value=-60, max_value=900),
    span_days=st.integers(min_value=1, max_value=120),
    until_days=st.none() | st.integers(min_value=0, max_value=900),
)
def test_expansion_matches_brute_force(
    repeat: str, first: dt.datetime, hours: int, offset_days: int, span_days: int, until_days: int | None
) -> None:
    start = first.replace(second=0, microsecond=0, tzinfo=UTC)
    until = None if until_days is None else (start + dt.timedelta(days=until_days)).date()
    ev = event(start=start, end=start + dt.timedelta(hours=hours), repeat=repeat, until=until)
    range_start = start + dt.timedelta(days=offset_days)
    range_end = range_start + dt.timedelta(days=span_days)
    got = expand_events([ev], range_start, range_end)
    assert [o.start for o in got] == _reference_starts(ev, range_start, range_end)
    assert all(o.start < range_end and o.end > range_start for o in got)


# --- shifts -----------------------------------------------------------------


def test_weekly_shifts_follow_the_branch_clock_through_the_spring_dst_change() -> None:
    # British Summer Time starts Sunday 29 March 2026.
    emp = employee([{"day": "sat", "start": "09:00", "end": "17:00"}, {"day": "mon", "start": "09:00", "end": "17:00"}])
    got = shift_intervals(emp, LONDON, utc(2026, 3, 27), utc(2026, 4, 1))
    assert got == [(utc(2026, 3, 28, 9), utc(2026, 3, 28, 17)), (utc(2026, 3, 30, 8), utc(2026, 3, 30, 16))]


def test_shift_spanning_the_clock_change_has_its_real_length() -> None:
    emp = employee([{"day": "sun", "start": "00:30", "end": "03:00"}])
    spring = shift_intervals(emp, LONDON, utc(2026, 3, 29), utc(2026, 3, 30))
    assert spring == [(utc(2026, 3, 29, 0, 30), utc(2026, 3, 29, 2))]  # clocks skip 01:00-02:00
    autumn = shift_intervals(emp, LONDON, utc(2026, 10, 24), utc(2026, 10, 26))
    assert autumn == [(utc(2026, 10, 24, 23, 30), utc(2026, 10, 25, 3))]  # 01:00-02:00 happens twice


def test_exception_off_removes_that_dates_shifts_only() -> None:
    emp = employee(
        [{"day": "mon", "start": "09:00", "end": "17:00"}],
        [{"date": "2026-06-08", "off": True}],
    )
    got = shift_intervals(emp, ZoneInfo("UTC"), utc(2026, 6, 1), utc(2026, 6, 16))
    assert [a.date() for a, _ in got] == [dt.date(2026, 6, 1), dt.date(2026, 6, 15)]


def test_exception_hours_replace_the_weekly_shifts_of_that_date() -> None:
    emp = employee(
        [{"day": "mon", "start": "09:00", "end": "13:00"}, {"day": "mon", "start": "14:00", "end": "18:00"}],
        [
            {"date": "2026-06-08", "start": "12:00", "end": "15:00"},
            {"date": "2026-06-09", "start": "10:00", "end": "11:00"},
        ],
    )
    got = shift_intervals(emp, ZoneInfo("UTC"), utc(2026, 6, 8), utc(2026, 6, 10))
    assert got == [(utc(2026, 6, 8, 12), utc(2026, 6, 8, 15)), (utc(2026, 6, 9, 10), utc(2026, 6, 9, 11))]


def test_split_shift_gives_two_intervals() -> None:
    emp = employee([{"day": "mon", "start": "09:00", "end": "13:00"}, {"day": "mon", "start": "14:00", "end": "18:00"}])
    got = shift_intervals(emp, ZoneInfo("UTC"), utc(2026, 6, 1), utc(2026, 6, 2))
    assert got == [(utc(2026, 6, 1, 9), utc(2026, 6, 1, 13)), (utc(2026, 6, 1, 14), utc(2026, 6, 1, 18))]


def test_intervals_are_clipped_to_the_range() -> None:
    emp = employee([{"day": "mon", "start": "09:00", "end": "17:00"}])
    got = shift_intervals(emp, ZoneInfo("UTC"), utc(2026, 6, 1, 10), utc(2026, 6, 1, 12))
    assert got == [(utc(2026, 6, 1, 10), utc(2026, 6, 1, 12))]
    assert shift_intervals(emp, ZoneInfo("UTC"), utc(2026, 6, 1, 17), utc(2026, 6, 1, 20)) == []


def test_local_date_decides_the_weekday_far_from_utc() -> None:
    # Monday 08:00 in Auckland (+12 in June) is Sunday 20:00 UTC.
    emp = employee([{"day": "mon", "start": "08:00", "end": "09:00"}])
    got = shift_intervals(emp, ZoneInfo("Pacific/Auckland"), utc(2026, 6, 7), utc(2026, 6, 8))
    assert got == [(utc(2026, 6, 7, 20), utc(2026, 6, 7, 21))]


_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


@st.composite
def weekly_schedules(draw: st.DrawFn) -> list[dict[str, str]]:
    shifts = []
    for day in draw(st.lists(st.sampled_from(_DAYS), unique=True, max_size=7)):
        start = draw(st.integers(min_value=0, max_value=22))
        end = draw(st.integers(min_value=start + 1, max_value=23))
        shifts.append({"day": day, "start": f"{start:02d}:00", "end": f"{end:02d}:30"})
    return shifts


@settings(max_examples=100, deadline=None)
@given(schedule=weekly_schedules(), weeks=st.integers(min_value=1, max_value=4))
def test_whole_weeks_in_utc_contain_every_weekly_shift(schedule: list[dict[str, str]], weeks: int) -> None:
    emp = employee(schedule)
    start = utc(2026, 6, 1)  # a Monday
    got = shift_intervals(emp, ZoneInfo("UTC"), start, start + dt.timedelta(weeks=weeks))
    per_week = sum(
        (dt.datetime.strptime(s["end"], "%H:%M") - dt.datetime.strptime(s["start"], "%H:%M") for s in schedule),
        dt.timedelta(),
    )
    assert sum((b - a for a, b in got), dt.timedelta()) == per_week * weeks
    assert all(a < b for a, b in got)
    assert all(b1 <= a2 for (_, b1), (a2, _) in itertools.pairwise(got))


# --- promotions -------------------------------------------------------------


def test_active_promotions_respect_branch_and_half_open_interval() -> None:
    everywhere = Promotion(id="p1", name="All", branches="all", start=utc(2026, 11, 27), end=utc(2026, 12, 1))
    only_b2 = Promotion(id="p2", name="B2", branches=["b2"], start=utc(2026, 11, 27), end=utc(2026, 12, 1))
    promos = [everywhere, only_b2]
    assert [p.id for p in active_promotions(promos, "b2", utc(2026, 11, 27))] == ["p1", "p2"]
    assert [p.id for p in active_promotions(promos, "b1", utc(2026, 11, 30, 23))] == ["p1"]
    assert active_promotions(promos, "b2", utc(2026, 12, 1)) == []  # end is exclusive
    assert active_promotions(promos, "b2", utc(2026, 11, 26, 23, 59)) == []
