"""Fakes for batch tests: videos that draw their people, and a detector that finds them again.

A scripted detector replays boxes by frame index, which cannot follow a
detector reused across videos (the batch loads one per worker) or cross a
process boundary. Here the people are drawn into the frames as white boxes
on a dark background and :class:`BlobDetector` finds those boxes by
thresholding: the footage alone decides what is detected, in any process.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from retail_intel.pipeline.plan import DetectorSpec, ProcessPlan
from retail_intel.vision.detections import Detections

from .fakes import Box, person_box

Scene = Callable[[int], list[Box]]  # frame index -> boxes
DELAY_ENV = "RETAIL_INTEL_TEST_DETECT_DELAY_S"


class BlobDetector:
    """Bright rectangles are people (confidence 0.9)."""

    name = "blobs"

    def __init__(self, delay_s: float = 0.0) -> None:
        self.delay_s = delay_s

    def detect(self, frame: npt.NDArray[np.uint8], frame_index: int) -> Detections:
        if self.delay_s:
            time.sleep(self.delay_s)
        grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        _, mask = cv2.threshold(grey, 128, 255, cv2.THRESH_BINARY)
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        boxes = []
        for contour in contours:
            x, y, w, h = cv2.boundingRect(contour)
            if w * h >= 100:
                boxes.append((float(x), float(y), float(x + w), float(y + h), 0.9))
        boxes.sort()
        return Detections.from_boxes(boxes)


def blob_factory(plan: ProcessPlan) -> BlobDetector:
    return BlobDetector(float(os.environ.get(DELAY_ENV, "0") or 0))


def blob_identity(spec: DetectorSpec) -> str:
    return "blobs-v1"


def write_scene(
    path: Path, scene: Scene, *, frames: int, first: int = 0, size: tuple[int, int] = (320, 240), fps: float = 10.0
) -> Path:
    """Frames ``first .. first+frames-1`` of ``scene`` as an MJPG AVI (a segment of a longer recording)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    assert writer.isOpened()
    for index in range(first, first + frames):
        frame = np.full((size[1], size[0], 3), 30, np.uint8)
        # a dim frame counter: every frame differs, but it is no person
        cv2.putText(frame, str(index), (4, size[1] - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (70, 70, 70), 1)
        for x1, y1, x2, y2, _ in scene(index):
            cv2.rectangle(frame, (round(x1), round(y1)), (round(x2), round(y2)), (255, 255, 255), thickness=-1)
        writer.write(frame)
    writer.release()
    return path


def walker(frame: int) -> list[Box]:
    """One person walks into the ROI (100..220 x 80..200) over 2 s and stands there."""
    return [person_box(20 + min(frame, 20) * 6, 150)]


def stayer_and_passers(frame: int) -> list[Box]:
    """A walks in (frames 0-19) and stands in the ROI until frame 110, then walks out right.

    B crosses the ROI from right to left over frames 30-60 (inside about 1.2 s): passed.
    C crosses over frames 85-115.
    """
    boxes = []
    ax = 20 + min(frame, 20) * 6 if frame <= 110 else 140 + (frame - 110) * 12
    if ax < 320:
        boxes.append(person_box(ax, 150))
    for begin in (30, 85):
        if begin <= frame <= begin + 30:
            boxes.append(person_box(310 - (frame - begin) * 10, 85))
    return boxes
