"""The typed data that flows from the detector to the tracker and on, and the Detector protocol.

:class:`Detections` uses supervision's field names (``xyxy``, ``confidence``,
``tracker_id``), so a user who works with ``supervision`` converts with
``sv.Detections(xyxy=d.xyxy, confidence=d.confidence, tracker_id=d.tracker_id)``.
The detector fills boxes and confidences; the tracker returns the boxes it
confirmed with their ``tracker_id``; the track accumulator reads those.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Detections:
    """Person boxes in one frame: ``xyxy`` (N, 4) pixels, ``confidence`` (N,), ``tracker_id`` (N,) once tracked."""

    xyxy: FloatArray
    confidence: FloatArray
    tracker_id: IntArray | None = None

    def __post_init__(self) -> None:
        if self.xyxy.shape != (len(self.confidence), 4):
            raise ValueError(f"xyxy must be ({len(self.confidence)}, 4), got {self.xyxy.shape}")
        if self.tracker_id is not None and self.tracker_id.shape != (len(self.confidence),):
            raise ValueError(f"tracker_id must be ({len(self.confidence)},), got {self.tracker_id.shape}")

    def __len__(self) -> int:
        return len(self.confidence)

    @classmethod
    def empty(cls, *, tracked: bool = False) -> Detections:
        return cls(
            np.zeros((0, 4), np.float32), np.zeros((0,), np.float32), np.zeros((0,), np.int64) if tracked else None
        )

    @classmethod
    def from_boxes(cls, boxes: list[tuple[float, float, float, float, float]]) -> Detections:
        """From ``[(x1, y1, x2, y2, confidence), ...]``: handy for scripted detections."""
        if not boxes:
            return cls.empty()
        array = np.asarray(boxes, dtype=np.float32)
        return cls(array[:, :4].copy(), array[:, 4].copy())

    def filter(self, keep: npt.NDArray[np.bool_]) -> Detections:
        return Detections(
            self.xyxy[keep], self.confidence[keep], self.tracker_id[keep] if self.tracker_id is not None else None
        )


class Detector(Protocol):
    """Anything that finds people in a BGR frame.

    ``name`` identifies the model in the output rows; ``frame_index`` lets a
    scripted fake replay detections without decoding pixels.
    """

    name: str

    def detect(self, frame: npt.NDArray[np.uint8], frame_index: int) -> Detections: ...


def detector_backend(detector: Detector) -> str | None:
    """The engine ``detector`` runs on ("openvino" or "torch"), from its ``backend`` attribute; None
    for one that does not say (a fake, a replay). Not part of :class:`Detector`: those need not have it."""
    backend = getattr(detector, "backend", None)
    return backend if isinstance(backend, str) else None
