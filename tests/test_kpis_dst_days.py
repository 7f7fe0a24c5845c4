"""Daily KPI windows are local days: the day the clocks go back is one 25-hour window, not 24 h plus a 1-hour "day"."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from retail_intel.kpis.compute import compute_kpis_for
from retail_intel.kpis.inputs import BranchInfo
from retail_intel.kpis.windows import day_windows, from_us
from tests.kpi_helpers import entered, movements_table, passed

LONDON = ZoneInfo("Europe/London")
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
