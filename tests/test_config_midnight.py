"""Spans that end at midnight (24:00) or cross it: opening hours and shifts, the config, the calendar, both KPI engines.

Each case is written as a user writes it (YAML), with a visitor or a clerk placed by hand,
and both engines must give the same rows.
"""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa
import pytest

from retail_intel.config import load_config
from retail_intel.config.calendar import opening_intervals, shift_intervals
from retail_intel.config.models import Branch, Employee
from retail_intel.errors import ConfigError
from retail_intel.kpis.compute import ENGINES, compute_kpis
from retail_intel.kpis.windows import from_us, local_midnight_us
from retail_intel.movements.schema import MOVEMENT_SCHEMA
from retail_intel.movements.store import write_movements
from tests.kpi_fixtures import movement

UTC = dt.UTC
BERLIN = ZoneInfo("Europe/Berlin")


def local(tz: ZoneInfo, *args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=tz).astimezone(UTC)  # type: ignore[misc]


def on_day(tz: ZoneInfo, day: dt.date, hour: int = 0, minute: int = 0) -> dt.datetime:
    return local(tz, day.year, day.month, day.day, hour, minute)


def branch(**fields: Any) -> Branch:
    return Branch.model_validate({"id": "b1", "name": "Shop", "capacity": 10, **fields})


def employee(weekly: list[dict[str, str]], exceptions: list[dict[str, Any]] | None = None) -> Employee:
    shifts = {"weekly": weekly, "exceptions": exceptions or []}
    return Employee.model_validate({"id": "e1", "branch": "b1", "name": "A", "shifts": shifts})


def write_config(tmp_path: Path, branch_yaml: str, employees_yaml: str | None = None) -> Path:
    config = tmp_path / "config"
    config.mkdir()
    (config / "branches.yaml").write_text(f"branches:\n  - {branch_yaml}\n")
    if employees_yaml is not None:
        (config / "employees.yaml").write_text(f"employees:\n  - {employees_yaml}\n")
    return config


def kpis(
    tmp_path: Path, config: Path, people: list[tuple[dt.datetime, dt.datetime]], window: int
) -> dict[dt.datetime, dict[str, Any]]:
    """The KPI rows by window start; both engines must give the same ones."""
    data = tmp_path / "data"
    rows = [movement("b1", "entered", a, (z - a) / dt.timedelta(minutes=1)) for a, z in people]
    for i, row in enumerate(rows):
        table = pa.Table.from_pylist([row], schema=MOVEMENT_SCHEMA)
        write_movements(table, data, branch_id="b1", day=row["enter_time"].date(), source_key=f"v{i}")  # type: ignore[union-attr]
    loaded = load_config(config)
    found = [compute_kpis(loaded, data, window_minutes=window, engine=e, write=False).table for e in ENGINES]
    by_engine = [{r["window_start"]: r for r in t.to_pylist()} for t in found]
    for name in ("reconciled_peak_occupancy", "reconciled_occupancy", "staff_on_duty", "occupancy_imbalance"):
        assert [{t: r[name] for t, r in rows.items()} for rows in by_engine[1:]] == [
            {t: r[name] for t, r in by_engine[0].items()}
        ] * (len(by_engine) - 1), name
    return by_engine[0]


# --- 24:00 ------------------------------------------------------------------


def test_24_00_is_an_end_running_to_the_next_local_midnight() -> None:
    shop = branch(timezone="Europe/Berlin", opening_hours={"sat": "08:00-24:00"})
    # Saturday 24 Oct 2026; the night after is the fall-back night, Sunday is 25 hours long
    (span,) = opening_intervals(shop, local(BERLIN, 2026, 10, 24), local(BERLIN, 2026, 10, 26))
    assert span == (local(BERLIN, 2026, 10, 24, 8), from_us(local_midnight_us(dt.date(2026, 10, 25), BERLIN)))
    assert shop.opening_hours["sat"].minutes == (480, 1440)


