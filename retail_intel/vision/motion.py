"""Skip inference on frames where nothing moved.

Night-time and quiet-hour footage is mostly an empty, still scene. Comparing a
small grey copy of each frame with the last frame the detector saw costs well
under a millisecond; when too few pixels changed, that frame's detections are
reused and the frame costs only its decode.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

# The comparison runs on a copy this many pixels wide.
WORK_WIDTH = 192
# A pixel "changed" when its grey level moved by more than this (0-255),
# above sensor noise and compression flicker.
PIXEL_DELTA = 18


class MotionGate:
    """``should_detect(frame)`` is False when the frame barely differs from the last detected one."""

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold
        self._reference: npt.NDArray[np.uint8] | None = None

    def _small(self, frame: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
        height, width = frame.shape[:2]
        size = (WORK_WIDTH, max(1, round(height * WORK_WIDTH / width)))
        grey = cv2.cvtColor(cv2.resize(frame, size, interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2GRAY)
        return np.asarray(cv2.GaussianBlur(grey, (3, 3), 0), dtype=np.uint8)

    def changed_share(self, frame: npt.NDArray[np.uint8]) -> float:
        """Share of pixels that changed since the reference frame (1.0 when there is none)."""
        if self._reference is None:
            return 1.0
        diff = cv2.absdiff(self._small(frame), self._reference)
        return float(np.count_nonzero(diff > PIXEL_DELTA)) / diff.size

    def remember(self, frame: npt.NDArray[np.uint8]) -> None:
        """Make ``frame`` the reference: it was detected without asking the gate."""
        if self.threshold > 0:
            self._reference = self._small(frame)

    def should_detect(self, frame: npt.NDArray[np.uint8]) -> bool:
        if self.threshold <= 0:
            return True
        small = self._small(frame)
        if self._reference is not None:
            diff = cv2.absdiff(small, self._reference)
            if np.count_nonzero(diff > PIXEL_DELTA) < self.threshold * diff.size:
                return False
        self._reference = small
        return True
