"""Calibrating a camera's detection settings, and writing them into branches.yaml with its comments."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from retail_intel.accuracy.calibrate import (
    Calibration,
    CandidateResult,
    calibrate,
    calibrate_camera,
    parse_candidates,
    recommend,
    rule_imgsz,
    sample_frames,
)
from retail_intel.accuracy.config_edit import edit_camera_text, write_camera_settings
from retail_intel.config.loader import load_config
from retail_intel.errors import ConfigError, InputError
from retail_intel.vision.detections import Detections

from .fakes import write_video

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("long_side", "smallest", "expected"),
    [
        (768, 59, 1280),  # PETS09-S2L1: 768 * 120 / 59 = 1562, clamped
        (768, 80, 1152),  # 1152 exactly
        (768, 100, 928),  # 921.6 rounds up to 928
        (640, 150, 640),  # TUD-Stadtmitte: people are large, 512 -> the 640 floor
    ],
)
def test_size_rule(long_side: int, smallest: float, expected: int) -> None:
    assert rule_imgsz(long_side, smallest) == expected


def _result(imgsz: int, tiles: int, spf: float, share: float) -> CandidateResult:
    return CandidateResult(imgsz, tiles, spf, round(share * 100), share, 80.0)


def test_recommend_takes_the_fastest_good_enough_setting() -> None:
    results = [
        _result(640, 1, 0.05, 0.40),
        _result(960, 1, 0.10, 0.96),
        _result(1280, 1, 0.18, 1.00),
        _result(640, 2, 0.20, 0.97),
    ]
    assert (recommend(results).imgsz, recommend(results).tiles) == (960, 1)
    # nothing cheap is good enough: the best one it is
    assert recommend([_result(640, 1, 0.05, 0.5), _result(1280, 1, 0.2, 1.0)]).imgsz == 1280


def test_parse_candidates() -> None:
    assert parse_candidates("640, 960,1280,640x2") == [(640, 1), (960, 1), (1280, 1), (640, 2)]
    assert parse_candidates("4096x4") == [(4096, 4)]
    # 12800 for 1280: measured at a size branches.yaml refuses, so --write failed after the whole run
    for bad in ("640,abc", "650", "640x9", "", "12800", "4128"):
        with pytest.raises(InputError):
            parse_candidates(bad)


def test_the_library_names_its_parameters_or_the_callers_names(tmp_path: Path) -> None:
    # parse_candidates said "--try: ...", sample_frames "--frames must be ...", calibrate_camera
    # "--camera vtest needs --branch" and write_camera_settings "--write needs ...": flags a Python caller never wrote
    with pytest.raises(InputError, match=r"^candidates: expected sizes like 640,960,1280,640x2, got 'abc'"):
        parse_candidates("abc")
    with pytest.raises(InputError, match=r"^candidates: '650': imgsz must be a multiple of 32"):
        parse_candidates("650")
    with pytest.raises(InputError, match=r"^--try: expected sizes like 640,960,1280,640x2, got .x."):
        parse_candidates("x", "--try")
    video = write_video(tmp_path / "cam.avi", frames=3)
    with pytest.raises(InputError, match=r"^frames must be at least 1, got 0"):
        sample_frames(video, 0)
    with pytest.raises(InputError, match=r"^frames must be at least 1, got 0"):
        calibrate(video, SizeDependentDetector, frames=0)
    with pytest.raises(InputError, match=r"^--frames must be at least 1, got 0"):
        calibrate(video, SizeDependentDetector, frames=0, names={"frames": "--frames"})
    with pytest.raises(InputError, match=r"^camera vtest needs branch \(the branch the camera belongs to\)"):
        calibrate_camera(video, camera="vtest")
    nobody = CandidateResult(640, 1, 0.1, 0, 0.0, None)
    result = Calibration("cam.avi", (320, 240), 3, [nobody], nobody, None, None)
    with pytest.raises(InputError, match=r"sample more frames \(frames\) or a busier recording"):
        result.settings_to_write()
    with pytest.raises(InputError, match=r"sample more frames \(--frames\) or a busier recording"):
        result.settings_to_write({"frames": "--frames"})
    with pytest.raises(InputError, match=r"no such file; write_camera_settings needs the config directory"):
        write_camera_settings(tmp_path, "b1", "vtest", {"imgsz": 960})


class SizeDependentDetector:
    """Finds the tall person at any size, the small one only from imgsz 960 (like the real model)."""

    name = "fake"

    def __init__(self, imgsz: int, tiles: int) -> None:
        self.imgsz, self.tiles = imgsz, tiles

    def detect(self, frame: npt.NDArray[np.uint8], frame_index: int) -> Detections:
        boxes = [(10.0, 20.0, 50.0, 140.0, 0.9)]  # 120 px tall
        if self.imgsz * self.tiles >= 960:
            boxes.append((200.0, 100.0, 215.0, 140.0, 0.6))  # 40 px tall
        return Detections.from_boxes(boxes)


def test_calibrate_counts_people_per_setting_and_adds_the_size_rule(tmp_path: Path) -> None:
    video = write_video(tmp_path / "cam.avi", frames=40, size=(320, 240))
    result = calibrate(video, SizeDependentDetector, frames=8, candidates=[(640, 1), (960, 1)])
    by_size = {(c.imgsz, c.tiles): c for c in result.candidates}
    assert result.frames_sampled == 8 and result.frame_size == (320, 240)
    assert by_size[(640, 1)].people_found == 8 and by_size[(960, 1)].people_found == 16
    assert by_size[(640, 1)].share_of_best == 0.5 and by_size[(960, 1)].share_of_best == 1.0
    # the smallest people found are 40 px tall: 320 * 120 / 40 = 960, already a candidate
    assert result.small_person_px == pytest.approx(40.0)
    assert result.rule_imgsz == 960 and len(result.candidates) == 2
    assert (result.recommended.imgsz, result.recommended.tiles) == (960, 1)
    assert all(c.seconds_per_frame > 0 for c in result.candidates)


def test_calibrate_runs_the_rule_size_when_it_is_new(tmp_path: Path) -> None:
    video = write_video(tmp_path / "cam.avi", frames=20, size=(640, 480))
    result = calibrate(video, SizeDependentDetector, frames=4, candidates=[(640, 1), (1280, 1)])
    # smallest found 40 px in a 640-wide frame: 640 * 120 / 40 = 1920 -> 1280, already a candidate
    assert [(c.imgsz, c.tiles) for c in result.candidates] == [(640, 1), (1280, 1)]
    result = calibrate(video, SizeDependentDetector, frames=4, candidates=[(640, 1), (1280, 2)])
    assert (1280, 1) in [(c.imgsz, c.tiles) for c in result.candidates]
    assert any("size rule" in note for note in result.notes)


SAMPLE = """branches:
  - id: b1            # the shop
    name: High Street
    capacity: 40
    cameras:
      - id: door      # front door
        roi: [0, 0, 100, 100]
        imgsz: 640    # detector input size
        # tiles come next

      - id: till
        zone: [[0, 0], [50, 0], [50, 50]]
  - id: b2
    name: Other
    capacity: 10
    cameras:
      - id: door
        roi: [0, 0, 10, 10]
