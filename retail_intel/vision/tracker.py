"""ByteTrack (Ultralytics' implementation) over our :class:`Detections`.

Driven through its public contract: ``BYTETracker.update`` takes NumPy-backed
``ultralytics.engine.results.Boxes`` and returns ``[x1, y1, x2, y2, track_id,
score, cls, idx]`` rows; its settings start from Ultralytics' own
``bytetrack.yaml`` with ours laid over them. Ultralytics' tracker is the one our
published accuracy was measured with, so it stays (see docs/counting.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

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
    # a lost track moving slower than this (person heights per second) is predicted to stay where
    # it was, not to drift on at its last, occlusion-jittered velocity: a stationary prior for
    # people standing hidden in a group. 0 keeps Ultralytics' constant-velocity prediction.
    lost_still_speed: float = 0.0


class ByteTracker:
    """Stateful multi-object tracker; call :meth:`update` once per processed frame."""

    def __init__(self, settings: TrackerSettings, fps: float) -> None:
        prepare_ultralytics()
        from ultralytics.trackers.byte_tracker import BYTETracker
        from ultralytics.utils import YAML, IterableSimpleNamespace
        from ultralytics.utils.checks import check_yaml

        config: dict[str, Any] = dict(YAML.load(check_yaml("bytetrack.yaml")))
        config.update(
            tracker_type="bytetrack",
            track_high_thresh=settings.track_high_thresh,
            track_low_thresh=settings.track_low_thresh,
            new_track_thresh=settings.new_track_thresh,
            track_buffer=max(1, round(settings.track_buffer_s * fps)),
            match_thresh=settings.match_thresh,
            fuse_score=settings.fuse_score,
        )
        self._tracker = BYTETracker(IterableSimpleNamespace(**config))
        if settings.lost_still_speed > 0:
            self._tracker.multi_predict = _still_prior(settings.lost_still_speed, fps)

    def coast(self) -> None:
        """Let one frame pass unseen: the clock advances and every track moves on by its Kalman prediction.

        Adaptive stride skips frames; coasting through them keeps ByteTrack's clock in real
        frames, so its lost-track buffer and every velocity stay per frame, as on a detected
        frame (its ``update`` predicts the same tracks once per call before matching).
        """
        tracker = self._tracker
        tracker.frame_id += 1
        confirmed = [track for track in tracker.tracked_stracks if track.is_activated]
        tracker.multi_predict(confirmed + tracker.lost_stracks)  # disjoint lists, as update pools them

    @property
    def tentative(self) -> int:
        """Tracks started on a detection that matched nobody and not yet confirmed (a new or a lost person)."""
        return sum(1 for track in self._tracker.tracked_stracks if not track.is_activated)

    def update(self, detections: Detections, frame_shape: tuple[int, int] = (0, 0)) -> Detections:
        """The boxes ByteTrack confirmed in this frame, with their ``tracker_id``."""
        from ultralytics.engine.results import Boxes

        data = np.zeros((len(detections), 6), np.float32)  # x1, y1, x2, y2, conf, class (person = 0)
        data[:, :4] = detections.xyxy
        data[:, 4] = detections.confidence
        out = self._tracker.update(Boxes(data, frame_shape))
        if len(out) == 0:
            return Detections.empty(tracked=True)
        return Detections(
            out[:, :4].astype(np.float32), out[:, 5].astype(np.float32), tracker_id=out[:, 4].astype(np.int64)
        )


def _still_prior(still_speed: float, fps: float) -> Any:
    """``BYTETracker.multi_predict`` that stops slow lost tracks before predicting (see ``lost_still_speed``)."""
    from ultralytics.trackers.basetrack import TrackState
    from ultralytics.trackers.byte_tracker import STrack

    def multi_predict(tracks: list[Any]) -> None:
        for track in tracks:
            mean = track.mean
            if track.state == TrackState.Tracked or mean is None or mean[3] <= 0:
                continue
            # Kalman state: x, y, aspect, height, then their velocities per frame
            if float(np.hypot(mean[4], mean[5])) * fps / float(mean[3]) < still_speed:
                track.mean = mean.copy()
                track.mean[4:6] = 0.0
        STrack.multi_predict(tracks)

    return multi_predict
