"""`zones --rejudge` over hand-written stored paths: queue length only where the span watched is known."""

from __future__ import annotations

import datetime as dt
import json
import os
import textwrap
import threading
from pathlib import Path

import pyarrow as pa

from retail_intel.config.loader import load_config
from retail_intel.locking import BATCH_LOCK, data_dir_lock
from retail_intel.movements.schema import TRAJECTORY_SCHEMA
from retail_intel.movements.store import write_trajectories
from retail_intel.movements.zone_store import QUEUE_LENGTHS_DIR, QUEUE_VISITS_DIR, read_zone_table
from retail_intel.pipeline.rejudge_zones import RejudgeSummary, rejudge_zones

T0 = dt.datetime(2026, 2, 9, 10, 0, tzinfo=dt.UTC)

CONFIG = """
branches:
  - id: b1
    name: Shop
    capacity: 10
    cameras:
      - id: c1
        roi: [0, 0, 600, 400]
        zones:
          - {id: queue, kind: queue, service: till, min_dwell: 3, polygon: [[200, 0], [300, 0], [300, 100], [200, 100]]}
          - {id: till, kind: service, polygon: [[400, 0], [500, 0], [500, 100], [400, 100]]}
"""


def _path(customer: str, fingerprint: str, seconds: tuple[int, int], queued: tuple[int, int]) -> pa.Table:
    """One person sampled every 0.5 s, standing in the queue zone during ``queued`` and away from it otherwise."""
    rows = []
    for k in range(seconds[0] * 2, seconds[1] * 2 + 1):
        t = k / 2
        in_queue = queued[0] <= t <= queued[1]
        rows.append(
            {
                "customer_id": customer,
                "branch_id": "b1",
                "camera_id": "c1",
                "action_type": "entered",
                "time": T0 + dt.timedelta(seconds=t),
                "frame": k * 5,
                "x": 250.0 if in_queue else 550.0,
                "y": 50.0 if in_queue else 300.0,
                "inside_roi": True,
                "video_fingerprint": fingerprint,
            }
        )
    return pa.Table.from_pylist(rows, schema=TRAJECTORY_SCHEMA)


def _config(tmp_path: Path) -> Path:
    config = tmp_path / "config"
    config.mkdir()
    (config / "branches.yaml").write_text(textwrap.dedent(CONFIG), encoding="utf-8")
    return config


def test_live_flushes_get_no_queue_length(tmp_path: Path) -> None:
    # A live session from 10:00: flush 1 holds A (queued 10:00:00-10:00:50), flush 2 holds B (queued
    # 10:00:10-10:01:40). Each flush holds only the people who finished, over spans that overlap:
    # judged flush by flush, minute 10:00 was "observed" 110 s with a peak of 1 while two queued.
    data = tmp_path / "data"
    fingerprint = "live-c1-20260209T100000Z"
    flushes = {
        "c1-live-20260209T100000Z-0001": _path("A", fingerprint, (0, 55), (0, 50)),
        "c1-live-20260209T100000Z-0002": _path("B", fingerprint, (5, 105), (10, 100)),
    }
    for key, table in flushes.items():
        write_trajectories(table, data, branch_id="b1", day=T0.date(), source_key=key)
    (data / "runs").mkdir()
    (data / "runs" / "c1-live-20260209T100000Z.json").write_text(json.dumps({"session": "20260209T100000Z"}))
    summary = rejudge_zones(load_config(_config(tmp_path)), data, "b1")
    assert (summary.videos, summary.queued, summary.skipped) == (2, 2, [])
    # the queue visits are judged again; queue length is left unknown, as the live stream leaves it
    assert sorted(read_zone_table(data, QUEUE_VISITS_DIR).column("customer_id").to_pylist()) == ["A", "B"]
    assert read_zone_table(data, QUEUE_LENGTHS_DIR).num_rows == 0


def test_a_video_without_its_run_summary_gets_no_queue_length(tmp_path: Path) -> None:
    data = tmp_path / "data"
    fingerprint = "f" * 64
    table = _path("A", fingerprint, (0, 55), (20, 50))
    write_trajectories(table, data, branch_id="b1", day=T0.date(), source_key="c1-ffffffffffffffff")
    config = load_config(_config(tmp_path))
    rejudge_zones(config, data, "b1")
    # the samples run 10:00:00-10:00:55 but the video may have run longer: its span is not known
    assert read_zone_table(data, QUEUE_LENGTHS_DIR).num_rows == 0
    # with the summary, the video's own start and length give the minutes
    (data / "runs").mkdir()
    # 961 frames at 8 fps: 120.125 s to the end of the last frame, whose time (10:02:00) ends the span
    run = {"start_time": T0.isoformat(), "duration_s": 120.125, "frames": 961}
    (data / "runs" / "c1-ffffffffffffffff.json").write_text(json.dumps(run), encoding="utf-8")
    rejudge_zones(config, data, "b1")
    lengths = read_zone_table(data, QUEUE_LENGTHS_DIR).to_pylist()
    assert [(r["observed_seconds"], r["peak_people"]) for r in lengths] == [(60.0, 1), (60.0, 0)]


def test_rejudging_waits_for_a_running_batch(tmp_path: Path) -> None:
    # a batch moves the people a segment takes over out of the earlier segment's zone files: paths
    # read before that and written after it would put their visits back, counted in both segments
    data = tmp_path / "data"
    table = _path("A", "f" * 64, (0, 55), (20, 50))
    write_trajectories(table, data, branch_id="b1", day=T0.date(), source_key="c1-ffffffffffffffff")
    config = load_config(_config(tmp_path))
    waiting = threading.Event()
    told: list[str] = []

    def on_wait(holder: str) -> None:
        told.append(holder)
        waiting.set()

    results: list[RejudgeSummary] = []

    def rejudge() -> None:
        try:
            results.append(rejudge_zones(config, data, "b1", on_wait=on_wait))
        finally:
            waiting.set()  # ended without waiting: the assertions below say so at once

    with data_dir_lock(data, BATCH_LOCK):  # the batch
        worker = threading.Thread(target=rejudge)
        worker.start()
        assert waiting.wait(120)
        assert told, "zones --rejudge did not wait for the batch"
        assert read_zone_table(data, QUEUE_VISITS_DIR).num_rows == 0 and not results
    worker.join(120)
    assert len(told) == 1 and f"pid {os.getpid()}" in told[0]
    assert results and results[0].videos == 1
    assert read_zone_table(data, QUEUE_VISITS_DIR).column("customer_id").to_pylist() == ["A"]
