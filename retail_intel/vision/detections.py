"""The typed data that flows from the detector to the tracker, and the Detector protocol."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Detections:
    """Person boxes found in one frame: ``xyxy`` is (N, 4) pixels, ``confidence`` (N,)."""

    xyxy: FloatArray
    confidence: FloatArray

    def __post_init__(self) -> None:
        if self.xyxy.shape != (len(self.confidence), 4):
            raise ValueError(f"xyxy must be ({len(self.confidence)}, 4), got {self.xyxy.shape}")

    def __len__(self) -> int:
        return len(self.confidence)

    @classmethod
    def empty(cls) -> Detections:
        return cls(np.zeros((0, 4), np.float32), np.zeros((0,), np.float32))

    @classmethod
    def from_boxes(cls, boxes: list[tuple[float, float, float, float, float]]) -> Detections:
        """From ``[(x1, y1, x2, y2, confidence), ...]``: handy for scripted detections."""
        if not boxes:
            return cls.empty()
        array = np.asarray(boxes, dtype=np.float32)
        return cls(array[:, :4].copy(), array[:, 4].copy())

    def filter(self, keep: npt.NDArray[np.bool_]) -> Detections:
        return Detections(self.xyxy[keep], self.confidence[keep])


class Detector(Protocol):
    """Anything that finds people in a BGR frame.

    ``name`` identifies the model in the output rows; ``frame_index`` lets a
    scripted fake replay detections without decoding pixels.
    """

    name: str

    def detect(self, frame: npt.NDArray[np.uint8], frame_index: int) -> Detections: ...
