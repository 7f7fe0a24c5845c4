"""``demo-data --force``: an earlier demo run's files go, real files stay whatever their names."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from retail_intel.demo import generate_demo
from retail_intel.demo.cleanup import demo_source_key, is_demo_source_key
from retail_intel.movements.compacted import compacted_files, compacted_sources
from retail_intel.movements.compaction import compact_store
from retail_intel.movements.schema import MOVEMENT_SCHEMA
from retail_intel.movements.store import movement_files, read_movements, write_movements
from retail_intel.movements.zone_store import ZONE_TABLES, write_zone_tables
from retail_intel.movements.zones import ZoneTables
from retail_intel.pipeline.run import source_key
from retail_intel.storage import MOVEMENTS_DIR

START = dt.date(2026, 3, 2)
REAL_DAY = dt.date(2026, 2, 9)
FINGERPRINTS = {
    "b1": "45cddc9490be69345cbdab64ca583be65987e864ca408038e648db99e10516cf",
    "demo-001": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
}


def _real_movements(branch: str, n: int) -> pa.Table:
    at = dt.datetime.combine(REAL_DAY, dt.time(10), tzinfo=dt.UTC)
    rows: list[dict[str, Any]] = [
        {
            "customer_id": str(uuid.uuid5(uuid.NAMESPACE_OID, f"{branch}-{i}")),
            "branch_id": branch,
            "camera_id": "demo",
            "action_type": "entered",
            "enter_time": at + dt.timedelta(minutes=i),
            "exit_time": at + dt.timedelta(minutes=i + 1),
            "exit_observed": True,
            "dwell_seconds": 60.0,
            "first_seen": at + dt.timedelta(minutes=i),
            "last_seen": at + dt.timedelta(minutes=i + 1),
            "source_video": "door.mp4",
            "video_fingerprint": FINGERPRINTS[branch],
            "processed_at": at,
        }
        for i in range(n)
    ]
    return pa.Table.from_pylist(rows, schema=MOVEMENT_SCHEMA)


def _write_real(data_dir: Path, branch: str, n: int) -> str:
    """What `process` writes for a camera called "demo": movements and (empty) zone tables."""
    key = source_key("demo", FINGERPRINTS[branch])
    assert key.startswith("demo-")  # the name a prefix match mistook for a demo file
    empty = ZoneTables(*(schema.empty_table() for schema in ZONE_TABLES.values()))
    write_zone_tables(empty, data_dir, branch_id=branch, day=REAL_DAY, source_key=key)
    write_movements(_real_movements(branch, n), data_dir, branch_id=branch, day=REAL_DAY, source_key=key)
    return key


def _real_rows(data_dir: Path) -> int:
    return sum(1 for video in read_movements(data_dir).column("source_video").to_pylist() if video == "door.mp4")


def test_force_keeps_real_files_of_a_camera_called_demo(tmp_path: Path) -> None:
    config_dir, data_dir = tmp_path / "c", tmp_path / "d"
    first = generate_demo(config_dir, data_dir, branches=2, days=3, seed=1, start=START)
    # a real branch, and a real camera in a demo branch's folder
    keys = [_write_real(data_dir, branch, n) for branch, n in (("b1", 3), ("demo-001", 2))]
    real_zone_files = sorted(p for key in keys for p in data_dir.glob(f"*/*/*/{key}.parquet"))
    assert len(real_zone_files) == 2 * (1 + len(ZONE_TABLES))

    second = generate_demo(config_dir, data_dir, branches=1, days=2, seed=1, start=START, force=True)

    assert second.removed_files == first.files
    assert all(path.exists() for path in real_zone_files)
    assert _real_rows(data_dir) == 5
    assert len(movement_files(data_dir)) == second.files + 2


def test_force_cuts_only_demo_sources_out_of_compacted_months(tmp_path: Path) -> None:
    config_dir, data_dir = tmp_path / "c", tmp_path / "d"
    generate_demo(config_dir, data_dir, branches=1, days=3, seed=1, start=dt.date(2026, 2, 2))
    key = _write_real(data_dir, "demo-001", 4)
    compact_store(data_dir, before=dt.date(2026, 3, 1))
    [month] = compacted_files(data_dir / MOVEMENTS_DIR)
    assert key in {s.key for s in compacted_sources(month)}

    generate_demo(config_dir, data_dir, branches=1, days=2, seed=1, start=START, force=True)

    assert [s.key for s in compacted_sources(month)] == [key]
    assert _real_rows(data_dir) == 4


@pytest.mark.parametrize(
    ("key", "branch", "demo"),
    [
        (demo_source_key("demo-003", dt.date(2026, 3, 2)), "demo-003", True),
        ("demo-demo-003-2026-03-02", "demo-004", False),  # another branch's folder
        ("demo-45cddc9490be6934", "demo-003", False),  # `process`, camera "demo"
        ("demo-demo-003-2026-02-30", "demo-003", False),  # not a date
        ("demo-demo-003-2026-03-02-x", "demo-003", False),
        ("ingest-45cddc9490be6934-demo-003-2026-03-02", "demo-003", False),
    ],
)
def test_demo_source_keys(key: str, branch: str, demo: bool) -> None:
    assert is_demo_source_key(key, branch) is demo
