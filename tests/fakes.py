"""Test doubles: a scripted detector and tiny synthetic videos."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from retail_intel.movements.tracks import Track
from retail_intel.vision.detections import Detections

Box = tuple[float, float, float, float, float]


class ScriptedDetector:
    """Replays ``script(frame_index) -> boxes`` instead of running a model."""

    name = "scripted"

    def __init__(self, script: Callable[[int], list[Box]]) -> None:
        self.script = script
        self.calls: list[int] = []

    def detect(self, frame: npt.NDArray[np.uint8], frame_index: int) -> Detections:
        self.calls.append(frame_index)
        return Detections.from_boxes(self.script(frame_index))


def write_video(
    path: Path, frames: int = 60, size: tuple[int, int] = (320, 240), fps: float = 10.0, still_from: int | None = None
) -> Path:
    """A small MJPG AVI whose frames differ (a frame counter), or stay still from frame ``still_from`` on."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    assert writer.isOpened()
    for i in range(frames):
        frame = np.full((size[1], size[0], 3), 40, np.uint8)
        label = str(i if still_from is None else min(i, still_from))
        cv2.putText(frame, label, (10, 30), cv2.FONT_HERSHEY_SIMPLEX, 1, (255, 255, 255), 2)
        writer.write(frame)
    writer.release()
    return path


def person_box(cx: float, foot_y: float, h: float = 60.0, conf: float = 0.9) -> Box:
    return (cx - h / 4, foot_y - h, cx + h / 4, foot_y, conf)


def two_people(frame: int) -> list[Box]:
    """Person A walks into the ROI (100..220 x 80..200) and stays; person B crosses it fast.

    At 10 fps: A walks in from the left over frames 0-19, stands inside 20-59.
    B crosses the middle band from right to left over frames 10-40 (inside for 1.2 s).
    """
    boxes = []
    ax = 20 + min(frame, 20) * 6  # 20 -> 140
    boxes.append(person_box(ax, 150))
    if 10 <= frame <= 40:
        bx = 310 - (frame - 10) * 10  # 310 -> 10 in 30 frames
        boxes.append(person_box(bx, 110))
    return boxes


def segment(
    track_id: int, t0: float, t1: float, a: tuple[float, float], b: tuple[float, float], h: float = 100
) -> Track:
    """A person walking straight from ``a`` to ``b`` between ``t0`` and ``t1`` seconds, sampled at 10 fps."""
    fps = 10
    n = round((t1 - t0) * fps) + 1
    return Track.from_samples(
        track_id,
        [
            (t0 + i / fps, a[0] + (b[0] - a[0]) * i / (n - 1), a[1] + (b[1] - a[1]) * i / (n - 1), h, 0.8)
            for i in range(n)
        ],
        fps=fps,
    )
