"""demo-data writes zones and queues consistent with its movements, so every zone chart has data."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from retail_intel.config.loader import load_config
from retail_intel.demo.generate import generate_demo
from retail_intel.kpis.zone_compute import compute_zone_kpis
from retail_intel.movements.store import read_movements
from retail_intel.movements.zone_store import QUEUE_LENGTHS_DIR, QUEUE_VISITS_DIR, ZONE_VISITS_DIR, read_zone_table
from tests.cli_helpers import run_cli

START = dt.date(2026, 3, 2)


def test_demo_zones_and_queues(tmp_path: Path) -> None:
    summary = generate_demo(tmp_path / "c", tmp_path / "d", branches=2, days=3, seed=3, start=START)
    config = load_config(summary.config_dir)
    assert [z.id for z in config.branches[0].cameras[0].zones] == ["new_arrivals", "aisle_1", "till_queue", "till"]
    min_dwell = {z.id: z.min_dwell for z in config.branches[0].cameras[0].zones}
    movements = {r["customer_id"]: r for r in read_movements(summary.data_dir).to_pylist()}
    visits = read_zone_table(summary.data_dir, ZONE_VISITS_DIR).to_pylist()
    queues = read_zone_table(summary.data_dir, QUEUE_VISITS_DIR).to_pylist()
    assert visits and queues and read_zone_table(summary.data_dir, QUEUE_LENGTHS_DIR).num_rows
    for row in visits + queues:
        person = movements[row["customer_id"]]
        assert person["action_type"] == "entered" and person["branch_id"] == row["branch_id"]
    for row in visits:
        person = movements[row["customer_id"]]
        assert person["enter_time"] <= row["enter_time"] <= row["exit_time"] <= person["exit_time"]
        assert row["counted"] == (row["dwell_seconds"] >= min_dwell[row["zone_id"]])
    for row in queues:
        if row["abandoned"]:
            assert row["service_enter"] is None and row["wait_seconds"] is None
        else:
            waited = (row["service_enter"] - row["queue_enter"]).total_seconds()
            assert abs(row["wait_seconds"] - waited) < 1e-6

    result = compute_zone_kpis(config, summary.data_dir, window_minutes=1440)
    zones_seen = {(r["branch_id"], r["zone_id"]) for r in result.zones.to_pylist()}
    assert zones_seen == {(b.id, z.id) for b in config.branches for z in b.cameras[0].zones}
    queue_rows = result.queues.to_pylist()
    assert queue_rows and all(r["mean_wait_seconds"] is not None for r in queue_rows if r["people_served"])
    assert all(0 <= (r["abandonment_rate"] or 0) <= 1 for r in queue_rows)


def test_a_day_without_visits_does_not_ask_for_zones_that_are_configured(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # zones --date on a day without visits (after the data, or a closed Sunday) told the user to
    # "give a camera zones: in branches.yaml" although the branch has four
    summary = generate_demo(tmp_path / "c", tmp_path / "d", branches=1, days=2, seed=3, start=START)
    common = ["--config", str(summary.config_dir), "--data-dir", str(summary.data_dir)]
    for args in (
        ["zones", "-b", "demo-001", "--date", "2026-03-20"],
        ["kpis", "--zones", "--from", "2026-03-20T00:00:00Z"],
    ):
        result = run_cli([*args, *common], capsys, monkeypatch)
        assert result.exit_code == 0, result.stderr
        assert "no zone visits in this range" in result.stderr
        assert "give a camera zones" not in result.stderr
        assert "the zones are configured" in result.stderr
