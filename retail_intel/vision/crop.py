"""Detect only where it matters: the part of the frame around the ROI, line and zones.

With ``detect_margin`` set, the detector sees only the bounding box of the
camera's regions (ROI or zone, counting line, pass-by zone) grown by that many
pixels on each side, at the same pixels-per-person as the whole frame would
get (the input size shrinks with the crop, which is where the time is saved),
and its boxes are shifted back into frame coordinates. People who never come
within the margin are never seen; people cut by the crop edge get a clipped
box, so the margin should hold the approach to the regions, not just the
regions.

Pure geometry plus a wrapper around any detector; no video or model code here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from retail_intel.config.camera_settings import CameraSettings
from retail_intel.vision.detections import Detections, Detector, detector_backend

Region = tuple[float, float, float, float]
STRIDE = 32  # YOLO input sides are multiples of this


def watched_region(settings: CameraSettings) -> Region | None:
    """Bounding box (x1, y1, x2, y2) of the camera's regions grown by ``detect_margin``; None when unset."""
    if settings.detect_margin is None:
        return None
    points: list[tuple[float, float]] = []
    if settings.roi is not None:
        x1, y1, x2, y2 = settings.roi
        points += [(x1, y1), (x2, y2)]
    for polygon in (settings.zone, settings.passby_zone, *(z.polygon for z in settings.zones or ())):
        points += list(polygon or [])
    if settings.line is not None:
        points += [settings.line.start, settings.line.end]
    if not points:
        return None
    margin = settings.detect_margin
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return (min(xs) - margin, min(ys) - margin, max(xs) + margin, max(ys) + margin)


def crop_box(region: Region, width: int, height: int) -> tuple[int, int, int, int]:
    """``region`` clipped to a ``width`` x ``height`` frame, in whole pixels (never empty)."""
    x1 = min(max(0, math.floor(region[0])), width - 1)
    y1 = min(max(0, math.floor(region[1])), height - 1)
    x2 = max(min(width, math.ceil(region[2])), x1 + 1)
    y2 = max(min(height, math.ceil(region[3])), y1 + 1)
    return x1, y1, x2, y2


def crop_imgsz(imgsz: int, box: tuple[int, int, int, int], width: int, height: int) -> int:
    """Input size for the crop that keeps the full frame's scale (``imgsz`` per long frame side)."""
    long_crop = max(box[2] - box[0], box[3] - box[1])
    scaled = imgsz * long_crop / max(width, height)
    return max(STRIDE, min(imgsz, int(math.ceil(scaled / STRIDE) * STRIDE)))


def shift(found: Detections, dx: float, dy: float) -> Detections:
    offset = np.array([dx, dy, dx, dy], dtype=found.xyxy.dtype)
    return Detections(found.xyxy + offset, found.confidence, found.tracker_id)


@dataclass
class CroppedDetector:
    """Runs ``inner`` on the watched region of each frame; boxes come back in frame coordinates.

    ``inner`` must read its input size from an ``imgsz`` attribute (both backends do): it is set
    per batch so the crop keeps the full frame's scale.
    """

    inner: Detector
    region: Region
    imgsz: int
    name: str = field(init=False)

    def __post_init__(self) -> None:
        self.name = self.inner.name

    @property
    def backend(self) -> str | None:
        return detector_backend(self.inner)

    @property
    def batch_size(self) -> int:
        return int(getattr(self.inner, "batch_size", 1))

    def _boxes(self, frames: Iterable[npt.NDArray[np.uint8]]) -> list[tuple[int, int, int, int]]:
        return [crop_box(self.region, f.shape[1], f.shape[0]) for f in frames]

    def detect_batch(self, frames: list[npt.NDArray[np.uint8]], frame_indices: list[int]) -> list[Detections]:
        out: list[Detections] = []
        boxes = self._boxes(frames)
        # frames of one size share one crop and one input size: detect them together
        start = 0
        while start < len(frames):
            end = start
            while end < len(frames) and frames[end].shape == frames[start].shape:
                end += 1
            height, width = frames[start].shape[:2]
            x1, y1, x2, y2 = boxes[start]
            self.inner.imgsz = crop_imgsz(self.imgsz, boxes[start], width, height)  # type: ignore[attr-defined]
            crops = [np.ascontiguousarray(f[y1:y2, x1:x2]) for f in frames[start:end]]
            if hasattr(self.inner, "detect_batch"):
                found = self.inner.detect_batch(crops, frame_indices[start:end])
            else:
                found = [self.inner.detect(c, i) for c, i in zip(crops, frame_indices[start:end], strict=True)]
            out.extend(shift(d, x1, y1) for d in found)
            start = end
        return out

    def detect(self, frame: npt.NDArray[np.uint8], frame_index: int) -> Detections:
        return self.detect_batch([frame], [frame_index])[0]