def test_a_24_hour_store_is_open_from_midnight_to_midnight_through_a_dst_day() -> None:
    shop = branch(timezone="Europe/Berlin", opening_hours={"sun": "00:00-24:00"})
    (span,) = opening_intervals(shop, local(BERLIN, 2026, 3, 28), local(BERLIN, 2026, 3, 31))
    assert span == (local(BERLIN, 2026, 3, 29), local(BERLIN, 2026, 3, 30))
    assert span[1] - span[0] == dt.timedelta(hours=23)  # the spring-forward day, in elapsed time


def test_a_shift_may_end_at_24_00() -> None:
    clerk = employee(
        [{"day": "mon", "start": "18:00", "end": "24:00"}], [{"date": "2026-03-03", "start": "20:00", "end": "24:00"}]
    )
    found = shift_intervals(
        clerk, ZoneInfo("UTC"), dt.datetime(2026, 3, 2, tzinfo=UTC), dt.datetime(2026, 3, 5, tzinfo=UTC)
    )
    assert found == [
        (dt.datetime(2026, 3, 2, 18, tzinfo=UTC), dt.datetime(2026, 3, 3, tzinfo=UTC)),
        (dt.datetime(2026, 3, 3, 20, tzinfo=UTC), dt.datetime(2026, 3, 4, tzinfo=UTC)),
    ]


@pytest.mark.parametrize(
    ("hours", "problem"),
    [
        ("24:00-08:00", "opening_hours.mon.start must be a time of day HH:MM, got '24:00'"),
        (
            "08:00-24:01",
            "opening_hours.mon.end must be a time of day HH:MM from 00:00 to 23:59, or 24:00 for midnight, got '24:01'",
        ),
        (
            "08:00-08:00",
            "opening_hours.mon: end must differ from start (an end earlier than the start runs past midnight; "
            "a whole day is 00:00-24:00), got 08:00-08:00",
        ),
    ],
)
def test_spans_still_refused_name_the_file_the_entry_and_the_value(tmp_path: Path, hours: str, problem: str) -> None:
    config = write_config(tmp_path, f"{{id: b1, name: Shop, capacity: 10, opening_hours: {{mon: '{hours}'}}}}")
    with pytest.raises(ConfigError) as info:
        load_config(config)
    assert f'branches.yaml: branch "b1": {problem}' in str(info.value)


def test_a_visitor_at_23_59_30_is_inside_opening_hours_until_24_00(tmp_path: Path) -> None:
    config = write_config(
        tmp_path, "{id: b1, name: Shop, capacity: 10, timezone: Europe/Berlin, opening_hours: {sat: '08:00-24:00'}}"
    )
    visitor = (local(BERLIN, 2026, 10, 24, 23, 59, 20), local(BERLIN, 2026, 10, 24, 23, 59, 40))
    rows = kpis(tmp_path, config, [visitor], window=1)
    last = rows[local(BERLIN, 2026, 10, 24, 23, 59)]
    assert last["reconciled_peak_occupancy"] == 1.0  # open: with 23:59 the last minute read closed (0)


def test_a_clerk_on_until_24_00_is_on_duty_in_the_last_hour(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        "{id: b1, name: Shop, capacity: 10, timezone: Europe/Berlin, opening_hours: {sat: '00:00-24:00'}}",
        "{id: e1, branch: b1, name: A, shifts: {weekly: [{day: sat, start: '18:00', end: '24:00'}]}}",
    )
    visitor = (local(BERLIN, 2026, 10, 24, 23, 10), local(BERLIN, 2026, 10, 24, 23, 50))
    rows = kpis(tmp_path, config, [visitor], window=60)
    assert rows[local(BERLIN, 2026, 10, 24, 23)]["staff_on_duty"] == 1.0
    assert rows[local(BERLIN, 2026, 10, 24, 23)]["reconciled_peak_occupancy"] == 1.0


# --- crossing midnight --------------------------------------------------------

