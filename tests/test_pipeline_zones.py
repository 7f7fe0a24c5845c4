"""process writes zone visits beside the movements, from the camera's configured zones."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import pytest

from retail_intel.errors import InputError
from retail_intel.movements.store import read_movements
from retail_intel.movements.zone_store import QUEUE_LENGTHS_DIR, ZONE_VISITS_DIR, read_zone_table
from retail_intel.pipeline.plan import ProcessRequest, make_plan
from retail_intel.pipeline.run import process_video

from .fakes import ScriptedDetector, two_people, write_video

START = dt.datetime(2026, 2, 8, 10, 0, tzinfo=dt.UTC)

CONFIG = """
branches:
  - id: b1
    name: One
    capacity: 10
    cameras:
      - id: cam
        roi: [100, 80, 220, 200]
        min_dwell: 2
        zones:
          - {{id: same_as_roi, polygon: [[100, 80], [220, 80], [220, 200], [100, 200]], min_dwell: 2}}
          - {{id: line_up, kind: queue, polygon: {queue}}}
"""


def _process(tmp_path: Path, queue: str = "[[0, 0], [60, 0], [60, 60]]") -> Path:
    config = tmp_path / "config"
    config.mkdir()
    (config / "branches.yaml").write_text(textwrap.dedent(CONFIG.format(queue=queue)), encoding="utf-8")
    video = write_video(tmp_path / "cam.avi", frames=60)
    data = tmp_path / "data"
    plan = make_plan(ProcessRequest(video=video, branch="b1", data_dir=data, config_dir=config, start_time=START))
    detector = ScriptedDetector(two_people)
    process_video(plan, detector_factory=lambda _: detector)
    return data


def test_a_zone_equal_to_the_roi_gives_the_movement_times(tmp_path: Path) -> None:
    data = _process(tmp_path)
    movements = {r["customer_id"]: r for r in read_movements(data).to_pylist()}
    visits = read_zone_table(data, ZONE_VISITS_DIR).to_pylist()
    entered = [r for r in movements.values() if r["action_type"] == "entered"]
    assert len(entered) == 1
    mine = [v for v in visits if v["customer_id"] == entered[0]["customer_id"] and v["zone_id"] == "same_as_roi"]
    assert len(mine) == 1
    assert (mine[0]["enter_time"], mine[0]["exit_time"]) == (entered[0]["enter_time"], entered[0]["exit_time"])
    assert mine[0]["counted"] and mine[0]["exit_observed"] is False
    # the 6 s video (last frame at 5.9 s) covers one minute of queue length for the queue zone, empty
    lengths = read_zone_table(data, QUEUE_LENGTHS_DIR).to_pylist()
    assert [(r["zone_id"], r["observed_seconds"], r["peak_people"]) for r in lengths] == [("line_up", 5.9, 0)]


def test_a_zone_outside_the_frame_stops_processing_before_any_work(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r'camera "cam": zone "line_up" .* reaches outside the 320x240 frame'):
        _process(tmp_path, queue="[[0, 0], [900, 0], [900, 60]]")
    assert not (tmp_path / "data" / "movements").exists()


def test_a_staff_zone_outside_the_frame_stops_processing_before_any_work(tmp_path: Path) -> None:
    # a staff polygon drawn at another resolution never holds a foot point: the staff-zone rule
    # would never fire and clerks would count as customers
    config = tmp_path / "config"
    config.mkdir()
    branches = CONFIG.format(queue="[[0, 0], [60, 0], [60, 60]]").replace(
        "    capacity: 10\n",
        "    capacity: 10\n    staff:\n      zones:\n        cam: [[[0, 0], [60, 0], [60, 60]], [[250, 0], [1900, 0], [1900, 60]]]\n",
    )
    (config / "branches.yaml").write_text(textwrap.dedent(branches), encoding="utf-8")
    video = write_video(tmp_path / "cam.avi", frames=60)
    plan = make_plan(
        ProcessRequest(video=video, branch="b1", data_dir=tmp_path / "data", config_dir=config, start_time=START)
    )
    assert len(plan.staff.staff_zones) == 2
    with pytest.raises(
        InputError, match=r'^branches\.yaml: camera "cam": staff\.zones polygon #2 .* reaches outside the 320x240 frame'
    ):
        process_video(plan, detector_factory=lambda _: ScriptedDetector(two_people))
    assert not (tmp_path / "data" / "movements").exists()


def test_snapshot_draws_the_cameras_zones(tmp_path: Path) -> None:
    import cv2
    import numpy as np

    from retail_intel.config.loader import load_config
    from retail_intel.pipeline.snapshot import take_snapshot

    config = tmp_path / "config"
    config.mkdir()
    (config / "branches.yaml").write_text(
        textwrap.dedent(CONFIG.format(queue="[[10, 150], [90, 150], [90, 230], [10, 230]]")), encoding="utf-8"
    )
    camera = load_config(config).camera("b1", "cam")
    video = write_video(tmp_path / "cam.avi", frames=5)
    plain, _, _ = take_snapshot(video, 0.0, tmp_path / "plain.png", fps=10, grid=1000, roi=None)
    drawn, _, size = take_snapshot(video, 0.0, tmp_path / "zones.png", fps=10, grid=1000, roi=None, camera=camera)
    assert size == (320, 240)
    before, after = (np.asarray(cv2.imread(str(path)), dtype=int) for path in (plain, drawn))
    # inside the queue zone (shaded orange-ish: more red than blue), and outside every region unchanged
    assert (after[200, 50] - before[200, 50]).tolist() != [0, 0, 0]
    assert after[200, 50][2] > after[200, 50][0]
    assert (after[30, 300] == before[30, 300]).all()


def test_changed_zones_are_rejudged_from_stored_paths(tmp_path: Path) -> None:
    from retail_intel.config.loader import load_config
    from retail_intel.pipeline.rejudge_zones import rejudge_zones

    data = _process(tmp_path)
    before = read_zone_table(data, ZONE_VISITS_DIR).to_pylist()
    roi_visit = next(v for v in before if v["zone_id"] == "same_as_roi" and v["counted"])
    # the queue zone goes, the ROI-sized zone stays: judged again from paths sampled every 0.5 s
    (tmp_path / "config" / "branches.yaml").write_text(
        textwrap.dedent(CONFIG.split("          - {{id: line_up")[0]).format(), encoding="utf-8"
    )
    summary = rejudge_zones(load_config(tmp_path / "config"), data, "b1")
    assert (summary.videos, summary.skipped) == (1, [])
    after = read_zone_table(data, ZONE_VISITS_DIR).to_pylist()
    assert {v["zone_id"] for v in after} == {"same_as_roi"}
    assert read_zone_table(data, QUEUE_LENGTHS_DIR).num_rows == 0  # the queue is gone
    again = next(v for v in after if v["customer_id"] == roi_visit["customer_id"] and v["counted"])
    assert abs((again["enter_time"] - roi_visit["enter_time"]).total_seconds()) <= 0.5
    assert abs((again["exit_time"] - roi_visit["exit_time"]).total_seconds()) <= 0.5


def test_snapshot_refuses_a_line_outside_the_frame_as_process_does(tmp_path: Path) -> None:
    # snapshot --branch checked the ROI and the named zones against the frame, not the line or the
    # pass-by zone that process refuses: a picture showing the line cut off at the border
    from retail_intel.config.models import Camera
    from retail_intel.pipeline.snapshot import take_snapshot

    camera = Camera.model_validate(
        {"id": "cam", "roi": [0, 0, 100, 100], "line": {"start": [50, 10], "end": [50, 900], "in_side": "left"}}
    )
    video = write_video(tmp_path / "cam.avi", frames=5)
    out = tmp_path / "line.png"
    with pytest.raises(InputError, match=r"line point \(50, 900\) is outside the 320x240 frame"):
        take_snapshot(video, 0.0, out, fps=10, grid=1000, roi=None, camera=camera)
    assert not out.exists()


def test_snapshot_names_the_camera_whose_roi_is_off_the_frame(tmp_path: Path) -> None:
    # snapshot --branch b2 on another camera's video said only "ROI [...] reaches outside the
    # 768x576 frame": not which camera's entry in branches.yaml, nor that --roi was not to blame
    from retail_intel.config.models import Camera
    from retail_intel.pipeline.snapshot import take_snapshot

    camera = Camera.model_validate({"id": "entrance", "roi": [0, 200, 1280, 720]})
    video = write_video(tmp_path / "cam.avi", frames=5)
    with pytest.raises(InputError, match=r'^branches\.yaml: camera "entrance": ROI .* outside the 320x240 frame'):
        take_snapshot(video, 0.0, tmp_path / "a.png", fps=10, grid=1000, roi=None, camera=camera)
    # a roi given is the caller's, not the file's: named as the caller names it (the CLI: --roi)
    with pytest.raises(InputError, match=r"^roi: ROI .* outside the 320x240 frame"):
        take_snapshot(video, 0.0, tmp_path / "b.png", fps=10, grid=1000, roi="0,0,900,100", camera=None)
    with pytest.raises(InputError, match=r"^--roi: ROI .* outside the 320x240 frame"):
        take_snapshot(video, 0.0, tmp_path / "b.png", fps=10, grid=1000, roi="0,0,900,100", names={"roi": "--roi"})


@pytest.mark.parametrize(
    ("roi", "library", "cli"),
    [
        ("0,0,900,100", r"^roi: ROI .* outside the 320x240 frame", "--roi: ROI"),
        ("1,2,3", r"^roi expects 4 numbers x1,y1,x2,y2, got 3", "--roi expects 4 numbers x1,y1,x2,y2, got 3"),
    ],
)
def test_snapshot_names_roi_as_its_caller_does(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    roi: str,
    library: str,
    cli: str,
) -> None:
    # take_snapshot(roi="1,2,3") said "--roi expects 4 numbers", a flag its Python caller never wrote
    from retail_intel.pipeline.snapshot import take_snapshot
    from tests.cli_helpers import run_cli

    video = write_video(tmp_path / "cam.avi", frames=5)
    with pytest.raises(InputError, match=library):
        take_snapshot(video, 0.0, tmp_path / "a.png", fps=10, grid=1000, roi=roi)
    result = run_cli(["snapshot", str(video), "--roi", roi, "-o", str(tmp_path / "b.png")], capsys, monkeypatch)
    assert result.exit_code == 1 and cli in result.stderr, result.stderr


def test_process_names_the_camera_whose_roi_is_off_the_frame(tmp_path: Path) -> None:
    # process --branch b2 on another camera's video said only "ROI [...] reaches outside the frame",
    # not that the camera's entry in branches.yaml was to blame; a flag's ROI keeps the plain message
    config = tmp_path / "config"
    config.mkdir()
    far = CONFIG.format(queue="[[0, 0], [60, 0], [60, 60]]").replace("[100, 80, 220, 200]", "[0, 200, 1280, 720]")
    (config / "branches.yaml").write_text(textwrap.dedent(far), encoding="utf-8")
    video = write_video(tmp_path / "cam.avi", frames=5)
    never = ScriptedDetector(two_people)

    def run(**flags: str) -> None:
        request = ProcessRequest.create(video, "b1", tmp_path / "data", config_dir=config, start_time=START, **flags)
        process_video(make_plan(request), detector_factory=lambda _: never)

    with pytest.raises(InputError, match=r'^branches\.yaml: camera "cam": ROI .* outside the 320x240 frame'):
        run()
    with pytest.raises(InputError, match=r"^ROI .* outside the 320x240 frame"):
        run(roi="0,0,900,100")
    assert not (tmp_path / "data" / "movements").exists()


@pytest.mark.parametrize("engine", ["duckdb", "polars"])
def test_a_queue_occupied_the_whole_video_has_a_mean_length_of_one(tmp_path: Path, engine: str) -> None:
    # Person A is in this queue zone (foot at y 150, B's at 110) in all 60 frames. The visit's
    # people-seconds are its dwell, last moment - first (5.9 s), but the minute was "observed" to
    # the end of the last frame (6.0 s): the mean queue length read 0.983 instead of 1.
    from zoneinfo import ZoneInfo

    from retail_intel.kpis.zone_compute import compute_zone_kpis_for

    data = _process(tmp_path, queue="[[0, 130], [320, 130], [320, 240], [0, 240]]")
    (minute,) = read_zone_table(data, QUEUE_LENGTHS_DIR).to_pylist()
    assert minute["people_seconds"] == minute["observed_seconds"] == 5.9
    result = compute_zone_kpis_for({"b1": ZoneInfo("UTC")}, {("b1", "cam")}, data, window_minutes=60, engine=engine)
    (queue,) = result.queues.to_pylist()
    assert (queue["mean_queue_length"], queue["peak_queue_length"]) == (1.0, 1)
