"""The staff rule's uniform colour, measured on pixels: per box, per track, through process and its stored tracks."""

from __future__ import annotations

import datetime as dt
import math
import textwrap
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pyarrow.parquet as pq
import pytest

from retail_intel.movements.classify import Verdict
from retail_intel.movements.flags import flag_people
from retail_intel.movements.staff import StaffRules, UniformRule
from retail_intel.movements.store import read_movements, read_tracks, source_files
from retail_intel.movements.tracks import ShareTally, Track, TrackAccumulator
from retail_intel.pipeline.plan import ProcessRequest, make_plan
from retail_intel.pipeline.run import process_video
from retail_intel.pipeline.video_tracks import source_key
from retail_intel.storage import TRACKS_DIR
from retail_intel.vision.appearance import upper_body_uniform_shares
from retail_intel.vision.detections import Detections
from retail_intel.vision.video import fingerprint

from .fakes import ScriptedDetector, two_people

START = dt.datetime(2026, 2, 8, 10, 0, tzinfo=dt.UTC)
NAVY_BGR = (120, 30, 10)  # HSV (115, 234, 120): inside NAVY
RED_BGR = (30, 30, 200)  # HSV (0, 217, 200): outside
TROUSERS_BGR = (60, 60, 60)  # grey: no saturation
NAVY = UniformRule(low=(100, 120, 40), high=(130, 255, 255), min_share=0.35)


def test_the_share_counts_the_torso_band_of_the_box_without_its_margins() -> None:
    frame = np.full((200, 100, 3), 255, np.uint8)  # white: saturation 0, never in the range
    frame[:80] = NAVY_BGR  # rows 0-79 navy: head, shoulders and the top of the torso
    frame[:, 20:30] = RED_BGR  # a red strap over cols 20-29, every row
    box = np.array([[0, 0, 100, 200]], np.float32)
    # the torso: cols 20-79 (0.2 of the width off each side), rows 50-99 (0.25 to 0.5 of the
    # height). Navy there: rows 50-79 (30) x cols 30-79 (50); the head's navy is not counted.
    (share,) = upper_body_uniform_shares(frame, box, NAVY).tolist()
    assert share == pytest.approx(30 * 50 / (50 * 60))
    # the same crop, red taken as the uniform instead: 50 rows x 10 strap cols
    red = UniformRule(low=(170, 100, 50), high=(10, 255, 255))
    assert upper_body_uniform_shares(frame, box, red).tolist() == pytest.approx([50 * 10 / (50 * 60)])


def test_a_crop_too_small_or_outside_the_frame_is_not_measured() -> None:
    frame = np.full((100, 100, 3), NAVY_BGR, np.uint8)
    boxes = np.array([[10, 10, 14, 20], [200, 0, 260, 80], [0, 0, 60, 100]], np.float32)
    shares = upper_body_uniform_shares(frame, boxes, NAVY)
    assert math.isnan(shares[0]) and math.isnan(shares[1]) and shares[2] == 1.0
    assert upper_body_uniform_shares(frame, np.zeros((0, 4), np.float32), NAVY).shape == (0,)


def test_the_accumulator_sums_shares_per_track_and_stores_them() -> None:
    acc = TrackAccumulator()
    boxes = np.array([[0, 0, 10, 20], [50, 0, 60, 20]], np.float32)
    both = Detections(boxes, np.array([0.9, 0.8], np.float32), np.array([1, 2], np.int64))
    acc.add(0, 0.0, both, uniform=np.array([0.5, 0.1], np.float32))
    acc.add(1, 0.1, both, uniform=np.array([0.75, np.nan], np.float32))  # 2's crop unusable: left out
    acc.add(2, 0.2, both)  # a frame without measurement
    one, two = acc.tracks()
    assert one.uniform == ShareTally(1.25, 2) and one.uniform_share == 0.625
    assert two.uniform == ShareTally(pytest.approx(0.1), 1)  # type: ignore[arg-type]
    again = TrackAccumulator.from_table(acc.to_table()).tracks()
    assert [t.uniform for t in again] == [one.uniform, two.uniform]
    # fragments joined into one person: the mean over every measured sample
    joined = Track.join([one, Track(**{**two.__dict__, "t": two.t + 1})])
    assert joined.uniform is not None and joined.uniform.n == 3
    assert joined.uniform_share == pytest.approx((0.5 + 0.75 + 0.1) / 3)
    never = TrackAccumulator()
    never.add(0, 0.0, both)
    assert [t.uniform_share for t in never.tracks()] == [None, None]
    assert TrackAccumulator.from_table(never.to_table()).tracks()[0].uniform is None


def test_flags_read_each_persons_measured_share() -> None:
    def walker(track_id: int, share: float | None) -> Track:
        track = Track.from_samples(track_id, [(t / 10, 10.0 * t, 100.0 * track_id) for t in range(50)])
        return Track(**{**track.__dict__, "uniform": None if share is None else ShareTally(share * 4, 4)})

    people = [walker(1, 0.6), walker(2, 0.2), walker(3, None)]
    verdicts = [Verdict("entered", 0.0, 4.9)] * 3
    rules = StaffRules(min_presence_s=None, min_door_crossings=None, uniform=NAVY)
    flags = flag_people(people, verdicts, staff_rules=rules)
    assert [(f.is_staff, f.staff_reason) for f in flags] == [
        (True, "uniform colour 60% of upper body"),
        (False, None),
        (False, None),  # not measured: the rule stays silent
    ]


# --- through process, with a scripted detector on painted frames ---

