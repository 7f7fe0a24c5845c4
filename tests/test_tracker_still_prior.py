"""The tracker's stationary prior for lost tracks (``TrackerSettings.lost_still_speed``, issue 15).

Measured on every clip and not adopted (docs/accuracy.md, people hidden in standing groups); the
tests pin what it does so the measurement can be repeated: a lost track slower than the threshold
is predicted where it was, a faster one keeps Ultralytics' constant-velocity prediction.
"""

from __future__ import annotations

import numpy as np

from retail_intel.vision.detections import Detections
from retail_intel.vision.tracker import PersonTracker, TrackerSettings

FPS = 10.0


def box(x: float, y: float = 300.0, h: float = 100.0) -> Detections:
    """One person whose feet are at (x, y), 100 px tall, detected with confidence 0.9."""
    xyxy = np.array([[x - 20, y - h, x + 20, y]], dtype=np.float32)
    return Detections(xyxy, np.array([0.9], dtype=np.float32))


def lost_position(speed_px_per_frame: float, still_speed: float, misses: int = 8) -> float:
    """Where the tracker predicts a person walking at ``speed`` after ``misses`` frames unseen."""
    tracker = PersonTracker(TrackerSettings(lost_still_speed=still_speed), FPS)
    x = 100.0
    for _ in range(20):
        tracker.update(box(x), (480, 640))
        x += speed_px_per_frame
    for _ in range(misses):
        tracker.update(Detections.empty(), (480, 640))
    (lost,) = tracker._tracker.lost_stracks
    return float(lost.mean[0])


def test_a_slow_lost_track_stays_where_it_was_seen() -> None:
    # 1 px/frame at 10 fps = 0.1 heights/s: under 0.3, so it is held in place
    last_seen = 100.0 + 19 * 1.0
    drifting = lost_position(1.0, still_speed=0.0)
    held = lost_position(1.0, still_speed=0.3)
    assert drifting > last_seen + 5  # constant velocity: it walks on while unseen
    assert abs(held - last_seen) < 2.0


def test_a_walking_lost_track_keeps_its_velocity() -> None:
    # 6 px/frame = 0.6 heights/s: over the threshold, predicted as without the prior
    assert lost_position(6.0, still_speed=0.3) == lost_position(6.0, still_speed=0.0)
