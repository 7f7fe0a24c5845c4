"""A live session writes the zone visits of each flush's people beside its movements."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from retail_intel.errors import InputError
from retail_intel.movements.store import movement_files, read_movements
from retail_intel.movements.zone_store import QUEUE_LENGTHS_DIR, ZONE_VISITS_DIR, read_zone_table

from .live_fakes import Frames
from .test_live_session import run

CONFIG = """
branches:
  - id: b1
    name: One
    capacity: 10
    cameras:
      - id: cam1
        roi: [100, 80, 220, 200]
        zones:
          - {id: same_as_roi, polygon: [[100, 80], [220, 80], [220, 200], [100, 200]], min_dwell: 2}
          - {id: line_up, kind: queue, polygon: [[0, 0], [60, 0], [60, 60]]}
"""


def test_each_flush_writes_its_peoples_zone_visits(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "branches.yaml").write_text(textwrap.dedent(CONFIG), encoding="utf-8")
    data = tmp_path / "data"
    run(data, [Frames(300)], plan_kw={"config_dir": config, "roi": None})
    files = sorted(p.name for p in (data / ZONE_VISITS_DIR).rglob("*.parquet"))
    assert files == [f"live-b1-cam1-S1-{n:04d}.parquet" for n in (1, 2, 3)]
    visits = read_zone_table(data, ZONE_VISITS_DIR).to_pylist()
    movements = {r["customer_id"]: r for r in read_movements(data).to_pylist()}
    # A (entered, walks out) and C (still inside at the stop) stand in the ROI-sized zone; B crosses it fast
    entered = {cid for cid, r in movements.items() if r["action_type"] == "entered"}
    assert {v["customer_id"] for v in visits if v["counted"]} == entered
    for visit in visits:
        assert visit["zone_id"] == "same_as_roi" and visit["customer_id"] in movements
    # no queue length live: a flush of finished people does not know the span watched
    assert read_zone_table(data, QUEUE_LENGTHS_DIR).num_rows == 0


def test_a_zone_reaching_outside_the_stream_frame_is_refused_as_for_a_file(tmp_path: Path) -> None:
    # a file run refuses it; a live session took it and counted visits only in the part in view
    config = tmp_path / "config"
    config.mkdir()
    wide = CONFIG.replace("[[0, 0], [60, 0], [60, 60]]", "[[0, 0], [400, 0], [400, 60]]")
    (config / "branches.yaml").write_text(textwrap.dedent(wide), encoding="utf-8")
    data = tmp_path / "data"
    with pytest.raises(InputError, match=r'^branches.yaml: camera "cam1": zone "line_up" .* outside the 320x240'):
        run(data, [Frames(5)], plan_kw={"config_dir": config, "roi": None})
    assert movement_files(data) == []


def test_a_cameras_roi_outside_the_stream_frame_names_the_cameras_entry(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "branches.yaml").write_text(textwrap.dedent(CONFIG.replace("220, 200]", "520, 200]", 1)))
    with pytest.raises(InputError, match=r'^branches.yaml: camera "cam1": ROI .* outside the 320x240 frame'):
        run(tmp_path / "data", [Frames(5)], plan_kw={"config_dir": config, "roi": None})