"""


def test_edit_replaces_a_value_and_keeps_its_comment() -> None:
    edited = edit_camera_text(SAMPLE, "b1", "door", {"imgsz": 1280}, Path("branches.yaml"))
    assert "        imgsz: 1280   # detector input size\n" in edited
    assert edited.count("imgsz") == 1
    assert edited.replace("imgsz: 1280   #", "imgsz: 640    #") == SAMPLE  # nothing else changed


def test_edit_adds_missing_keys_to_the_right_camera() -> None:
    edited = edit_camera_text(SAMPLE, "b2", "door", {"imgsz": 960, "tiles": 2}, Path("branches.yaml"))
    lines = edited.splitlines()
    at = lines.index("      - id: door", lines.index("  - id: b2"))
    assert lines[at + 1 : at + 4] == ["        roi: [0, 0, 10, 10]", "        imgsz: 960", "        tiles: 2"]
    # b1's door is untouched
    assert "        imgsz: 640    # detector input size" in lines


def test_edit_inserts_before_a_blank_line_and_the_next_camera() -> None:
    edited = edit_camera_text(SAMPLE, "b1", "till", {"tiles": 2}, Path("branches.yaml"))
    lines = edited.splitlines()
    assert lines[lines.index("        zone: [[0, 0], [50, 0], [50, 50]]") + 1] == "        tiles: 2"
    assert lines[lines.index("        tiles: 2") + 1] == "  - id: b2"


@pytest.mark.parametrize(("branch", "camera"), [("b9", "door"), ("b1", "back")])
def test_edit_names_what_it_could_not_find(branch: str, camera: str) -> None:
    with pytest.raises(InputError, match=f"id: {branch if branch == 'b9' else camera}"):
        edit_camera_text(SAMPLE, branch, camera, {"imgsz": 960}, Path("branches.yaml"))


def test_write_camera_settings_on_the_sample_config(tmp_path: Path) -> None:
    config = tmp_path / "config"
    shutil.copytree(ROOT / "config", config)
    before = (config / "branches.yaml").read_text()
    write_camera_settings(config, "b1", "vtest", {"imgsz": 960, "tiles": 2})
    after = (config / "branches.yaml").read_text()
    camera = load_config(config).camera("b1", "vtest")
    assert (camera.imgsz, camera.tiles) == (960, 2)
    # every comment line of the original is still there
    comments = [line for line in before.splitlines() if line.strip().startswith("#")]
    assert all(line in after.splitlines() for line in comments)
    assert len(after.splitlines()) <= len(before.splitlines()) + 2


def test_an_invalid_value_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    config = tmp_path / "config"
    shutil.copytree(ROOT / "config", config)
    before = (config / "branches.yaml").read_text()
    with pytest.raises(ConfigError, match="nothing was written"):
        write_camera_settings(config, "b1", "vtest", {"tiles": 9})  # at most 4
    assert (config / "branches.yaml").read_text() == before


def test_a_short_video_asked_for_more_frames_gives_each_frame_once(tmp_path: Path) -> None:
    from retail_intel.accuracy.calibrate import sample_frames

    from .fakes import write_video

    video = write_video(tmp_path / "short.avi", frames=3)
    frames, size = sample_frames(video, 8)
    assert size == (320, 240)
    assert len(frames) == 3  # not the last frame twice, counting its people twice
    assert len({frame.tobytes() for frame in frames}) == 3


def test_calibrate_says_it_started_before_reading_the_frames(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import cv2

    # "sampling 24 frames of X ..." came once the frames had been read (seeking through a long video
    # showed no line for that time); ``started`` is now called once the video is open, before any read
    events: list[str] = []
    real_capture = cv2.VideoCapture

    class RecordingCapture:
        def __init__(self, *args: object) -> None:
            self._capture = real_capture(*args)

        def read(self) -> tuple[bool, npt.NDArray[np.uint8]]:
            events.append("read")
            return self._capture.read()  # type: ignore[no-any-return]

        def __getattr__(self, name: str) -> object:
            return getattr(self._capture, name)

    monkeypatch.setattr(cv2, "VideoCapture", RecordingCapture)
    video = write_video(tmp_path / "cam.avi", frames=20)
    result = calibrate(
        video, SizeDependentDetector, frames=4, candidates=[(640, 1)], started=lambda: events.append("started")
    )
    assert result.frames_sampled == 4
    # the probe's one read of the first frame, then every sampled frame after the line
    assert events.count("started") == 1
    assert events[events.index("started") + 1 :].count("read") == 4, events
