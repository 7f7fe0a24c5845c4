"""``demo-data --force``: an earlier demo run's files go, real files stay whatever their names."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from retail_intel.config.loader import load_config
from retail_intel.demo import generate_demo
from retail_intel.demo.cleanup import demo_source_key, is_demo_source_key
from retail_intel.etl import run_etl
from retail_intel.etl.store import feature_path, read_features
from retail_intel.kpis.store import kpi_path, read_kpis
from retail_intel.movements.compacted import compacted_files, compacted_sources
from retail_intel.movements.compaction import compact_store
from retail_intel.movements.store import movement_files, read_movements, write_movements
from retail_intel.movements.zone_store import ZONE_TABLES, write_zone_tables
from retail_intel.movements.zones import ZoneTables
from retail_intel.pipeline.video_tracks import source_key
from retail_intel.storage import MOVEMENTS_DIR
from tests.store_fixtures import movement_table

START = dt.date(2026, 3, 2)
REAL_DAY = dt.date(2026, 2, 9)
FINGERPRINTS = {
    "b1": "45cddc9490be69345cbdab64ca583be65987e864ca408038e648db99e10516cf",
    "demo-001": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
}


def _write_real(data_dir: Path, branch: str, n: int) -> str:
    """What `process` writes for a camera called "demo": movements and (empty) zone tables."""
    key = source_key("demo", FINGERPRINTS[branch])
    assert key.startswith("demo-")  # the name a prefix match mistook for a demo file
    empty = ZoneTables(*(schema.empty_table() for schema in ZONE_TABLES.values()))
    write_zone_tables(empty, data_dir, branch_id=branch, day=REAL_DAY, source_key=key)
    movements = movement_table(
        branch,
        REAL_DAY,
        n,
        id_prefix=branch,
        source_video="door.mp4",
        fingerprint=FINGERPRINTS[branch],
        camera_id="demo",
    )
    write_movements(movements, data_dir, branch_id=branch, day=REAL_DAY, source_key=key)
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


def test_force_removes_the_demo_branches_kpis_and_features(tmp_path: Path) -> None:
    config_dir, data_dir = tmp_path / "c", tmp_path / "d"
    generate_demo(config_dir, data_dir, branches=3, days=3, seed=1, start=dt.date(2026, 2, 2))
    run_etl(load_config(config_dir), data_dir)  # hourly KPIs and features of demo-001 .. demo-003
    # a real branch's stored files, which must stay
    real = [kpi_path(data_dir, 60, "b1"), feature_path(data_dir, "b1")]
    for path in real:  # demo-001's rows, as branch b1
        rows = pq.read_table(path.with_name("demo-001.parquet"))
        column = rows.schema.get_field_index("branch_id")
        pq.write_table(rows.set_column(column, rows.field(column), pa.repeat(pa.scalar("b1"), rows.num_rows)), path)

    second = generate_demo(config_dir, data_dir, branches=1, days=2, seed=1, start=START, force=True)
    run_etl(load_config(config_dir), data_dir)  # "re-run the KPIs afterwards"

    assert second.removed_kpi_files == 6
    assert all(path.exists() for path in real)
    new_days = {START, START + dt.timedelta(days=1)}
    kpis = read_kpis(data_dir)
    features = read_features(data_dir)
    for table in (kpis, features):
        demo = table.filter(pc.equal(table["branch_id"], "demo-001"))
        assert set(table["branch_id"].to_pylist()) == {"demo-001", "b1"}
        days = {t.date() for t in demo["window_start"].to_pylist()}
        assert days and days <= new_days | {START - dt.timedelta(days=1)}  # a UTC window may start the day before
    assert {p.stem for p in kpi_path(data_dir, 60, "x").parent.iterdir()} == {"demo-001", "b1"}


def _interrupt_at_write(monkeypatch: pytest.MonkeyPatch, at: int) -> None:
    """Ctrl-C while the ``at``-th branch-day is written (the writes before it are on disk)."""
    from retail_intel.demo import generate

    real = generate._write_day
    calls = {"n": 0}

    def write_day(*args: Any) -> Path:
        calls["n"] += 1
        if calls["n"] == at:
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(generate, "_write_day", write_day)


def test_ctrl_c_leaves_no_half_demo_and_exits_130(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # an interrupted run left the YAML and ~1500 Parquet files behind, and the rerun then refused the
    # directories as "not empty"
    from tests.cli_helpers import run_cli

    config, data = tmp_path / "c", tmp_path / "d"
    args = ["demo-data", "--branches", "2", "--days", "10", "--start", "2026-01-05", "--config", str(config)]
    _interrupt_at_write(monkeypatch, at=12)
    result = run_cli([*args, "--data-dir", str(data)], capsys, monkeypatch)
    assert result.exit_code == 130
    assert result.stderr.strip().splitlines()[-1].startswith("interrupted; the demo files written so far were removed")
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
    monkeypatch.undo()
    assert run_cli([*args, "--data-dir", str(data)], capsys, monkeypatch).exit_code == 0


def test_ctrl_c_with_force_keeps_the_real_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config, data = tmp_path / "c", tmp_path / "d"
    real = data / "movements" / "b1" / "2026-01-06" / "cam-1234.parquet"
    real.parent.mkdir(parents=True)
    real.write_bytes(b"a real file")
    _interrupt_at_write(monkeypatch, at=12)
    with pytest.raises(KeyboardInterrupt):
        generate_demo(config, data, branches=2, days=10, start=dt.date(2026, 1, 5), force=True)
    assert [p for p in data.rglob("*.parquet")] == [real]