NEW_YORK = ZoneInfo("America/New_York")


def test_a_span_ending_before_its_start_runs_into_the_next_day() -> None:
    bar = branch(timezone="Europe/Berlin", opening_hours={"fri": "18:00-02:00"})
    assert bar.opening_hours["fri"].minutes == (18 * 60, 26 * 60)
    # Friday 6 Mar 2026: one span, Friday 18:00 to Saturday 02:00 local
    assert opening_intervals(bar, local(BERLIN, 2026, 3, 6), local(BERLIN, 2026, 3, 9)) == [
        (local(BERLIN, 2026, 3, 6, 18), local(BERLIN, 2026, 3, 7, 2))
    ]
    # a range starting on Saturday still sees the end of Friday's night
    assert opening_intervals(bar, local(BERLIN, 2026, 3, 7), local(BERLIN, 2026, 3, 8)) == [
        (local(BERLIN, 2026, 3, 7), local(BERLIN, 2026, 3, 7, 2))
    ]


@pytest.mark.parametrize(
    ("tz", "night", "hours"),
    [
        (BERLIN, dt.date(2026, 3, 28), 7),  # clocks go forward at 02:00 on Sunday 29 March
        (BERLIN, dt.date(2026, 10, 24), 9),  # and back at 03:00 on Sunday 25 October
        (NEW_YORK, dt.date(2026, 3, 7), 7),  # forward at 02:00 on Sunday 8 March
        (NEW_YORK, dt.date(2026, 10, 31), 9),  # back at 02:00 on Sunday 1 November
    ],
)
def test_a_night_shift_across_a_clock_change_lasts_the_elapsed_time(tz: ZoneInfo, night: dt.date, hours: int) -> None:
    clerk = employee([{"day": "sat", "start": "22:00", "end": "06:00"}])
    morning = night + dt.timedelta(days=1)
    ((on, off),) = shift_intervals(clerk, tz, on_day(tz, night), on_day(tz, night + dt.timedelta(days=2)))
    assert on == on_day(tz, night, 22)
    assert off == on_day(tz, morning, 6)
    assert off - on == dt.timedelta(hours=hours)


def test_an_exception_replaces_the_night_shift_starting_on_its_date_not_the_one_running_into_it() -> None:
    clerk = employee(
        [{"day": "fri", "start": "22:00", "end": "06:00"}, {"day": "sat", "start": "22:00", "end": "06:00"}],
        [{"date": "2026-03-07", "off": True}],
    )
    found = shift_intervals(
        clerk, ZoneInfo("UTC"), dt.datetime(2026, 3, 6, tzinfo=UTC), dt.datetime(2026, 3, 9, tzinfo=UTC)
    )
    assert found == [(dt.datetime(2026, 3, 6, 22, tzinfo=UTC), dt.datetime(2026, 3, 7, 6, tzinfo=UTC))]


