"""Automatic input size: the pure rule, the probe with a scripted detector, and the run summary."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest

from retail_intel.pipeline import run as run_module
from retail_intel.pipeline.autosize import (
    MAX_PROBE_FRAMES,
    MIN_PROBE_FRAMES,
    PROBE_IMGSZ,
    SizeChoice,
    autosize_plan,
    choose_input_size,
    probe_frames,
    size_rule,
)
from retail_intel.pipeline.plan import ProcessRequest, make_plan
from retail_intel.vision.appearance import DESCRIPTOR_LENGTH, HALF_LENGTH, box_appearance
from retail_intel.vision.detections import Detector

from .fakes import ScriptedDetector, person_box, two_people, write_video

FRAME = (768, 576)


def test_tall_people_get_the_smallest_size() -> None:
    choice = size_rule([200.0] * 10, (640, 480))
    assert (choice.imgsz, choice.tiles, choice.warning) == (640, 1, None)
    assert "200 px" in choice.reason


def test_small_people_get_a_larger_size_from_the_calibrate_rule() -> None:
    # PETS09-S2L1-like: the smallest people ~70 px tall in a 768 px wide frame -> 768*120/70 = 1317 -> 1280
    heights = [70.0] * 5 + [100.0] * 20 + [150.0] * 5
    choice = size_rule(heights, FRAME)
    assert choice.imgsz == 1280 and choice.warning is None
    # ~95 px: 768*120/95 = 970 -> rounded up to 992
    assert size_rule([95.0] * 10, FRAME).imgsz == 992


def test_people_too_small_even_at_the_largest_size_give_a_warning() -> None:
    # a crowded concourse from high up: people ~45 px tall in a 960x540 frame -> 60 px at 1280
    choice = size_rule([45.0] * 30, (960, 540))
    assert choice.imgsz == 1280
    assert choice.warning is not None
    assert "too small to count reliably" in choice.warning and "~45 px" in choice.warning


def test_too_few_people_keep_the_default() -> None:
    choice = size_rule([60.0, 70.0], FRAME)
    assert (choice.imgsz, choice.warning) == (640, None)
    assert "too few" in choice.reason
    assert size_rule([], FRAME).small_person_px is None


def test_probe_frames_follow_the_video_length_within_bounds() -> None:
    assert probe_frames(71) == MIN_PROBE_FRAMES
    assert probe_frames(795) == 5
    assert probe_frames(100_000) == MAX_PROBE_FRAMES


def test_tall_people_are_sized_without_the_large_model(tmp_path: Path) -> None:
    video = write_video(tmp_path / "cam.avi", frames=40)
    asked: list[int] = []

    def detector_at(imgsz: int, tiles: int) -> Detector:
        asked.append(imgsz)
        return ScriptedDetector(lambda i: [person_box(80 * k + 40, 230, h=200.0) for k in range(3)])

    choice = choose_input_size(video, detector_at, frames=2)
    assert (asked, choice.imgsz, choice.people_sampled) == ([640], 640, 6)


def small_people(frame: int) -> list[tuple[float, float, float, float, float]]:
    return [person_box(50 + 40 * k, 200, h=30.0 + k) for k in range(4)]


def test_choose_input_size_probes_at_the_largest_size(tmp_path: Path) -> None:
    video = write_video(tmp_path / "cam.avi", frames=40)
    asked: list[tuple[int, int]] = []

    def detector_at(imgsz: int, tiles: int) -> Detector:
        asked.append((imgsz, tiles))
        return ScriptedDetector(small_people)

    choice = choose_input_size(video, detector_at, frames=3)
    assert asked == [(640, 1), (PROBE_IMGSZ, 1)]  # too small for 640: probed again at the largest size
    assert choice.frames_sampled == 3 and choice.people_sampled == 12
    # 320 px frame, smallest ~30 px: 320*120/30 = 1280 -> 1280; at 1280 they are ~120 px: no warning
    assert choice.imgsz == 1280 and choice.warning is None


def test_process_records_the_choice_and_the_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    video = write_video(tmp_path / "cam.avi", frames=30)

    def request(**settings: object) -> ProcessRequest:
        start = dt.datetime(2026, 2, 8, 10, tzinfo=dt.UTC)
        return ProcessRequest.create(video, "b1", tmp_path / "data", start_time=start, roi="100,80,220,200", **settings)

    plan = make_plan(request())
    assert plan.auto_size
    assert not make_plan(request(imgsz=960)).auto_size
    assert not make_plan(request(tiles=2)).auto_size
    built: list[int] = []

    def fake_factory(p: object) -> Detector:
        built.append(p.detector.imgsz)  # type: ignore[attr-defined]
        # tiny people (8 px tall in a 320 px frame: 32 px at 1280) plus the usual two
        return ScriptedDetector(lambda i: [person_box(60, 150, h=8.0)] * 4 + two_people(i))

    # the process loop sizes only the detector it builds itself: stand in for it
    monkeypatch.setattr(run_module, "default_detector_factory", fake_factory)
    result = run_module.process_video(plan, detector_factory=fake_factory)
    assert built == [640, PROBE_IMGSZ]  # the probe's 1280 detector runs the video: no third model
    summary = json.loads(result.summary_path.read_text())
    assert summary["input_size"]["imgsz"] == 1280
    assert summary["input_size"]["frames_sampled"] == MIN_PROBE_FRAMES
    assert len(summary["warnings"]) == 1 and "too small to count reliably" in summary["warnings"][0]
    rows = {r["field"]: r["value"] for r in run_module.summary_rows(result.summary)}
    assert rows["warning"] == summary["warnings"][0]
    assert rows["input_size"].startswith("1280 (auto: ")


def test_autosize_plan_turns_the_choice_into_the_plan(tmp_path: Path) -> None:
    video = write_video(tmp_path / "cam.avi", frames=20)
    plan = make_plan(ProcessRequest.create(video, "b1", tmp_path, roi="0,0,320,240"))
    sized, choice, probe = autosize_plan(
        plan, lambda p: ScriptedDetector(lambda i: [person_box(100, 200, h=200.0)] * 3)
    )
    assert isinstance(choice, SizeChoice)
    assert (sized.detector.imgsz, sized.detector.tiles) == (640, 1)
    # still an automatic size: the stored tracks are known by the rule, not by the size it gave
    assert sized.auto_size and sized.stage_identity("track")["imgsz"] == "auto"
    assert sized.detector.conf == plan.detector.conf
    assert probe is not None  # tall people, found at 640: the 640 detector runs the video


def test_box_appearance_tells_colours_apart() -> None:
    from retail_intel.movements.stitch import appearance_similarity

    frame = np.zeros((200, 300, 3), np.uint8)
    frame[:, :100] = (0, 0, 255)  # red person on the left: red top, red legs
    frame[100:, :100] = (255, 0, 0)  # ... blue legs
    frame[:, 100:200] = (0, 0, 255)  # a second red-over-blue person
    frame[100:, 100:200] = (255, 0, 0)
    frame[:, 200:] = (0, 255, 0)  # a green one
    boxes = np.array([[0, 0, 100, 200], [100, 0, 200, 200], [200, 0, 300, 200]], np.float32)
    looks = box_appearance(frame, boxes).astype(np.float64)
    assert looks.shape == (3, DESCRIPTOR_LENGTH)
    assert np.allclose(looks[:, :HALF_LENGTH].sum(axis=1), 1.0) and np.allclose(looks[:, HALF_LENGTH:].sum(axis=1), 1.0)
    assert appearance_similarity(looks[0], looks[1]) == pytest.approx(1.0)
    assert appearance_similarity(looks[0], looks[2]) < 0.1
    # a box outside the frame or too small to hold colours gives a flat (uninformative) descriptor
    edge = box_appearance(frame, np.array([[400, 0, 500, 50], [10, 10, 12, 12]], np.float32))
    assert np.allclose(edge, 1.0 / HALF_LENGTH)