UNIFORM_CONFIG = """
branches:
  - id: b1
    name: One
    capacity: 10
    staff:
      min_presence_minutes: null
      door_crossings: null
      {uniform}
    cameras:
      - id: cam
        roi: [100, 80, 220, 200]
        min_dwell: 2
"""


def write_painted_video(path: Path, frames: int = 60) -> Path:
    """``two_people``'s boxes painted: A (the one who stays) in a navy top, B (crossing) in a red one."""
    size = (320, 240)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 10.0, size)
    assert writer.isOpened()
    for i in range(frames):
        frame = np.full((size[1], size[0], 3), 40, np.uint8)
        boxes = two_people(i)
        tops = [NAVY_BGR, RED_BGR]
        for (x1, y1, x2, y2, _), top in reversed(list(zip(boxes, tops, strict=False))):
            x1, y1, x2, y2 = round(x1), round(y1), round(x2), round(y2)
            waist = y1 + round(0.55 * (y2 - y1))
            frame[max(y1, 0) : waist, max(x1, 0) : max(x2, 0)] = top
            frame[waist:y2, max(x1, 0) : max(x2, 0)] = TROUSERS_BGR
        writer.write(frame)
    writer.release()
    return path


class CountingFactory:
    def __init__(self) -> None:
        self.made = 0

    def __call__(self, plan: object) -> ScriptedDetector:
        self.made += 1
        return ScriptedDetector(two_people)


UNIFORM = "uniform: {low: [100, 120, 40], high: [130, 255, 255], min_share: 0.35}"


def process(root: Path, data: Path, factory: CountingFactory, uniform: str = UNIFORM, **settings: Any) -> Any:
    config = root / "config"
    config.mkdir(exist_ok=True)
    (config / "branches.yaml").write_text(textwrap.dedent(UNIFORM_CONFIG.format(uniform=uniform)), encoding="utf-8")
    video = root / "cam.avi"
    if not video.exists():
        write_painted_video(video)
    request = ProcessRequest.create(video, "b1", data, config_dir=config, start_time=START, **settings)
    return process_video(make_plan(request), detector_factory=factory)


def staff_rows(data: Path) -> list[tuple[Any, ...]]:
    rows = read_movements(data).to_pylist()
    return sorted((r["action_type"], r["customer_id"], r["is_staff"], r["staff_reason"]) for r in rows)


def test_process_flags_the_person_in_the_uniform_colour_only(tmp_path: Path) -> None:
    result = process(tmp_path, tmp_path / "data", CountingFactory())
    assert result.summary.entered == 1 and result.summary.passed == 1
    (entered, _, e_staff, e_reason), (passed, _, p_staff, p_reason) = staff_rows(tmp_path / "data")
    assert (entered, e_staff, passed, p_staff, p_reason) == ("entered", True, "passed", False, None)
    assert e_reason is not None and e_reason.startswith("uniform colour ")
    # measured on the pixels: A's top fills the torso of its box, B's has none of the navy
    shares = {
        v.action: p.uniform_share for p, v in zip(result.judgement.people, result.judgement.verdicts, strict=True)
    }
    a, b = shares["entered"], shares["passed"]
    assert a is not None and a > 0.8 and b is not None and b < 0.1


def test_without_a_uniform_nothing_is_measured_or_flagged(tmp_path: Path) -> None:
    result = process(tmp_path, tmp_path / "data", CountingFactory(), uniform="")
    assert [p.uniform_share for p in result.judgement.people] == [None, None]
    assert [row[2] for row in staff_rows(tmp_path / "data")] == [False, False]


def test_stored_tracks_are_judged_staff_exactly_as_a_full_run(tmp_path: Path) -> None:
    factory = CountingFactory()
    process(tmp_path, tmp_path / "data", factory)
    # a judging change (the share that counts, a narrower ROI) re-judges the stored tracks
    stricter = UNIFORM.replace("0.35", "0.2")
    again = process(tmp_path, tmp_path / "data", factory, uniform=stricter, roi="100,80,200,200")
    assert factory.made == 1 and again.summary.tracks.startswith("reused")
    fresh = process(tmp_path, tmp_path / "fresh", CountingFactory(), uniform=stricter, roi="100,80,200,200")
    assert fresh.summary.tracks == "detected"
    assert staff_rows(tmp_path / "data") == staff_rows(tmp_path / "fresh")
    assert [row[2] for row in staff_rows(tmp_path / "data")] == [True, False]
    # another colour range was not measured: the video is detected again, and nobody wears it
    green = "uniform: {low: [40, 120, 40], high: [80, 255, 255]}"
    process(tmp_path, tmp_path / "data", factory, uniform=green)
    assert factory.made == 2
    assert [row[2] for row in staff_rows(tmp_path / "data")] == [False, False]


def test_tracks_stored_before_the_uniform_columns_are_still_reused(tmp_path: Path) -> None:
    factory = CountingFactory()
    process(tmp_path, tmp_path / "data", factory, uniform="")
    before = staff_rows(tmp_path / "data")
    key = source_key("cam", fingerprint(tmp_path / "cam.avi"))
    (path,) = source_files(tmp_path / "data", key, TRACKS_DIR)
    table = pq.read_table(path)
    pq.write_table(table.drop_columns(["uniform_sum", "uniform_n"]), path)  # as an older version wrote it
    stored = read_tracks(tmp_path / "data", key)
    assert stored is not None and stored.table.column("uniform_n").null_count == stored.table.num_rows
    again = process(tmp_path, tmp_path / "data", factory, uniform="", roi="100,80,200,200")
    assert factory.made == 1 and again.summary.tracks.startswith("reused")
    assert [row[2] for row in staff_rows(tmp_path / "data")] == [row[2] for row in before]
