"""A hand-built config and movement store for the ETL tests.

b1 (London, GMT = UTC in early March) and b2 (Berlin, UTC+1) are each other's
neighbors; b3 is inactive. Every count below is small enough to check by
hand; the tests spell out the arithmetic next to each expected value.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa

from retail_intel.movements.schema import MOVEMENT_SCHEMA
from retail_intel.movements.store import write_movements
from tests.kpi_fixtures import movement

UTC = dt.UTC
HOUR = dt.timedelta(hours=1)
FRI = dt.datetime(2026, 3, 6, tzinfo=UTC)  # Friday 6 March 2026, 00:00 UTC
SAT = FRI + 24 * HOUR

BRANCHES = """\
branches:
  - id: b1
    name: High Street
    capacity: 10
    timezone: Europe/London
    neighbors: [b2]
    opening_hours:
      mon: "09:00-17:30"
      tue: "09:00-17:30"
      wed: "09:00-17:30"
      thu: "09:00-17:30"
      fri: "09:00-17:30"
      sat: "10:00-16:00"
  - id: b2
    name: Station
    capacity: 20
    timezone: Europe/Berlin
    neighbors: [b1]
    opening_hours:
      fri: "06:00-22:00"
      sat: "08:00-20:00"
  - id: b3
    name: Closed for works
    capacity: 5
    state: inactive
"""
PROMOTIONS = """\
promotions:
  - {id: p1, name: Friday offer, branches: [b1], start: "2026-03-06T10:30:00+00:00", end: "2026-03-06T12:00:00+00:00"}
"""
EVENTS = """\
events:
  - {id: ev1, name: Market, branch: b2, start: "2026-03-07T09:00:00+01:00", end: "2026-03-07T10:00:00+01:00"}
"""
HOLIDAYS = """\
holidays:
  - {date: 2026-03-07, name: Town fair, branches: [b1]}
  - {date: 2026-12-25, name: Christmas Day}
"""

# (branch, action, minutes after FRI 00:00 UTC); entered people stay 5 minutes.
MOVES: tuple[tuple[str, str, float], ...] = (
    ("b1", "entered", -7 * 24 * 60 + 10 * 60 + 5),  # Fri 27 Feb 10:05: the 168 h lag of Fri 10:00
    ("b1", "entered", -24 * 60 + 10 * 60 + 15),  # Thu 5 Mar 10:15 } the 24 h lag of Fri 10:00
    ("b1", "entered", -24 * 60 + 10 * 60 + 45),  # Thu 5 Mar 10:45 }
    ("b1", "entered", 9 * 60 + 30),  # Fri 09:30
    ("b1", "passed", 9 * 60 + 40),  # Fri 09:40
    ("b1", "entered", 10 * 60 + 5),  # Fri 10:05 }
    ("b1", "entered", 10 * 60 + 20),  # Fri 10:20 } 3 visitors at Fri 10:00
    ("b1", "entered", 10 * 60 + 50),  # Fri 10:50 }
    ("b1", "entered", 12 * 60 + 10),  # Fri 12:10 } 2 visitors at Fri 12:00
    ("b1", "entered", 12 * 60 + 20),  # Fri 12:20 }
    ("b1", "entered", 24 * 60 + 10 * 60 + 30),  # Sat 10:30 (the b1 holiday)
    ("b2", "entered", 9 * 60 + 20),  # Fri 09:20 UTC = 10:20 Berlin, x4
    ("b2", "entered", 9 * 60 + 21),
    ("b2", "entered", 9 * 60 + 22),
    ("b2", "entered", 9 * 60 + 23),
    ("b2", "entered", 10 * 60 + 10),  # Fri 10:10 UTC, x2
    ("b2", "entered", 10 * 60 + 11),
    ("b2", "entered", 24 * 60 + 8 * 60 + 30),  # Sat 08:30 UTC = 09:30 Berlin, during the market
    ("b3", "entered", 10 * 60),  # the inactive branch still has data
)


def write_config(directory: Path, *, holidays: str | None = HOLIDAYS) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "branches.yaml").write_text(BRANCHES)
    (directory / "promotions.yaml").write_text(PROMOTIONS)
    (directory / "events.yaml").write_text(EVENTS)
    if holidays is not None:
        (directory / "holidays.yaml").write_text(holidays)
    return directory


def write_moves(data_dir: Path, moves: tuple[tuple[str, str, float], ...], key: str) -> None:
    """One movement file per branch and day, named after ``key``."""
    rows_by_file: dict[tuple[str, dt.date], list[dict[str, object]]] = {}
    for branch, action, minutes in moves:
        at = FRI + dt.timedelta(minutes=minutes)
        row = movement(branch, action, at, 5 if action == "entered" else 0.05)
        rows_by_file.setdefault((branch, at.date()), []).append(row)
    for (branch, day), rows in sorted(rows_by_file.items()):
        table = pa.Table.from_pylist(rows, schema=MOVEMENT_SCHEMA)
        write_movements(table, data_dir, branch_id=branch, day=day, source_key=f"{key}_{branch}_{day}")


def make_dirs(tmp_path: Path) -> tuple[Path, Path]:
    """(config dir, data dir) holding :data:`MOVES`."""
    config = write_config(tmp_path / "config")
    data = tmp_path / "data"
    write_moves(data, MOVES, "base")
    return config, data
