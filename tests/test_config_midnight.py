"""Spans that end at midnight (24:00): opening hours and shifts, the config, the calendar and both KPI engines.

Each case is written as a user writes it (YAML), with a visitor or a clerk placed by hand,
and both engines must give the same rows.
"""

from __future__ import annotations

import datetime as dt
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
        ("08:00-08:00", "opening_hours.mon: end must be after start (24:00 for midnight), got 08:00-08:00"),
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
