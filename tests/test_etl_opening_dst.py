"""Opening hours across clock changes: etl's is_open and both KPI engines read them by one rule.

The rule (docs/config.md): a time in the repeated hour of a fall-back change is its
first occurrence, a time the clocks skip takes the offset before the change. So a
branch closing at 02:30 on the night the clocks go back is closed in the second pass
of 02:00-03:00, and one closing at 02:30 on the night they go forward is open until
03:30 on the clock. The KPIs show their reading in the reconciled occupancy, which is
0 in a closed window; the features in ``is_open``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pytest

from retail_intel.config import load_config
from retail_intel.etl import read_features, run_etl
from retail_intel.kpis import read_kpis
from retail_intel.kpis.compute import ENGINES
from retail_intel.movements.schema import MOVEMENT_SCHEMA
from retail_intel.movements.store import write_movements
from tests.kpi_fixtures import movement


def _utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


# (zone, Sunday's opening hours (or "sat HH:MM-HH:MM"), one visitor inside from .. to (UTC),
# {hourly window start (UTC): open}).
CASES = {
    "berlin-closes-in-the-repeated-hour": (
        "Europe/Berlin",
        "00:00-02:30",  # 25 Oct 2026: 02:30 is the first one, 00:30 UTC
        ("2026-10-24T23:10", "2026-10-25T01:50"),
        {
            "2026-10-24T23:00": True,  # 01:00 CEST
            "2026-10-25T00:00": True,  # 02:00 CEST, first pass: open until 02:30
            "2026-10-25T01:00": False,  # 02:00 CET, second pass: closed since the first 02:30
        },
    ),
    "berlin-opens-in-the-repeated-hour": (
        "Europe/Berlin",
        "02:30-05:00",  # opens at the first 02:30, 00:30 UTC, and stays open through the second pass
        ("2026-10-24T23:10", "2026-10-25T02:50"),
        {
            "2026-10-24T23:00": False,  # 01:00 CEST
            "2026-10-25T00:00": True,  # 02:00 CEST
            "2026-10-25T01:00": True,  # 02:00 CET
            "2026-10-25T02:00": True,  # 03:00 CET
        },
    ),
    "new-york-closes-in-the-repeated-hour": (
        "America/New_York",
        "00:00-01:30",  # 1 Nov 2026: the first 01:30 is 05:30 UTC
        ("2026-11-01T05:10", "2026-11-01T06:50"),
        {
            "2026-11-01T05:00": True,  # 01:00 EDT
            "2026-11-01T06:00": False,  # 01:00 EST, second pass
        },
    ),
    "berlin-closes-in-the-skipped-hour": (
        "Europe/Berlin",
        "00:00-02:30",  # 29 Mar 2026: 02:30 does not exist; with CET it is 01:30 UTC, 03:30 CEST
        ("2026-03-29T00:10", "2026-03-29T01:50"),
        {
            "2026-03-29T00:00": True,  # 01:00 CET
            "2026-03-29T01:00": True,  # 03:00 CEST: open until 03:30
        },
    ),
    "lord-howe-closes-in-the-repeated-half-hour": (
        "Australia/Lord_Howe",
        "00:00-01:45",  # 5 Apr 2026, 02:00 +11 -> 01:30 +10:30: the first 01:45 is 14:45 UTC
        ("2026-04-04T14:10", "2026-04-04T15:20"),
        {
            "2026-04-04T14:00": True,  # 01:00 +11
            "2026-04-04T15:00": False,  # 01:30 +10:30, the second pass of 01:30-02:00
        },
    ),
    "lord-howe-closes-in-the-skipped-half-hour": (
        "Australia/Lord_Howe",
        "00:00-02:15",  # 4 Oct 2026, 02:00 +10:30 -> 02:30 +11: 02:15 at +10:30 is 15:45 UTC, 02:45 +11
        ("2026-10-03T14:40", "2026-10-03T16:00"),
        {
            "2026-10-03T14:30": True,  # 01:00 +10:30
            "2026-10-03T15:30": True,  # 02:30 +11: open until 02:45
        },
    ),
    "lord-howe-day-hours-on-half-hour-windows": (
        "Australia/Lord_Howe",
        "09:00-17:30",  # after the change the day's windows start at :30 local
        ("2026-04-04T22:10", "2026-04-05T07:10"),
        {
            "2026-04-04T22:00": True,  # 08:30-09:30 +10:30
            "2026-04-04T23:00": True,  # 09:30-10:30
            **{f"2026-04-05T{h:02d}:00": True for h in range(7)},  # 10:30 ... 16:30-17:30
            "2026-04-05T07:00": False,  # 17:30-18:30: closed
        },
    ),
    # Saturday's night runs into Sunday, the clock-change day, and is laid out on Sunday's clock.
    "berlin-saturday-night-into-the-fall-back": (
        "Europe/Berlin",
        "sat 22:00-02:30",  # closes at Sunday's first 02:30, 00:30 UTC
        ("2026-10-24T22:10", "2026-10-25T01:50"),
        {
            "2026-10-24T22:00": True,  # 00:00 CEST Sunday
            "2026-10-24T23:00": True,  # 01:00 CEST
            "2026-10-25T00:00": True,  # 02:00 CEST, first pass
            "2026-10-25T01:00": False,  # 02:00 CET, second pass
        },
    ),
    "berlin-saturday-night-into-the-spring-forward": (
        "Europe/Berlin",
        "sat 20:00-02:30",  # 29 Mar 2026: 02:30 is skipped, read as 01:30 UTC (03:30 CEST)
        ("2026-03-28T23:10", "2026-03-29T01:50"),
        {
            "2026-03-28T23:00": True,  # 00:00 CET Sunday
            "2026-03-29T00:00": True,  # 01:00 CET
            "2026-03-29T01:00": True,  # 03:00 CEST: open until 03:30
        },
    ),
    "new-york-saturday-night-into-the-fall-back": (
        "America/New_York",
        "sat 20:00-01:30",  # 1 Nov 2026: the first 01:30 is 05:30 UTC
        ("2026-11-01T04:10", "2026-11-01T06:50"),
        {
            "2026-11-01T04:00": True,  # 00:00 EDT Sunday
            "2026-11-01T05:00": True,  # 01:00 EDT
            "2026-11-01T06:00": False,  # 01:00 EST, second pass
        },
    ),
    "no-opening-hours-is-open-all-day": (
        "Europe/Berlin",
        None,  # nothing says when it closes: the KPIs count it open, and so does etl (it said closed)
        ("2026-10-24T23:10", "2026-10-25T01:50"),
        {"2026-10-24T23:00": True, "2026-10-25T00:00": True, "2026-10-25T01:00": True},
    ),
}


def _dirs(tmp_path: Path, zone: str, hours: str | None, inside: tuple[str, str]) -> tuple[Path, Path]:
    config = tmp_path / "config"
    config.mkdir()
    day, _, span = hours.rpartition(" ") if hours else ("", "", "")
    opening = f", opening_hours: {{{day or 'sun'}: '{span}'}}" if hours else ""
    (config / "branches.yaml").write_text(
        f"branches:\n  - {{id: b1, name: Night shop, capacity: 10, timezone: {zone}{opening}}}\n"
    )
    enter, leave = _utc(inside[0]), _utc(inside[1])
    row = movement("b1", "entered", enter, (leave - enter) / dt.timedelta(minutes=1))
    data = tmp_path / "data"
    table = pa.Table.from_pylist([row], schema=MOVEMENT_SCHEMA)
    write_movements(table, data, branch_id="b1", day=enter.date(), source_key="night")
    return config, data


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("case", CASES)
def test_is_open_and_the_kpis_read_opening_hours_across_a_clock_change_alike(
    case: str, engine: str, tmp_path: Path
) -> None:
    zone, hours, inside, expected = CASES[case]
    config, data = _dirs(tmp_path, zone, hours, inside)
    run_etl(load_config(config), data, engine=engine)
    want = {_utc(t): is_open for t, is_open in expected.items()}
    kpis = {r["window_start"]: r for r in read_kpis(data, "b1", 60).to_pylist()}
    features = {r["window_start"]: r for r in read_features(data, "b1").to_pylist()}
    assert sorted(kpis) == sorted(features) == sorted(want)
    # The visitor is inside all along, so the reconciled level is 1 wherever the branch is open.
    assert {t: r["reconciled_peak_occupancy"] > 0 for t, r in kpis.items()} == want
    assert {t: r["is_open"] for t, r in features.items()} == want
