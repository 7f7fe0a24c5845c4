"""A small config directory and movement store for the KPI library and CLI tests."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from retail_intel.movements.schema import MOVEMENT_SCHEMA
from retail_intel.movements.store import write_movements

UTC = dt.UTC
MON = dt.datetime(2026, 3, 2, tzinfo=UTC)  # a Monday; London is on GMT (= UTC)

BRANCHES = """\
branches:
  - id: b1
    name: High Street
    capacity: 10
    timezone: Europe/London
    customers_per_staff: 2
    min_staff: 1
  - id: b2
    name: Station
    capacity: 20
    timezone: UTC
"""
EMPLOYEES = """\
employees:
  - id: e1
    branch: b1
    name: Ann
    shifts:
      weekly:
        - {day: mon, start: "09:00", end: "17:00"}
  - id: e2
    branch: b1
    name: Bob
    shifts:
      weekly:
        - {day: mon, start: "09:30", end: "10:00"}
"""
PROMOTIONS = """\
promotions:
  - {id: p1, name: Spring sale, branches: [b1], start: "2026-03-02T10:30:00+00:00", end: "2026-03-03T00:00:00+00:00"}
"""
EVENTS = """\
events:
  - {id: ev1, name: Market, branch: b1, start: "2026-03-02T11:00:00+00:00", end: "2026-03-02T12:00:00+00:00"}
"""


def movement(branch: str, action: str, enter: dt.datetime, minutes: float) -> dict[str, object]:
    exit_ = enter + dt.timedelta(minutes=minutes)
    return {
        "customer_id": str(uuid.uuid4()),
        "branch_id": branch,
        "camera_id": "cam",
        "action_type": action,
        "enter_time": enter,
        "exit_time": exit_,
        "exit_observed": True,
        "dwell_seconds": minutes * 60,
        "first_seen": enter,
        "last_seen": exit_,
        "track_id": 1,
        "n_frames": 10,
        "mean_confidence": 0.9,
        "source_video": "v.mp4",
        "video_fingerprint": "f",
        "model": None,
        "processed_at": MON,
    }


def write_store(data_dir: Path, rows: list[dict[str, object]], key: str) -> None:
    table = pa.Table.from_pylist(rows, schema=MOVEMENT_SCHEMA)
    for branch in sorted({str(r["branch_id"]) for r in rows}):
        part = table.filter(pc.equal(table["branch_id"], branch))
        write_movements(part, data_dir, branch_id=branch, day=MON.date(), source_key=f"{key}_{branch}")


def make_config_dir(tmp_path: Path) -> Path:
    """Two branches (London with two staff, a promotion and an event; UTC without)."""
    directory = tmp_path / "config"
    directory.mkdir()
    (directory / "branches.yaml").write_text(BRANCHES)
    (directory / "employees.yaml").write_text(EMPLOYEES)
    (directory / "promotions.yaml").write_text(PROMOTIONS)
    (directory / "events.yaml").write_text(EVENTS)
    return directory


def make_data_dir(tmp_path: Path) -> Path:
    """A movement store with b1 09:00-11:xx, b2 14:xx and unknown branch zz, Monday 2 March 2026."""
    directory = tmp_path / "data"
    hour = dt.timedelta(hours=1)
    rows = [
        movement("b1", "entered", MON + 9 * hour + dt.timedelta(minutes=10), 30),
        movement("b1", "entered", MON + 9 * hour + dt.timedelta(minutes=20), 20),
        movement("b1", "passed", MON + 9 * hour + dt.timedelta(minutes=50), 0.05),
        movement("b1", "entered", MON + 11 * hour + dt.timedelta(minutes=5), 10),
        movement("b2", "entered", MON + 14 * hour, 15),
        movement("zz", "entered", MON + 14 * hour, 15),  # a branch the config does not know
    ]
    write_store(directory, rows, "first")
    return directory
