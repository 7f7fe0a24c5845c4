"""The video core: one frame loop for every caller, stored tracks re-judged, previews kept apart."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from retail_intel.live.session import LiveOptions, process_stream
from retail_intel.movements.schema import TRACK_SCHEMA
from retail_intel.movements.store import movement_files, read_movements, read_tracks
from retail_intel.pipeline import loop as loop_module
from retail_intel.pipeline.loop import FrameLoop, LoopFrame
from retail_intel.pipeline.plan import ProcessRequest, make_plan
from retail_intel.pipeline.run import process_video
from retail_intel.pipeline.video_tracks import source_key
from retail_intel.storage import PREVIEWS_DIR
from retail_intel.vision.detections import Detections
from retail_intel.vision.detector import UltralyticsDetector, tile_grid
from retail_intel.vision.video import fingerprint

from .fakes import ScriptedDetector, two_people, write_video
from .live_fakes import FakeClock, Frames, ScriptedSource

START = dt.datetime(2026, 2, 8, 10, 0, tzinfo=dt.UTC)
ROI = "100,80,220,200"


class CountingFactory:
    """Hands out scripted detectors and counts how often one was needed."""

    def __init__(self, script: Any = two_people) -> None:
        self.script = script
        self.made = 0

    def __call__(self, plan: object) -> ScriptedDetector:
        self.made += 1
        return ScriptedDetector(self.script)


def process(video: Path, data: Path, factory: CountingFactory, **settings: Any) -> Any:
    settings.setdefault("roi", ROI)
    plan = make_plan(ProcessRequest.create(video, "b1", data, start_time=START, **settings))
    return process_video(plan, detector_factory=factory)


def movement_rows(data: Path) -> list[tuple[Any, ...]]:
    keep = ("customer_id", "action_type", "enter_time", "exit_time", "dwell_seconds", "exit_observed", "track_id")
    return sorted(tuple(r[k] for k in keep) for r in read_movements(data).to_pylist())


def test_a_new_roi_rejudges_the_stored_tracks_with_the_same_rows_as_a_full_run(tmp_path: Path) -> None:
    video = write_video(tmp_path / "cam.avi")
    factory = CountingFactory()
    first = process(video, tmp_path / "data", factory)
    assert factory.made == 1 and first.summary.tracks == "detected"
    before = movement_rows(tmp_path / "data")
    stored = read_tracks(tmp_path / "data", source_key("cam1", fingerprint(video)))
    assert stored is not None and stored.table.schema.names == TRACK_SCHEMA.names and stored.table.num_rows > 0

    narrow = "100,80,160,200"
    again = process(video, tmp_path / "data", factory, roi=narrow, min_dwell="1s")
    assert factory.made == 1  # nothing detected again
    assert again.summary.tracks.startswith("reused")
    assert again.summary.frames == first.summary.frames and again.summary.fps == first.summary.fps

    fresh = process(video, tmp_path / "fresh", CountingFactory(), roi=narrow, min_dwell="1s")
    assert fresh.summary.tracks == "detected"
    assert movement_rows(tmp_path / "data") == movement_rows(tmp_path / "fresh")
    assert movement_rows(tmp_path / "data") != before  # the narrower ROI did change the judgement


def test_a_tracking_setting_detects_again(tmp_path: Path) -> None:
    video = write_video(tmp_path / "cam.avi")
    factory = CountingFactory()
    process(video, tmp_path / "data", factory)
    process(video, tmp_path / "data", factory, new_track_conf=0.9)
    assert factory.made == 2
    process(video, tmp_path / "data", factory, new_track_conf=0.9)  # same again: reused
    assert factory.made == 2


def test_a_preview_never_replaces_the_full_result(tmp_path: Path) -> None:
    video = write_video(tmp_path / "cam.avi")
    data = tmp_path / "data"
    process(video, data, CountingFactory())
    full = movement_rows(data)
    full_files = {p: p.read_bytes() for p in (data / "movements").rglob("*.parquet")}
    plan = make_plan(ProcessRequest.create(video, "b1", data, start_time=START, max_frames=12, roi=ROI))
    preview = process_video(plan, detector_factory=CountingFactory())
    assert preview.summary.preview and preview.summary.frames == 12
    assert preview.output.is_relative_to(data / PREVIEWS_DIR)
    assert movement_rows(data) == full  # the full result is untouched
    assert {p: p.read_bytes() for p in (data / "movements").rglob("*.parquet")} == full_files
    assert len(movement_files(data / PREVIEWS_DIR)) == 1


class BatchingScripted(ScriptedDetector):
    """A scripted detector that takes frames four at a time, as OpenVINO does."""

    batch_size = 4

    def detect_batch(self, frames: list[npt.NDArray[np.uint8]], frame_indices: list[int]) -> list[Detections]:
        return [self.detect(f, i) for f, i in zip(frames, frame_indices, strict=True)]


def test_live_and_file_give_identical_tracks_on_the_same_frames(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[list[LoopFrame]] = []
    original = FrameLoop.flush

    def recording_flush(self: FrameLoop) -> list[LoopFrame]:
        out = original(self)
        seen[-1].extend(out)
        return out

    monkeypatch.setattr(loop_module.FrameLoop, "flush", recording_flush)

    def boxes(frames: list[LoopFrame]) -> dict[int, list[tuple[int, tuple[float, ...]]]]:
        out = {}
        for f in frames:
            if f.tracked is not None and f.tracked.tracker_id is not None:
                out[f.index] = sorted(
                    zip(f.tracked.tracker_id.tolist(), map(tuple, f.tracked.xyxy.tolist()), strict=True)
                )
        return out

    # the file: 80 frames at 10 fps, read in order
    seen.append([])
    video = write_video(tmp_path / "cam.avi", frames=80)
    process_video(
        make_plan(ProcessRequest.create(video, "b1", tmp_path / "file", start_time=START, roi=ROI)),
        detector_factory=lambda plan: BatchingScripted(two_people),
    )
    # the stream: the same 80 frames as they arrive, in bursts of whatever is waiting
    seen.append([])
    clock = FakeClock()
    process_stream(
        make_plan(ProcessRequest.create(Path("live"), "b1", tmp_path / "live", roi=ROI, fps=10.0)),
        LiveOptions(url="rtsp://cam", flush_s=5.0, duration_s=20.0, session_id="S1"),
        detector_factory=lambda plan: BatchingScripted(two_people),
        source=ScriptedSource(clock, [Frames(80)]),
        clock=clock,
    )
    file_boxes, live_boxes = boxes(seen[0]), boxes(seen[1])
    assert len(file_boxes) == 80 and file_boxes == live_boxes


def test_the_tile_grid_follows_the_frame_size_mid_stream() -> None:
    class Result:
        def __init__(self, crop: npt.NDArray[np.uint8]) -> None:
            h, w = crop.shape[:2]

            class Boxes:  # one box filling the crop, as the model would return it
                xyxy = _Tensor(np.array([[w * 0.4, h * 0.2, w * 0.6, h * 0.9]], np.float32))
                conf = _Tensor(np.array([0.9], np.float32))

            self.boxes = Boxes

    class Model:
        def predict(self, crops: list[npt.NDArray[np.uint8]], **_: Any) -> list[Result]:
            return [Result(c) for c in crops]

    detector = UltralyticsDetector.__new__(UltralyticsDetector)
    detector.tiles, detector.imgsz, detector.conf, detector.iou, detector.device = 2, 640, 0.1, 0.6, None
    detector._model = Model()
    small = detector.detect(np.zeros((240, 320, 3), np.uint8), 0)
    large = detector.detect(np.zeros((480, 640, 3), np.uint8), 1)
    assert tile_grid(320, 240, 2) != tile_grid(640, 480, 2)
    # boxes of the larger frame reach into its right half: it was not cut to the first frame's size
    assert float(large.xyxy[:, 2].max()) > 320
    assert float(small.xyxy[:, 2].max()) <= 320


class _Tensor:
    def __init__(self, array: npt.NDArray[np.float32]) -> None:
        self.array = array

    def cpu(self) -> _Tensor:
        return self

    def numpy(self) -> npt.NDArray[np.float32]:
        return self.array