@pytest.mark.parametrize(
    ("shifts", "problem"),
    [
        (
            "weekly: [{day: fri, start: '22:00', end: '06:00'}, {day: sat, start: '05:00', end: '09:00'}]",
            "shifts.weekly: fri 22:00-06:00 overlaps sat 05:00-09:00",
        ),
        (  # the week wraps round: Sunday night runs into Monday
            "weekly: [{day: mon, start: '05:00', end: '09:00'}, {day: sun, start: '22:00', end: '06:00'}]",
            "shifts.weekly: mon 05:00-09:00 overlaps sun 22:00-06:00",
        ),
        (
            "weekly: [{day: sat, start: '05:00', end: '09:00'}], exceptions: [{date: 2026-03-06, start: '22:00', end: '06:00'}]",
            "shifts.exceptions: 2026-03-06 22:00-06:00 overlaps weekly sat 05:00-09:00 on 2026-03-07",
        ),
        (  # a weekly night shift runs into a dated exception's hours
            "weekly: [{day: fri, start: '22:00', end: '06:00'}], exceptions: [{date: 2026-03-07, start: '05:00', end: '09:00'}]",
            "shifts.exceptions: weekly fri 22:00-06:00 on 2026-03-06 overlaps 2026-03-07 05:00-09:00",
        ),
        (
            "weekly: [{day: fri, start: '22:00', end: '24:00'}], exceptions: [{date: 2026-03-07, start: '00:00', end: '06:00'}]",
            None,  # 24:00 and the next day's 00:00 are the same instant: they meet, they do not overlap
        ),
        ("weekly: [{day: fri, start: '22:00', end: '06:00'}, {day: sat, start: '06:00', end: '09:00'}]", None),
    ],
)
def test_night_shifts_overlapping_the_next_days_are_refused(tmp_path: Path, shifts: str, problem: str | None) -> None:
    config = write_config(
        tmp_path, "{id: b1, name: Shop, capacity: 10}", f"{{id: e1, branch: b1, name: A, shifts: {{{shifts}}}}}"
    )
    if problem is None:
        load_config(config)
        return
    with pytest.raises(ConfigError) as info:
        load_config(config)
    assert f'employees.yaml: employee "e1": {problem}' in str(info.value)


def test_a_visitor_at_01_00_saturday_is_inside_fridays_opening(tmp_path: Path) -> None:
    config = write_config(
        tmp_path, "{id: b1, name: Bar, capacity: 10, timezone: Europe/Berlin, opening_hours: {fri: '18:00-02:00'}}"
    )
    visitor = (local(BERLIN, 2026, 3, 7, 0, 50), local(BERLIN, 2026, 3, 7, 1, 10))
    late = (local(BERLIN, 2026, 3, 7, 2, 20), local(BERLIN, 2026, 3, 7, 2, 30))  # seen after closing
    rows = kpis(tmp_path, config, [visitor, late], window=60)
    assert rows[local(BERLIN, 2026, 3, 7, 1)]["reconciled_peak_occupancy"] == 1.0  # open: Friday's night
    assert rows[local(BERLIN, 2026, 3, 7, 2)]["reconciled_peak_occupancy"] == 0.0  # closed at 02:00


@pytest.mark.parametrize(("tz", "night"), [(BERLIN, dt.date(2026, 3, 28)), (NEW_YORK, dt.date(2026, 10, 31))])
def test_a_night_shift_makes_a_person_staff_at_03_00_on_a_clock_change_night(
    tmp_path: Path, tz: ZoneInfo, night: dt.date
) -> None:
    config = write_config(
        tmp_path,
        f"{{id: b1, name: Station, capacity: 10, timezone: {tz.key}}}",
        "{id: e1, branch: b1, name: A, shifts: {weekly: [{day: sat, start: '22:00', end: '06:00'}]}}",
    )
    sunday = night + dt.timedelta(days=1)
    people = [
        (on_day(tz, sunday, 3, 10), on_day(tz, sunday, 3, 20)),
        (on_day(tz, sunday, 6, 10), on_day(tz, sunday, 6, 20)),
    ]
    rows = kpis(tmp_path, config, people, window=60)
    assert rows[on_day(tz, sunday, 3)]["staff_on_duty"] == 1.0
    assert rows[on_day(tz, sunday, 6)]["staff_on_duty"] == 0.0


def test_the_report_axis_covers_a_night_running_into_its_first_day() -> None:
    from retail_intel.report.data import _opening

    bar = branch(timezone="Europe/Berlin", opening_hours={"fri": "18:00-02:00", "sat": "18:00-24:00"})
    # a report on Saturday alone: Friday's night is open until 02:00, Saturday until midnight
    assert _opening(bar, dt.date(2026, 3, 7), dt.date(2026, 3, 7)) == (0, 1440)
    # Friday alone: from 18:00 to 02:00 the next morning
    assert _opening(bar, dt.date(2026, 3, 6), dt.date(2026, 3, 6)) == (18 * 60, 26 * 60)


