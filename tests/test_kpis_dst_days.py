"""Daily KPI windows are local days: the day the clocks go back is one 25-hour window, not 24 h plus a 1-hour "day"."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from retail_intel.kpis.compute import ENGINES, compute_kpis_for, run_engine
from retail_intel.kpis.inputs import BranchInfo, KpiParams, prepare_inputs
from retail_intel.kpis.windows import day_windows, from_us
from tests.kpi_helpers import entered, movements_table, passed

LONDON = ZoneInfo("Europe/London")
# Cuba moves its clocks at midnight: 8 March 2026 has no 00:00-01:00, its first instant is 01:00.
HAVANA = ZoneInfo("America/Havana")
HAVANA_SPRING = dt.date(2026, 3, 8)
HOUR_US = 3_600_000_000


@pytest.mark.parametrize(
    ("day", "hours"),
    [(dt.date(2026, 10, 25), 25), (dt.date(2026, 3, 29), 23), (dt.date(2026, 6, 1), 24)],
)
def test_a_daily_window_is_the_whole_local_day(day: dt.date, hours: int) -> None:
    windows = day_windows(day, LONDON, 1440)
    assert len(windows.starts) == 1
    assert int(windows.ends[0] - windows.starts[0]) == hours * HOUR_US
    assert from_us(int(windows.starts[0])).astimezone(LONDON).time() == dt.time(0)
    assert from_us(int(windows.ends[0])).astimezone(LONDON) == dt.datetime.combine(
        day + dt.timedelta(days=1), dt.time(0), tzinfo=LONDON
    )
    assert list(windows.slot_minutes) == [0] and list(windows.slot_folds) == [0]


@pytest.mark.parametrize("engine", ["duckdb", "polars"])
def test_daily_kpis_over_the_fall_back_weekend_have_one_row_per_local_date(engine: str, tmp_path: Path) -> None:
    branch = BranchInfo("b1", "Europe/London", capacity=40, customers_per_staff=10.0, min_staff=1)

    def at(day: int, hour: int) -> dt.datetime:
        return dt.datetime(2026, 10, day, hour, tzinfo=dt.UTC)

    # Someone every day, including the repeated 01:00-02:00 hour and the last hour of the long day.
    moves = [entered("b1", at(d, 10), at(d, 11)) for d in (24, 25, 26)]
    moves += [passed("b1", at(25, 0) + dt.timedelta(minutes=30)), passed("b1", at(25, 23) + dt.timedelta(minutes=30))]
    result = compute_kpis_for(
        [branch],
        tmp_path,
        window_minutes=1440,
        engine=engine,
        write=False,
        movements=movements_table(moves),
    )
    rows = result.table.sort_by("window_start").to_pylist()
    local_days = [row["window_start"].astimezone(LONDON).date() for row in rows]
    assert local_days == [dt.date(2026, 10, 24), dt.date(2026, 10, 25), dt.date(2026, 10, 26)]
    lengths = [(row["window_end"] - row["window_start"]) / dt.timedelta(hours=1) for row in rows]
    assert lengths == [24, 25, 24]
    # 23:30 UTC on the 25th is still the 25th in London (GMT again): counted on the long day.
    assert [row["visitors"] for row in rows] == [1, 1, 1]
    assert [row["passed"] for row in rows] == [0, 2, 0]


@pytest.mark.parametrize(
    ("minutes", "first_wall", "slots"),
    [(1440, "01:00", [0]), (240, "01:00", [0, 300, 540, 780, 1020, 1260]), (60, "01:00", [60, 120, 180])],
)
def test_a_day_whose_midnight_is_skipped_starts_at_its_first_instant_in_the_regular_first_slot(
    minutes: int, first_wall: str, slots: list[int]
) -> None:
    windows = day_windows(HAVANA_SPRING, HAVANA, minutes)
    assert from_us(int(windows.starts[0])).astimezone(HAVANA).strftime("%H:%M") == first_wall
    # The daily window is the whole 23-hour day and keeps the midnight slot; a 4-hour window
    # from 01:00 stands for 00:00-04:00 (the later ones follow the wall clock, as on any
    # DST day); an hourly window from 01:00 is the 01:00 slot.
    assert list(windows.slot_minutes[: len(slots)]) == slots
    assert int(windows.ends[-1] - windows.starts[0]) == 23 * HOUR_US


@pytest.mark.parametrize("engine", ENGINES)
def test_the_daily_baseline_includes_a_day_whose_midnight_is_skipped(engine: str) -> None:
    branch = BranchInfo("b1", "America/Havana", capacity=40, customers_per_staff=10.0, min_staff=0)
    # A different number of visitors at local noon each day, 1 to 15 March 2026.
    moves = []
    for day in range(1, 16):
        noon = dt.datetime(2026, 3, day, 12, tzinfo=HAVANA)
        moves += [entered("b1", noon, noon + dt.timedelta(minutes=10)) for _ in range(day)]
    params = KpiParams(window_minutes=1440, baseline_weeks=1)
    prepared = prepare_inputs(movements_table(moves), [branch], params)
    rows = run_engine(prepared.inputs, params, engine).to_pylist()
    by_day = {row["window_start"].astimezone(HAVANA).date(): row for row in rows}
    assert len(by_day) == 15
    spring, week_later = by_day[HAVANA_SPRING], by_day[dt.date(2026, 3, 15)]
    assert spring["window_start"].astimezone(HAVANA).time() == dt.time(1)
    assert spring["visitors"] == 8
    # The day itself is compared with 1 March (1 visitor), and 15 March with the 8th (8 visitors).
    assert spring["baseline"] == 1.0 and spring["traffic_index"] == 8.0
    assert week_later["baseline"] == 8.0
