"""Adaptive stride in the frame loop: a synthetic video, a scripted detector, real decoding and ByteTrack."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from retail_intel.config.camera_settings import SettingsError, settings_layer
from retail_intel.pipeline.plan import ProcessRequest, make_plan
from retail_intel.pipeline.run import ProcessResult, process_video
from retail_intel.vision.detections import Detections

from .fakes import Box, ScriptedDetector, person_box, write_video

START = dt.datetime(2026, 2, 8, 10, 0, tzinfo=dt.UTC)
FRAMES = 90  # 9 s at 10 fps, 320x240
ROI = "100,80,220,200"
HEIGHT = 20.0  # small people: near an edge = within 20 * (0.5 + 1.5 * 4 / 10) = 22 px at stride 4


def stand_then_leave(frame: int) -> list[Box]:
    """A stands in the middle of the ROI (60 px from its sides) until frame 39, then walks out to the right.

    From frame 40 on, 4 px a frame: A's foot is at the ROI's right side (x = 220) at frame 55
    and leaves the picture (x = 320) at frame 80.
    """
    x = 160 + max(0, frame - 40) * 4
    return [person_box(x, 140, HEIGHT)] if x < 320 else []


def walk_down_across_line(frame: int) -> list[Box]:
    """B stands above the line y = 140 (foot at y = 100) until frame 29, then walks down 3 px a frame and stays."""
    return [person_box(160, 100 + min(max(0, frame - 30), 25) * 3, HEIGHT)]


class BatchScripted(ScriptedDetector):
    """The scripted detector taking four frames at a time, as the OpenVINO detector does."""

    batch_size = 4

    def detect_batch(self, frames: list[npt.NDArray[np.uint8]], frame_indices: list[int]) -> list[Detections]:
        return [self.detect(f, i) for f, i in zip(frames, frame_indices, strict=True)]


def run(
    tmp_path: Path, script: Callable[[int], list[Box]], detector: ScriptedDetector | None = None, **settings: object
) -> tuple[ProcessResult, list[int]]:
    video = tmp_path / "cam.avi"
    if not video.exists():
        write_video(video, frames=FRAMES)
    request = ProcessRequest.create(
        video=video,
        branch="b1",
        data_dir=tmp_path / f"data-{len(list(tmp_path.iterdir()))}",
        roi=ROI,
        start_time=START,
        motion_threshold=0.0,  # the frame counter changes every frame anyway; only the stride decides
        **settings,  # type: ignore[arg-type]
    )
    scripted = detector or ScriptedDetector(script)
    result = process_video(make_plan(request), detector_factory=lambda plan: scripted)
    return result, scripted.calls


def foot_x(frame: int) -> float:
    return 160.0 + max(0, frame - 40) * 4


def check_skips_only_far_from_edges(calls: list[int]) -> None:
    detected = set(calls)
    # A is new for the first second: every frame is detected
    assert set(range(10)) <= detected
    # A stands settled in the middle (60 px from every edge): every 4th frame only
    standing = [f for f in calls if 16 <= f <= 40]
    assert np.diff(standing).tolist() == [4] * (len(standing) - 1) and len(standing) >= 6
    # every frame where A's foot is within a few pixels of the ROI's right side or the picture's border
    near = [f for f in range(FRAMES) if abs(foot_x(f) - 220) <= 8 or 312 <= foot_x(f) < 320]
    assert near and set(near) <= detected
    # gone: nobody left, every 4th frame again
    assert np.diff([f for f in calls if f >= 84]).tolist() in ([4], [])


def test_frames_are_skipped_far_from_edges_and_detected_near_them(tmp_path: Path) -> None:
    result, calls = run(tmp_path, stand_then_leave, adaptive_stride=4)
    check_skips_only_far_from_edges(calls)
    assert result.summary.frames == FRAMES and result.summary.frames_detected == len(calls) < FRAMES * 0.75
    # the same person, entered and left, as when every frame is detected
    every, every_calls = run(tmp_path, stand_then_leave)
    assert every_calls == list(range(FRAMES))
    ours = (result.summary.people, result.summary.entered, result.summary.passed)
    assert ours == (every.summary.people, every.summary.entered, every.summary.passed) == (1, 1, 0)


def test_batched_detector_is_never_late_near_an_edge(tmp_path: Path) -> None:
    # four frames at a time: frames are scheduled a batch ahead with the last decision and
    # gated again once a tracked frame inside the batch brings A near the edge
    detector = BatchScripted(stand_then_leave)
    result, calls = run(tmp_path, stand_then_leave, detector=detector, adaptive_stride=4)
    assert sorted(calls) == sorted(set(calls))  # each frame detected at most once
    check_skips_only_far_from_edges(sorted(calls))
    assert result.summary.entered == 1


def test_skipped_frames_are_interpolated(tmp_path: Path) -> None:
    result, calls = run(tmp_path, stand_then_leave, adaptive_stride=4)
    (person,) = result.judgement.people
    # one sample per frame from the first to the last tracked one, the skipped ones filled in,
    # except where A started to walk unseen (frames 39-41 skipped): 8 px in 4 frames is more than
    # the 10 px box can move and still overlap, so the tracker lost A and found them under a new
    # id, which stitching joined (it does not fill between fragments)
    holes = set(range(int(person.frames[0]), int(person.frames[-1]) + 1)) - set(person.frames.tolist())
    assert holes and holes <= set(range(39, 43))
    filled = person.confidence == 0
    assert filled.any() and not set(person.frames[filled].tolist()) & set(calls)
    # where A walks (4 px a frame), filled foot points lie on the path
    walking = (person.frames > 62) & (person.frames < 75) & filled
    assert walking.any()
    expected = [foot_x(int(f)) for f in person.frames[walking]]
    assert np.allclose(person.x[walking], expected, atol=2.0)


def test_a_person_crossing_the_line_is_still_counted(tmp_path: Path) -> None:
    line = "100,140 220,140:right"  # walking down (from above the line) is in
    adaptive, calls = run(tmp_path, walk_down_across_line, adaptive_stride=4, line=line)
    every, _ = run(tmp_path, walk_down_across_line, line=line)
    assert len(calls) < FRAMES
    assert (adaptive.summary.line_in, adaptive.summary.line_out) == (every.summary.line_in, every.summary.line_out)
    assert (adaptive.summary.line_in, adaptive.summary.line_out) == (1, 0)
    # B is 40 px above the line while standing (near: 22 px) so frames are skipped there, and every frame
    # from 3 frames (9 px) before the crossing to 3 frames after is detected
    crossing = [f for f in range(FRAMES) if abs(100 + min(max(0, f - 30), 25) * 3 - 140) <= 9]
    assert set(crossing) <= set(calls)


def test_off_detects_every_frame_and_keeps_the_identity(tmp_path: Path) -> None:
    video = write_video(tmp_path / "cam.avi", frames=10)
    plans = [
        make_plan(ProcessRequest.create(video=video, branch="b1", data_dir=tmp_path, roi=ROI, **extra))  # type: ignore[arg-type]
        for extra in ({}, {"adaptive_stride": 1}, {"adaptive_stride": 3})
    ]
    identities = [p.stage_identity("track") for p in plans]
    assert identities[0] == identities[1] != identities[2]
    assert "adaptive_stride" not in identities[0] and identities[2]["adaptive_stride"] == 3


def test_on_the_regions_are_part_of_the_tracks_identity(tmp_path: Path) -> None:
    # with the stride on, which frames were skipped follows the regions' edges: stored tracks made
    # for one ROI must not be re-judged against another; with it off a new ROI only re-judges
    video = write_video(tmp_path / "cam.avi", frames=10)

    def identity(roi: str, stride: int) -> dict[str, object]:
        request = ProcessRequest.create(video=video, branch="b1", data_dir=tmp_path, roi=roi, adaptive_stride=stride)  # type: ignore[arg-type]
        return make_plan(request).stage_identity("track")

    assert identity(ROI, 4) != identity("10,10,300,230", 4)
    assert identity(ROI, 1) == identity("10,10,300,230", 1)


def test_out_of_range_setting_is_refused_by_name() -> None:
    for bad in (0, 31):
        with pytest.raises(SettingsError, match="adaptive_stride"):
            settings_layer({"adaptive_stride": bad})
    assert settings_layer({"adaptive_stride": "4"}).adaptive_stride == 4  # a manifest cell