def test_demo_shifts_follow_an_opening_span_past_midnight() -> None:
    from retail_intel.config.models import TimeRange
    from retail_intel.demo.config import _shift

    night = TimeRange.parse("22:00-10:00")
    assert _shift("sun", night, early=True).model_dump() == {"day": "sun", "start": "22:00", "end": "06:00"}
    # the late shift starts after midnight: it is Monday's
    assert _shift("sun", night, early=False).model_dump() == {"day": "mon", "start": "02:00", "end": "10:00"}
    assert _shift("fri", TimeRange.parse("18:00-24:00"), early=False).model_dump() == {
        "day": "fri",
        "start": "18:00",
        "end": "24:00",
    }


def test_sql_weekly_hours_count_shifts_to_and_past_midnight() -> None:
    from retail_intel.sqlviews.metadata import _employee_row

    clerk = employee(
        [{"day": "sat", "start": "22:00", "end": "06:00"}, {"day": "mon", "start": "18:00", "end": "24:00"}]
    )
    assert _employee_row(clerk)["weekly_hours"] == 14.0  # 8 + 6, not 8 - 16 + 6


# --- an end in the hour a spring-forward change skips -------------------------


@pytest.mark.parametrize(
    ("zone", "night", "day"),
    [
        # Paris skips 02:00-03:00 on 29 Mar 2026: 02:30 is read as 03:30, after Sunday's 03:00 start
        ("Europe/Paris", [("sat", "22:00", "02:30"), ("sun", "03:00", "08:00")], dt.date(2026, 3, 29)),
        # Santiago skips 00:00-01:00 on 6 Sep 2026: 00:30 is read as 01:30
        ("America/Santiago", [("sat", "18:00", "00:30"), ("sun", "01:00", "07:00")], dt.date(2026, 9, 6)),
    ],
)
def test_shifts_that_a_skipped_hour_makes_overlap_are_one_stretch_on_duty(
    zone: str, night: list[tuple[str, str, str]], day: dt.date
) -> None:
    clerk = employee([{"day": d, "start": a, "end": z} for d, a, z in night])
    tz = ZoneInfo(zone)
    start = dt.datetime.combine(day - dt.timedelta(days=1), dt.time(), UTC)
    found = shift_intervals(clerk, tz, start, start + dt.timedelta(days=2))
    # one person is never on duty twice at once (it read 1.5 staff on duty in that hour)
    assert all(later[0] > earlier[1] for earlier, later in itertools.pairwise(found)), found
    night_start = dt.datetime.combine(day - dt.timedelta(days=1), dt.time(int(night[0][1][:2])), tz)
    assert (night_start.astimezone(UTC), dt.datetime.combine(day, dt.time(int(night[1][2][:2])), tz)) in found


def test_a_clerk_whose_night_ends_in_the_skipped_hour_is_one_staff_on_duty(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        "{id: b1, name: Bar, capacity: 10, timezone: Europe/Paris}",
        "{id: e1, branch: b1, name: A, shifts: {weekly: [{day: sat, start: '22:00', end: '02:30'},"
        " {day: sun, start: '03:00', end: '08:00'}]}}",
    )
    paris = ZoneInfo("Europe/Paris")
    visitor = (local(paris, 2026, 3, 28, 22, 10), local(paris, 2026, 3, 29, 5, 0))
    rows = kpis(tmp_path, config, [visitor], window=60)
    assert {r["staff_on_duty"] for r in rows.values() if r["staff_on_duty"]} == {1.0}


def test_the_report_axis_takes_the_night_running_into_a_closed_first_day() -> None:
    from retail_intel.report.data import _opening

    bar = branch(timezone="Europe/Berlin", opening_hours={"sat": "18:00-02:00"})
    sunday = dt.date(2026, 3, 8)  # closed on Sundays: only Saturday's night runs into it
    assert _opening(bar, sunday, sunday) == (0, 120)
