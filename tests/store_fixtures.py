"""A small movement store for the compaction and overlap tests, and what its readers make of it."""

from __future__ import annotations

import datetime as dt
import os
import uuid
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from retail_intel.config.loader import load_config
from retail_intel.kpis.with_zones import compute_kpis_with_zones
from retail_intel.movements import store
from retail_intel.movements.schema import MOVEMENT_SCHEMA
from retail_intel.movements.store import read_movements, write_movements
from retail_intel.storage import MOVEMENTS_DIR, atomic_write_table, parquet_files
from tests.test_serve_support import Api

JANUARY = (dt.date(2026, 1, 5), dt.date(2026, 1, 6), dt.date(2026, 1, 7))


def movement_table(
    branch: str,
    day: dt.date,
    n: int,
    *,
    id_prefix: str,
    source_video: str,
    fingerprint: str,
    camera_id: str | None = None,
) -> pa.Table:
    """``n`` people entering one a minute from 10:00 UTC on ``day``, each staying a minute."""
    at = dt.datetime.combine(day, dt.time(10), tzinfo=dt.UTC)
    rows: list[dict[str, Any]] = [
        {
            "customer_id": str(uuid.uuid5(uuid.NAMESPACE_OID, f"{id_prefix}-{i}")),
            "branch_id": branch,
            "camera_id": camera_id,
            "action_type": "entered",
            "enter_time": at + dt.timedelta(minutes=i),
            "exit_time": at + dt.timedelta(minutes=i + 1),
            "exit_observed": True,
            "dwell_seconds": 60.0,
            "first_seen": at + dt.timedelta(minutes=i),
            "last_seen": at + dt.timedelta(minutes=i + 1),
            "source_video": source_video,
            "video_fingerprint": fingerprint,
            "processed_at": at,
        }
        for i in range(n)
    ]
    return pa.Table.from_pylist(rows, schema=MOVEMENT_SCHEMA)


def video_movements(branch: str, day: dt.date, n: int, tag: str) -> pa.Table:
    """A video's rows: ``tag`` is its name and fingerprint, and seeds its customer ids."""
    return movement_table(branch, day, n, id_prefix=tag, source_video=tag, fingerprint=tag)


def write_three_videos(data_dir: Path) -> None:
    """Videos v0, v1, v2 of branch b1 on three January days: 2, 3 and 4 people."""
    for i, day in enumerate(JANUARY):
        write_movements(
            video_movements("b1", day, 2 + i, f"v{i}"), data_dir, branch_id="b1", day=day, source_key=f"v{i}"
        )


def stored_videos(data_dir: Path) -> list[str]:
    """The stored rows' videos, sorted: one entry per row."""
    return sorted(read_movements(data_dir).column("source_video").to_pylist())


def branch_config(tmp_path: Path, branches: tuple[str, ...] = ("b1",)) -> Path:
    config_dir = tmp_path / "config"
    config_dir.mkdir(exist_ok=True)
    listed = "".join(f"  - {{id: {b}, name: Branch {b}, capacity: 40}}\n" for b in branches)
    (config_dir / "branches.yaml").write_text("branches:\n" + listed)
    return config_dir


def write_v1_again_killed_before_its_old_file_goes(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """v1 of :func:`write_three_videos` re-processed with a corrected start (January 20, 5 people,
    "v1-new"), the writer killed after its new file landed and before its old one went: the old
    file's path (written by an earlier run)."""
    old = data_dir / MOVEMENTS_DIR / "b1" / JANUARY[1].isoformat() / "v1.parquet"
    os.utime(old, ns=(1_700_000_000 * 10**9, 1_700_000_000 * 10**9))
    day = dt.date(2026, 1, 20)
    write = atomic_write_table

    def write_then_crash(table: pa.Table, path: Path) -> Path:
        write(table, path)
        raise KeyboardInterrupt

    with monkeypatch.context() as patched:
        patched.setattr(store, "atomic_write_table", write_then_crash)
        with pytest.raises(KeyboardInterrupt):
            write_movements(video_movements("b1", day, 5, "v1-new"), data_dir, branch_id="b1", day=day, source_key="v1")
    return old


def sorted_rows(table: pa.Table) -> pa.Table:
    """Rows in an order that does not depend on the files read: by every column but the floats."""
    keys = [(n, "ascending") for n in table.column_names if not pa.types.is_floating(table.schema.field(n).type)]
    return table.sort_by(keys)


def kpi_tables(config_dir: Path, data_dir: Path, engine: str) -> tuple[pa.Table, pa.Table, pa.Table]:
    """The hourly KPIs, zone KPIs and queue KPIs of one engine, rows sorted, nothing written."""
    kpis, zones = compute_kpis_with_zones(
        load_config(config_dir), data_dir, window_minutes=60, engine=engine, write=False
    )
    return sorted_rows(kpis.table), sorted_rows(zones.zones), sorted_rows(zones.queues)


def movement_pages(api: Api) -> list[dict[str, Any]]:
    """Every row ``/movements`` serves, page after page."""
    rows: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = api.ok("/movements", params={"limit": 1000, **({"cursor": cursor} if cursor else {})})
        rows += page["rows"]
        cursor = page["next_cursor"]
        if cursor is None:
            return rows


def copy_store(source: Path, target: Path, *, only: str | None = None) -> Path:
    """A fresh copy of the Parquet files under ``source`` (only the folder ``only`` of it, when given)
    and its README, in ``target``: a test may then copy, drop or rewrite files without touching a
    store the module's other tests share."""
    for path in parquet_files(source / only if only is not None else source):
        copied = target / path.relative_to(source)
        copied.parent.mkdir(parents=True, exist_ok=True)
        copied.write_bytes(path.read_bytes())
    if only is None:
        (target / "README.txt").write_bytes((source / "README.txt").read_bytes())
    return target
