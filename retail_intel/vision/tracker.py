"""ByteTrack (Ultralytics' implementation) over our :class:`Detections`."""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np
import numpy.typing as npt

from retail_intel.vision.detections import Detections
from retail_intel.vision.offline import prepare_ultralytics


@dataclass(frozen=True)
class TrackerSettings:
    """ByteTrack thresholds; ``track_buffer_s`` is converted to frames at the real fps."""

    track_high_thresh: float = 0.25
    track_low_thresh: float = 0.1
    new_track_thresh: float = 0.3
    track_buffer_s: float = 3.0
    match_thresh: float = 0.8
    fuse_score: bool = True


class _Boxes:
    """The minimal results-like object BYTETracker.update reads (conf, cls, xywh, indexing)."""

    def __init__(self, xyxy: npt.NDArray[np.float32], conf: npt.NDArray[np.float32]) -> None:
        self.xyxy = xyxy
        self.conf = conf
        self.cls = np.zeros_like(conf)
        xywh = np.empty_like(xyxy)
        xywh[:, 0] = (xyxy[:, 0] + xyxy[:, 2]) / 2
        xywh[:, 1] = (xyxy[:, 1] + xyxy[:, 3]) / 2
        xywh[:, 2] = xyxy[:, 2] - xyxy[:, 0]
        xywh[:, 3] = xyxy[:, 3] - xyxy[:, 1]
        self.xywh = xywh

    def __len__(self) -> int:
        return len(self.conf)

    def __getitem__(self, index: Any) -> _Boxes:
        return _Boxes(self.xyxy[index], self.conf[index])


@dataclass(frozen=True)
class TrackedBoxes:
    """Boxes that ByteTrack confirmed in one frame, with their track ids."""

    track_ids: npt.NDArray[np.int64]
    xyxy: npt.NDArray[np.float32]
    confidence: npt.NDArray[np.float32]


class ByteTracker:
    """Stateful multi-object tracker; call :meth:`update` once per processed frame."""

    def __init__(self, settings: TrackerSettings, fps: float) -> None:
        prepare_ultralytics()
        from ultralytics.trackers.byte_tracker import BYTETracker

        args = SimpleNamespace(
            tracker_type="bytetrack",
            track_high_thresh=settings.track_high_thresh,
            track_low_thresh=settings.track_low_thresh,
            new_track_thresh=settings.new_track_thresh,
            track_buffer=max(1, round(settings.track_buffer_s * fps)),
            match_thresh=settings.match_thresh,
            fuse_score=settings.fuse_score,
        )
        self._tracker = BYTETracker(args)

    def update(self, detections: Detections) -> TrackedBoxes:
        out = self._tracker.update(_Boxes(detections.xyxy, detections.confidence))
        if len(out) == 0:
            return TrackedBoxes(np.zeros(0, np.int64), np.zeros((0, 4), np.float32), np.zeros(0, np.float32))
        return TrackedBoxes(out[:, 4].astype(np.int64), out[:, :4].astype(np.float32), out[:, 5].astype(np.float32))
