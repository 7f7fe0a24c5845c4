"""detect_margin: the watched region, the crop, its input size and boxes shifted back (no video)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from retail_intel.config.camera_settings import SettingsError, settings_layer
from retail_intel.pipeline.plan import ProcessPlan, ProcessRequest, make_plan
from retail_intel.vision.crop import CroppedDetector, crop_box, crop_imgsz, watched_region
from retail_intel.vision.detections import Detections


def test_no_margin_means_the_whole_frame() -> None:
    assert watched_region(settings_layer({"roi": "300,180,700,420"})) is None


def test_region_covers_roi_line_and_passby_zone_plus_margin() -> None:
    settings = settings_layer(
        {
            "roi": "300,180,700,420",
            "line": "500,180 500,450",
            "passby_zone": "10,500 60,500 60,560",
            "detect_margin": 20,
        }
    )
    assert watched_region(settings) == (-10, 160, 720, 580)


def test_margin_is_bounded_and_named() -> None:
    with pytest.raises(SettingsError, match="detect_margin"):
        settings_layer({"detect_margin": -1})


@given(
    x1=st.floats(-2000, 2000),
    y1=st.floats(-2000, 2000),
    w=st.floats(0, 4000),
    h=st.floats(0, 4000),
    width=st.integers(1, 4000),
    height=st.integers(1, 4000),
)
def test_crop_box_lies_inside_the_frame_and_is_never_empty(
    x1: float, y1: float, w: float, h: float, width: int, height: int
) -> None:
    bx1, by1, bx2, by2 = crop_box((x1, y1, x1 + w, y1 + h), width, height)
    assert 0 <= bx1 < bx2 <= width
    assert 0 <= by1 < by2 <= height


def test_crop_keeps_the_full_frame_scale() -> None:
    # 768x576 at 1280: 1.667 px per frame px; a 480-px-wide crop needs 800 px of input
    assert crop_imgsz(1280, (200, 100, 680, 500), 768, 576) == 800
    assert crop_imgsz(1280, (0, 0, 768, 576), 768, 576) == 1280
    assert crop_imgsz(640, (0, 0, 5, 5), 1920, 1080) == 32


@dataclass
class _Recorder:
    """A detector that reports one box at its input's top-left corner and notes what it saw."""

    name: str = "fake"
    imgsz: int = 0
    batch_size: int = 4
    seen: list[tuple[tuple[int, ...], int]] = field(default_factory=list)

    def detect(self, frame: npt.NDArray[np.uint8], frame_index: int) -> Detections:
        return self.detect_batch([frame], [frame_index])[0]

    def detect_batch(self, frames: list[npt.NDArray[np.uint8]], frame_indices: list[int]) -> list[Detections]:
        out = []
        for frame in frames:
            self.seen.append((frame.shape, self.imgsz))
            out.append(Detections(np.array([[0, 0, 10, 20]], np.float32), np.array([0.9], np.float32)))
        return out


def test_boxes_come_back_in_frame_coordinates_at_the_frame_scale() -> None:
    inner = _Recorder()
    detector = CroppedDetector(inner, (200.0, 100.0, 680.0, 500.0), 1280)
    frames = [np.zeros((576, 768, 3), np.uint8) for _ in range(3)]
    found = detector.detect_batch(frames, [0, 1, 2])
    assert [d.xyxy.tolist() for d in found] == [[[200, 100, 210, 120]]] * 3
    assert inner.seen == [((400, 480, 3), 800)] * 3


def test_frames_of_another_size_get_their_own_crop() -> None:
    inner = _Recorder()
    detector = CroppedDetector(inner, (100.0, 50.0, 400.0, 250.0), 640)
    small, large = np.zeros((240, 320, 3), np.uint8), np.zeros((480, 640, 3), np.uint8)
    found = detector.detect_batch([small, large], [0, 1])
    assert [s for s, _ in inner.seen] == [(190, 220, 3), (200, 300, 3)]
    assert found[0].xyxy.tolist() == [[100, 50, 110, 70]]
    assert found[1].xyxy.tolist() == [[100, 50, 110, 70]]


def _plan(tmp_path: Path, **settings: object) -> ProcessPlan:
    return make_plan(ProcessRequest.create(Path("live"), "b1", tmp_path, **settings))


def test_a_redrawn_roi_changes_what_the_detector_sees_only_with_a_margin(tmp_path: Path) -> None:
    plain = [_plan(tmp_path, roi=roi) for roi in ("100,80,220,200", "10,10,50,50")]
    # without a crop the ROI is a judging setting: stored tracks stay valid
    assert plain[0].detector == plain[1].detector
    assert plain[0].stage_identity("track") == plain[1].stage_identity("track")
    cropped = [_plan(tmp_path, roi=roi, detect_margin=30) for roi in ("100,80,220,200", "10,10,50,50")]
    assert cropped[0].detector.detect_region == (70, 50, 250, 230)
    assert cropped[0].detector != cropped[1].detector
    assert cropped[0].stage_identity("track") != cropped[1].stage_identity("track")
