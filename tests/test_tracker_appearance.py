"""BoT-SORT with our colour descriptor as its appearance feature (``TrackerSettings.method``, issue 15).

Hand-written detections and descriptors, Ultralytics' real trackers: two people standing side by
side are hidden for a few frames (someone walks in front of them) and come out having swapped
places. On overlap alone the tracker hands each id to whoever now stands where it was; with
appearance each id stays with its colours. The frame loop describes each detection once, before
tracking, and gives the tracked boxes their detections' rows.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from retail_intel.errors import ConfigError
from retail_intel.pipeline.loop import FrameLoop, LoopSettings
from retail_intel.pipeline.plan import ProcessRequest, make_plan
from retail_intel.vision.appearance import DESCRIPTOR_LENGTH, HALF_LENGTH
from retail_intel.vision.detections import Detections
from retail_intel.vision.tracker import PersonTracker, TrackerSettings

from .fakes import write_video

FPS = 10.0
SHAPE = (480, 640)


def look(upper_bin: int, lower_bin: int) -> npt.NDArray[np.float32]:
    """A descriptor whose upper half is all one colour bin and lower half another (each half sums to 1)."""
    row = np.zeros(DESCRIPTOR_LENGTH, np.float32)
    row[upper_bin] = 1.0
    row[HALF_LENGTH + lower_bin] = 1.0
    return row


RED, BLUE = look(0, 5), look(40, 60)


def boxes(*feet_x: float) -> Detections:
    """People 40 px wide and 100 px tall with their feet at (x, 300), confidence 0.9."""
    xyxy = np.array([[x - 20, 200, x + 20, 300] for x in feet_x], dtype=np.float32).reshape(-1, 4)
    return Detections(xyxy, np.full(len(feet_x), 0.9, np.float32))


def ids_after_swap(settings: TrackerSettings) -> tuple[dict[str, int], dict[str, int]]:
    """Tracker id on the red and the blue person before they are hidden, and after they reappear swapped.

    Side by side 10 px apart (their boxes overlap at IoU 0.6), still for two seconds; hidden for
    three frames; then red stands where blue stood and blue where red stood.
    """
    tracker = PersonTracker(settings, FPS)
    features = np.stack([RED, BLUE])

    def step(red_x: float, blue_x: float) -> dict[str, int]:
        tracked, matched = tracker.update_indexed(boxes(red_x, blue_x), SHAPE, features)
        assert tracked.tracker_id is not None
        return {("red", "blue")[int(m)]: int(i) for m, i in zip(matched, tracked.tracker_id, strict=True)}

    for _ in range(20):
        before = step(200, 210)
    for _ in range(3):
        tracker.update_indexed(Detections.empty(), SHAPE, np.zeros((0, DESCRIPTOR_LENGTH), np.float32))
    for _ in range(5):
        after = step(210, 200)
    return before, after


def test_appearance_keeps_each_id_on_its_person_through_a_swap() -> None:
    before, after = ids_after_swap(TrackerSettings(method="botsort", appearance_similarity=0.8))
    assert before["red"] != before["blue"]
    assert after == before


@pytest.mark.parametrize("method", ["bytetrack", "botsort"])
def test_on_overlap_alone_the_ids_follow_the_places_not_the_people(method: str) -> None:
    before, after = ids_after_swap(TrackerSettings(method=method))  # type: ignore[arg-type]
    assert after == {"red": before["blue"], "blue": before["red"]}


def test_appearance_needs_one_descriptor_per_detection() -> None:
    tracker = PersonTracker(TrackerSettings(method="botsort", appearance_similarity=0.8), FPS)
    with pytest.raises(ValueError, match="features: one descriptor per detection needed \\(2\\), got none"):
        tracker.update(boxes(100, 300), SHAPE)
    with pytest.raises(ValueError, match="needed \\(2\\), got 1 rows"):
        tracker.update(boxes(100, 300), SHAPE, RED[None, :])


def test_settings_refuse_appearance_without_botsort_and_out_of_range() -> None:
    with pytest.raises(ConfigError, match=r"appearance_similarity=0\.8 needs method='botsort'"):
        TrackerSettings(appearance_similarity=0.8)
    with pytest.raises(ConfigError, match=r"appearance_similarity must be in \[0, 1\), got 1.0"):
        TrackerSettings(method="botsort", appearance_similarity=1.0)
    with pytest.raises(ConfigError, match="method must be 'bytetrack' or 'botsort', got 'sort'"):
        TrackerSettings(method="sort")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"appearance_similarity must be in \[0, 1\), got -0.5"):
        TrackerSettings(appearance_similarity=-0.5)  # the range is named before the method
    with pytest.raises(ConfigError, match=r"proximity_iou must be in \(0, 1\], got 0.0"):
        TrackerSettings(method="botsort", appearance_similarity=0.8, proximity_iou=0.0)


def test_appearance_refuses_an_ultralytics_that_mishandles_features(monkeypatch: pytest.MonkeyPatch) -> None:
    import ultralytics

    monkeypatch.setattr(ultralytics, "__version__", "8.3.120")
    with pytest.raises(ConfigError, match=r"needs ultralytics >= 8\.4\.190 .*found 8\.3\.120"):
        PersonTracker(TrackerSettings(method="botsort", appearance_similarity=0.8), FPS)
    PersonTracker(TrackerSettings(method="botsort"), FPS)  # motion alone passes no features: any version
    PersonTracker(TrackerSettings(), FPS)


def lost_position(settings: TrackerSettings, speed_px_per_frame: float, *, coast: bool) -> float:
    """Where a person walking 1 px a frame is predicted after eight frames unseen (coasted or updated empty)."""
    tracker = PersonTracker(settings, FPS)
    x = 100.0
    for _ in range(20):
        tracker.update(boxes(x), SHAPE, RED[None, :] if settings.uses_appearance else None)
        x += speed_px_per_frame
    tracker.update(Detections.empty(), SHAPE, np.zeros((0, DESCRIPTOR_LENGTH), np.float32))
    for _ in range(7):
        if coast:
            tracker.coast()
        else:
            tracker.update(Detections.empty(), SHAPE, np.zeros((0, DESCRIPTOR_LENGTH), np.float32))
    (lost,) = tracker._tracker.lost_stracks
    return float(lost.mean[0])


@pytest.mark.parametrize("coast", [False, True])
def test_the_stationary_prior_and_coasting_work_with_botsort(coast: bool) -> None:
    botsort = TrackerSettings(method="botsort", appearance_similarity=0.8)
    last_seen = 100.0 + 19 * 1.0
    drifting = lost_position(botsort, 1.0, coast=coast)
    held = lost_position(dataclasses.replace(botsort, lost_still_speed=0.3), 1.0, coast=coast)
    assert drifting > last_seen + 5  # constant velocity: it walks on while unseen (coasting predicts too)
    assert abs(held - last_seen) < 2.0


class Scripted:
    """Red and blue standing apart, detected on every frame."""

    name = "scripted"

    def detect(self, frame: npt.NDArray[np.uint8], frame_index: int) -> Detections:
        return boxes(100, 300)


class Sink:
    def __init__(self) -> None:
        self.looks: list[npt.NDArray[np.float32] | None] = []

    def add(
        self,
        frame: int,
        t: float,
        boxes: Detections,
        appearance: npt.NDArray[np.float32] | None = None,
        uniform: npt.NDArray[np.float32] | None = None,
    ) -> None:
        self.looks.append(appearance)


@pytest.mark.parametrize(("motion_threshold", "descriptions"), [(0.0, [2] * 6), (0.5, [2])])
def test_the_loop_describes_detections_once_and_hands_their_rows_to_the_tracked_boxes(
    motion_threshold: float, descriptions: list[int]
) -> None:
    # threshold 0: every frame is detected; 0.5 on an unchanging picture: the first frame only, the
    # others are still and reuse its detections, and so its descriptors
    described: list[int] = []

    def describe(image: npt.NDArray[np.uint8], xyxy: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        described.append(len(xyxy))
        # red on the left, blue on the right, whatever order the boxes come in
        return np.stack([RED if (x1 + x2) / 2 < 200 else BLUE for x1, _, x2, _ in xyxy.tolist()])

    settings = LoopSettings(1, motion_threshold, TrackerSettings(method="botsort", appearance_similarity=0.8), FPS)
    sink = Sink()
    loop = FrameLoop(Scripted(), settings, sink, describe=describe)
    image = np.zeros((*SHAPE, 3), np.uint8)
    frames = [f for i in range(6) for f in loop.feed(i, i / FPS, image)] + loop.flush()
    assert described == descriptions  # the two detections of each detected frame, never the tracked boxes
    for frame, looks in zip(frames, sink.looks, strict=True):
        assert frame.tracked is not None and looks is not None and len(looks) == len(frame.tracked)
        for (x1, _, x2, _), row in zip(frame.tracked.xyxy.tolist(), looks, strict=True):
            assert np.array_equal(row, RED if (x1 + x2) / 2 < 200 else BLUE)


def test_the_track_identity_changes_only_when_botsort_is_chosen(tmp_path: Path) -> None:
    video = write_video(tmp_path / "cam.avi", frames=10)
    plan = make_plan(ProcessRequest.create(video=video, branch="b1", data_dir=tmp_path, roi="0,0,320,240"))
    identity = plan.stage_identity("track")["tracker"]
    assert isinstance(identity, dict)
    # at the defaults the stored tracks of earlier runs stay valid: the constants they were hashed with
    assert set(identity) == {
        "track_high_thresh",
        "track_low_thresh",
        "new_track_thresh",
        "track_buffer_s",
        "match_thresh",
        "fuse_score",
    }
    botsort = dataclasses.replace(
        plan, tracker_constants=TrackerSettings(method="botsort", appearance_similarity=0.8)
    ).stage_identity("track")["tracker"]
    assert isinstance(botsort, dict)
    assert botsort == {**identity, "method": "botsort", "appearance_similarity": 0.8}


def test_judge_identity_leaves_out_predicted_exits_while_off(tmp_path: Path) -> None:
    # a stitching rule added later, off: stored movements of earlier runs are not judged again
    video = write_video(tmp_path / "cam.avi", frames=10)
    plan = make_plan(ProcessRequest.create(video=video, branch="b1", data_dir=tmp_path, roi="0,0,320,240"))
    stitch = plan.stage_identity("judge")["stitch"]
    assert isinstance(stitch, dict) and "predicted_exits" not in stitch and "appearance_heights" in stitch
    on = dataclasses.replace(plan, stitch=dataclasses.replace(plan.stitch, predicted_exits=True))
    assert on.stage_identity("judge")["stitch"] == {**stitch, "predicted_exits": True}
