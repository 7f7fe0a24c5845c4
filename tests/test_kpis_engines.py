"""Both KPI engines on hand-built movements, against values worked out by hand.

Each expected number has its arithmetic in a comment; every case is also
checked against the brute-force reference in kpi_helpers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pytest

from retail_intel.errors import DataError
from retail_intel.kpis.compute import ENGINES, run_engine
from retail_intel.kpis.inputs import BranchInfo, Interval, KpiParams, prepare_inputs
from tests.kpi_helpers import (
    Move,
    assert_tables_match,
    close,
    entered,
    interval_source,
    movements_table,
    passed,
    reference_kpis,
)

UTC = dt.UTC
MON = dt.date(2026, 3, 2)  # a Monday, no DST change nearby in UTC or London


def at(hour: int, minute: int = 0, second: int = 0, day: dt.date = MON) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=UTC)


def run(
    moves: Sequence[Move],
    branches: Sequence[BranchInfo],
    engine: str,
    *,
    intervals: Sequence[tuple[str, Interval]] = (),
    window: int = 60,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    baseline_weeks: int = 4,
    momentum_windows: int = 6,
) -> list[dict[str, Any]]:
    params = KpiParams(window_minutes=window, baseline_weeks=baseline_weeks, momentum_windows=momentum_windows)
    prepared = prepare_inputs(
        movements_table(moves), branches, params, intervals=interval_source(intervals), start=start, end=end
    )
    table = run_engine(prepared.inputs, params, engine)
    expected = reference_kpis(
        moves,
        prepared.inputs,
        branches,
        intervals,
        baseline_weeks=baseline_weeks,
        momentum_windows=momentum_windows,
    )
    rows: list[dict[str, Any]] = table.to_pylist()
    assert len(rows) == len(expected)
    for row, ref in zip(rows, expected, strict=True):
        for name, value in ref.items():
            assert close(row[name], value), (engine, name, row[name], value, row["window_start"])
    return rows


def check(row: dict[str, Any], **expected: Any) -> None:
    for name, value in expected.items():
        assert close(row[name], value), (name, row[name], value)


engines = pytest.mark.parametrize("engine", ENGINES)


@engines
def test_one_busy_hour_every_kpi(engine: str) -> None:
    shop = BranchInfo("b1", "UTC", capacity=10, customers_per_staff=2.0, min_staff=1)
    moves = [
        entered("b1", at(9, 10), at(9, 40)),  # A: 30 min in the 09:00 window
        entered("b1", at(9, 30), at(10, 20)),  # B: 30 min at 09:xx, 20 min at 10:xx
        passed("b1", at(9, 5)),  # C
        entered("b1", at(10, 0), at(10, 0)),  # D: zero dwell, a visitor who occupies nobody
    ]
    intervals = [
        ("b1", Interval("staff", at(9), at(9, 30))),  # half of 09:00
        ("b1", Interval("staff", at(9), at(11))),  # all of 09:00 and 10:00
        ("b1", Interval("promotion", at(10, 30), at(12))),
        ("b1", Interval("event", at(8), at(9))),  # ends exactly at 09:00: no overlap
    ]
    nine, ten = run(moves, [shop], engine, intervals=intervals)
    check(
        nine,
        window_start=at(9),
        window_end=at(10),
        window_minutes=60,
        visitors=2,
        passed=1,
        conversion_proxy=2 / 3,
        baseline=None,  # no history
        traffic_index=None,
        peak_occupancy=2,  # A and B together 09:30-09:40
        avg_occupancy=1.0,  # (30 + 30) person-minutes / 60
        # Every exit is seen and the day balances (ins A B D = outs A B D), so the
        # reconciled door count is the person count here: peak 2, mean 1.0.
        reconciled_peak_occupancy=2.0,
        reconciled_avg_occupancy=1.0,
        congestion_level=0.2,  # reconciled peak 2 / capacity 10
        growth_momentum=None,  # a single window has no slope
        utilization_ratio=0.1,  # reconciled mean 1.0 / capacity 10
        staff_on_duty=1.5,  # 0.5 + 1.0
        required_staff=1,  # max(1, ceil(2 / 2))
        staffing_adequacy=1.5,
        bottleneck_score=0.0,  # 0.2 * max(0, 1 - 1.5)
        mean_dwell_seconds=2400.0,  # (1800 + 3000) / 2
        median_dwell_seconds=2400.0,
        promotion_active=False,
        event_active=False,
    )
    check(
        ten,
        visitors=1,
        passed=0,
        conversion_proxy=1.0,
        peak_occupancy=1,  # B, still inside at 10:00; D never inside
        avg_occupancy=20 / 60,  # B until 10:20
        # At 10:00 D's in and out are one instant: outs first, then the in, so the level stays 1 (B).
        reconciled_peak_occupancy=1.0,
        reconciled_avg_occupancy=20 / 60,
        congestion_level=0.1,  # 1 / 10
        utilization_ratio=1 / 30,  # (20 / 60) / 10
        growth_momentum=-1.0,  # visitors 2 then 1
        staff_on_duty=1.0,
        required_staff=1,  # max(1, ceil(1 / 2))
        staffing_adequacy=1.0,
        bottleneck_score=0.0,
        mean_dwell_seconds=0.0,
        median_dwell_seconds=0.0,
        promotion_active=True,  # 10:30-12:00
        event_active=False,
    )


@engines
def test_simultaneous_exits_and_entries_and_empty_windows(engine: str) -> None:
    shop = BranchInfo("b1", "UTC", capacity=4, customers_per_staff=1.0, min_staff=0)
    moves = [
        entered("b1", at(8, 50), at(9)),  # P1 leaves exactly at 09:00
        entered("b1", at(8, 55), at(9)),  # P2 too
        entered("b1", at(8, 59), at(9, 30)),  # P3 stays into 09:xx
        entered("b1", at(9), at(9, 15)),  # P4 enters at 09:00
        entered("b1", at(9, 15), at(9, 45)),  # P5 enters as P4 leaves
        entered("b1", at(9, 45), at(10)),  # P6 enters as P5 leaves, leaves at 10:00
        passed("b1", at(11, 10)),  # extends the series to 11:00; 10:00 stays empty
    ]
    eight, nine, ten, eleven = run(moves, [shop], engine)
    check(
        eight,
        visitors=3,
        peak_occupancy=3,  # P1, P2, P3 from 08:59
        avg_occupancy=16 / 60,  # 10 + 5 + 1 person-minutes
        congestion_level=0.75,
        required_staff=3,  # max(0, ceil(3 / 1))
        staff_on_duty=0.0,
        staffing_adequacy=0.0,
        bottleneck_score=0.75,  # 0.75 * (1 - 0)
        median_dwell_seconds=600.0,  # 600, 300, 1860 -> 600
    )
    check(
        nine,
        visitors=3,  # P4, P5, P6
        # 09:00: P1 and P2 are out, P3 and P4 in -> 2; 09:15 P4 out, P5 in -> 2;
        # a sweep adding before subtracting would report 3 here.
        peak_occupancy=2,
        avg_occupancy=1.5,  # P3 30 + P4 15 + P5 30 + P6 15 = 90 person-minutes
        congestion_level=0.5,
        required_staff=2,
        bottleneck_score=0.5,
        growth_momentum=0.0,  # 3, 3
    )
    check(
        ten,
        visitors=0,
        passed=0,
        conversion_proxy=None,  # 0 / 0
        peak_occupancy=0,  # P6 left at 10:00 exactly
        avg_occupancy=0.0,
        congestion_level=0.0,
        required_staff=0,  # max(0, ceil(0 / 1))
        staffing_adequacy=None,  # staff / 0
        bottleneck_score=None,
        mean_dwell_seconds=None,
        median_dwell_seconds=None,
        growth_momentum=-1.5,  # x 0,1,2 y 3,3,0: Sxy -3 / Sxx 2
    )
    check(
        eleven,
        visitors=0,
        passed=1,
        conversion_proxy=0.0,
        growth_momentum=-1.2,  # x 0..3 y 3,3,0,0: Sxy -6 / Sxx 5
    )


@engines
def test_people_leaving_exactly_at_the_window_start_are_not_in_it(engine: str) -> None:
    shop = BranchInfo("b1", "UTC", capacity=10, customers_per_staff=1.0, min_staff=0)
    moves = [entered("b1", at(8, 40 + k), at(9)) for k in range(3)]  # three leave at 09:00
    moves.append(entered("b1", at(8, 50), at(9, 30)))  # one stays
    eight, nine = run(moves, [shop], engine)
    check(eight, peak_occupancy=4)  # all four from 08:50
    # Just before 09:00 four are inside; at 09:00 only one is. Counting the
    # exits one by one must not leave 3 or 2 as the 09:00 window's peak.
    check(nine, visitors=0, peak_occupancy=1, avg_occupancy=0.5, required_staff=1)


@engines
def test_people_inside_before_the_window_count_towards_occupancy(engine: str) -> None:
    shop = BranchInfo("b1", "UTC", capacity=100, customers_per_staff=10.0, min_staff=1)
    moves = [
        entered("b1", at(7, 30), at(10, 30)),  # inside through three windows
        entered("b1", at(9, 20), at(9, 50)),
    ]
    seven, eight, nine, ten = run(moves, [shop], engine)
    check(seven, visitors=1, peak_occupancy=1, avg_occupancy=0.5)
    check(eight, visitors=0, peak_occupancy=1, avg_occupancy=1.0, conversion_proxy=None)
    check(nine, visitors=1, peak_occupancy=2, avg_occupancy=1.5)  # 60 + 30 person-minutes
    check(ten, visitors=0, peak_occupancy=1, avg_occupancy=0.5)


@engines
def test_baseline_is_the_same_weekday_and_slot_over_previous_weeks(engine: str) -> None:
    shop = BranchInfo("b1", "UTC", capacity=50, customers_per_staff=10.0, min_staff=1)
    moves = []
    for week in range(6):  # Mondays 10:15, week k has k + 1 visitors
        day = MON + dt.timedelta(weeks=week)
        moves += [entered("b1", at(10, 15, k, day), at(10, 16, k, day)) for k in range(week + 1)]
    rows = run(moves, [shop], engine)
    mondays = [r for r in rows if r["window_start"].weekday() == 0 and r["window_start"].hour == 10]
    assert [r["visitors"] for r in mondays] == [1, 2, 3, 4, 5, 6]
    # week 1 has no history; then the mean of up to 4 previous Mondays.
    assert [r["baseline"] for r in mondays] == [None, 1.0, 1.5, 2.0, 2.5, 3.5]
    assert close(mondays[-1]["traffic_index"], 6 / 3.5)
    # Tuesday 10:00 of week 2: last week's Tuesday 10:00 exists (empty), so the
    # baseline is 0 and the index 0 / 0 is null, not inf.
    tuesday = next(r for r in rows if r["window_start"] == at(10, day=MON + dt.timedelta(days=8)))
    assert tuesday["baseline"] == 0.0 and tuesday["traffic_index"] is None
    shorter = run(moves, [shop], engine, baseline_weeks=2)
    last_monday = next(r for r in shorter if r["window_start"] == at(10, day=MON + dt.timedelta(weeks=5)))
    assert last_monday["baseline"] == 4.5  # mean(4, 5)


@engines
def test_baseline_follows_local_time_across_a_dst_change(engine: str) -> None:
    # London clocks go forward on Sunday 2026-03-29: 10:15 local is 10:15 UTC
    # before and 09:15 UTC after. The baseline matches the local slot.
    shop = BranchInfo("b1", "Europe/London", capacity=50, customers_per_staff=10.0, min_staff=1)
    london = shop.tzinfo
    moves = []
    for week, count in enumerate([2, 4, 6]):
        day = dt.date(2026, 3, 16) + dt.timedelta(weeks=week)  # Mondays 16, 23, 30 March
        local = dt.datetime(day.year, day.month, day.day, 10, 15, tzinfo=london).astimezone(UTC)
        moves += [entered("b1", local + dt.timedelta(seconds=k), local + dt.timedelta(minutes=5)) for k in range(count)]
    rows = run(moves, [shop], engine)
    last = next(r for r in rows if r["visitors"] == 6)
    assert last["window_start"] == dt.datetime(2026, 3, 30, 9, tzinfo=UTC)  # 10:00 BST
    assert last["baseline"] == 3.0  # mean(2, 4): the 10:00 GMT windows of the earlier Mondays
    assert close(last["traffic_index"], 2.0)


@engines
def test_dst_days_have_23_and_25_hourly_windows(engine: str) -> None:
    shop = BranchInfo("b1", "Europe/London", capacity=10, customers_per_staff=5.0, min_staff=1)
    london = shop.tzinfo
    spring = [
        entered("b1", dt.datetime(2026, 3, 29, 0, 10, tzinfo=london), dt.datetime(2026, 3, 29, 0, 20, tzinfo=london)),
        entered("b1", dt.datetime(2026, 3, 29, 23, 10, tzinfo=london), dt.datetime(2026, 3, 29, 23, 20, tzinfo=london)),
    ]
    rows = run(spring, [shop], engine)
    assert len(rows) == 23
    assert rows[1]["window_start"] == dt.datetime(2026, 3, 29, 1, tzinfo=UTC)  # 02:00 BST
    # In UTC before adding minutes: aware arithmetic in a zone keeps wall time.
    autumn_first = dt.datetime(2026, 10, 25, 0, 10, tzinfo=london).astimezone(UTC)
    # 01:30 GMT, the second time the clock shows 01:30 that night
    repeated = dt.datetime(2026, 10, 25, 1, 30, tzinfo=london, fold=1).astimezone(UTC)
    assert repeated == dt.datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    autumn = [
        entered("b1", autumn_first, autumn_first + dt.timedelta(minutes=5)),
        entered("b1", repeated, repeated + dt.timedelta(minutes=5)),
        entered(
            "b1", dt.datetime(2026, 10, 25, 23, 10, tzinfo=london), dt.datetime(2026, 10, 25, 23, 20, tzinfo=london)
        ),
    ]
    rows = run(autumn, [shop], engine)
    assert len(rows) == 25
    busy = [r for r in rows if r["visitors"]]
    assert [r["window_start"] for r in busy] == [
        dt.datetime(2026, 10, 24, 23, tzinfo=UTC),  # 00:00 BST
        dt.datetime(2026, 10, 25, 1, tzinfo=UTC),  # 01:00 GMT (the repeated hour)
        dt.datetime(2026, 10, 25, 23, tzinfo=UTC),  # 23:00 GMT
    ]


@engines
def test_half_hour_timezone_and_day_windows(engine: str) -> None:
    shop = BranchInfo("b1", "Asia/Kolkata", capacity=10, customers_per_staff=5.0, min_staff=1)
    moves = [entered("b1", at(18, 45), at(19, 10)), entered("b1", at(19, 20), at(19, 25))]
    hourly = run(moves, [shop], engine)
    assert [r["window_start"] for r in hourly] == [at(18, 30)]  # 00:00-01:00 IST
    check(hourly[0], visitors=2, peak_occupancy=1, avg_occupancy=30 / 60)
    daily = run(moves, [shop], engine, window=1440)
    assert [(r["window_start"], r["window_end"]) for r in daily] == [
        (at(18, 30), at(18, 30, day=MON + dt.timedelta(days=1)))
    ]
    check(daily[0], visitors=2, window_minutes=1440, avg_occupancy=30 / 1440)


@engines
def test_division_by_zero_gives_null(engine: str) -> None:
    odd = BranchInfo("b1", "UTC", capacity=0, customers_per_staff=1.0, min_staff=0)
    (row,) = run([entered("b1", at(9, 10), at(9, 20))], [odd], engine)
    check(
        row,
        visitors=1,
        congestion_level=None,
        utilization_ratio=None,
        bottleneck_score=None,
        required_staff=1,
        staffing_adequacy=0.0,
    )


@engines
def test_required_staff_is_not_raised_by_float_noise(engine: str) -> None:
    # 21 people at 1.4 customers per staff member need exactly 15 staff; in floating
    # point 21 / 1.4 is 15.000000000000002, whose ceiling would be 16.
    shop = BranchInfo("b1", "UTC", capacity=50, customers_per_staff=1.4, min_staff=0)
    (row,) = run([entered("b1", at(10), at(10, 30)) for _ in range(21)], [shop], engine)
    check(row, peak_occupancy=21, required_staff=15)


@engines
def test_range_reports_only_its_windows_with_full_history(engine: str) -> None:
    shop = BranchInfo("b1", "UTC", capacity=20, customers_per_staff=4.0, min_staff=1)
    moves = []
    for day in range(21):
        date = MON + dt.timedelta(days=day)
        for k in range(day % 5 + 1):
            moves.append(entered("b1", at(10, 5 * k, day=date), at(11, 5 * k, day=date)))
    full = run(moves, [shop], engine)
    start, end = at(9, day=MON + dt.timedelta(days=14)), at(12, day=MON + dt.timedelta(days=14))
    part = run(moves, [shop], engine, start=start, end=end)
    assert [r["window_start"] for r in part] == [at(h, day=MON + dt.timedelta(days=14)) for h in (9, 10, 11)]
    same = [r for r in full if start <= r["window_start"] < end]
    for a, b in zip(part, same, strict=True):
        for name in a:
            if name != "computed_at":
                assert close(a[name], b[name]), name
    assert part[1]["baseline"] is not None and part[1]["growth_momentum"] is not None


def test_no_movements_no_windows() -> None:
    shop = BranchInfo("b1", "UTC", capacity=20, customers_per_staff=4.0, min_staff=1)
    params = KpiParams(window_minutes=60)
    prepared = prepare_inputs(movements_table([]), [shop], params)
    assert prepared.inputs.windows.num_rows == 0


def test_engines_agree_on_several_branches_and_zones() -> None:
    branches = [
        BranchInfo("b1", "Europe/London", capacity=30, customers_per_staff=5.0, min_staff=1),
        BranchInfo("b2", "America/New_York", capacity=15, customers_per_staff=3.0, min_staff=2),
        BranchInfo("b3", "Australia/Lord_Howe", capacity=10, customers_per_staff=2.0, min_staff=0),
    ]
    moves: list[Move] = []
    base = dt.datetime(2026, 3, 25, tzinfo=UTC)
    for index in range(600):
        branch = branches[index % 3].branch_id
        t = base + dt.timedelta(minutes=37 * index % (14 * 24 * 60), seconds=index % 7)
        if index % 4 == 0:
            moves.append(passed(branch, t))
        else:
            moves.append(entered(branch, t, t + dt.timedelta(minutes=index % 90)))
    intervals = [
        (b.branch_id, Interval("staff", base + dt.timedelta(hours=h), base + dt.timedelta(hours=h + 7, minutes=30)))
        for b in branches
        for h in range(8, 14 * 24, 24)
    ]
    params = KpiParams(window_minutes=90)
    prepared = prepare_inputs(movements_table(moves), branches, params, intervals=interval_source(intervals))
    tables = [run_engine(prepared.inputs, params, engine) for engine in ENGINES]
    assert tables[0].num_rows > 3 * 14 * 15
    assert_tables_match(tables[0], tables[1])
    reference = reference_kpis(moves, prepared.inputs, branches, intervals, baseline_weeks=4, momentum_windows=6)
    rows = tables[0].to_pylist()
    for row, ref in zip(rows, reference, strict=True):
        for name, value in ref.items():
            assert close(row[name], value), (name, row[name], value, row["branch_id"], row["window_start"])


def test_missing_timestamps_are_a_data_error() -> None:
    shop = BranchInfo("b1", "UTC", capacity=20, customers_per_staff=4.0, min_staff=1)
    table = movements_table([entered("b1", at(9), at(10))])
    broken = table.set_column(
        table.schema.get_field_index("first_seen"),
        "first_seen",
        pa.array([None], table.schema.field("first_seen").type),
    )
    with pytest.raises(DataError, match="first_seen is empty"):
        prepare_inputs(broken, [shop], KpiParams(window_minutes=60))
