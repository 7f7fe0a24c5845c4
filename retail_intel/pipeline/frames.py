"""Scheduling frames for the detector: stride, still frames, and batches.

Frames arrive in order; each is either not due (stride), still (the motion
gate says nothing moved: the last detections are reused) or detected. Due
frames are sent to the detector ``batch_size`` at a time when it can work on
several at once (OpenVINO runs two inference streams on two cores), and the
results come back out in frame order for the tracker.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from retail_intel.vision.detections import Detections, Detector
from retail_intel.vision.motion import MotionGate

Frame = npt.NDArray[np.uint8]
# A batch is cut at this many buffered frames even if few of them need the
# detector, so a long still stretch never holds many decoded frames in memory.
MAX_BUFFERED = 32


class BatchDetector(Detector, Protocol):
    batch_size: int

    def detect_batch(self, frames: list[Frame], frame_indices: list[int]) -> list[Detections]: ...


@dataclass
class ScheduledFrame:
    index: int
    frame: Frame
    detections: Detections | None  # None: not due (stride)
    still: bool  # due, but reused the last detections


@dataclass
class SchedulerStats:
    detected: int = 0
    still: int = 0
    inference_s: float = 0.0


def _run(detector: Detector, frames: list[Frame], indices: list[int]) -> list[Detections]:
    if len(frames) > 1 and hasattr(detector, "detect_batch"):
        batch: BatchDetector = detector  # type: ignore[assignment]
        return batch.detect_batch(frames, indices)
    return [detector.detect(f, i) for f, i in zip(frames, indices, strict=True)]


def schedule(
    frames: Iterable[tuple[int, Frame]],
    detector: Detector,
    *,
    stride: int,
    gate: MotionGate,
    stats: SchedulerStats,
) -> Iterator[ScheduledFrame]:
    """Yield every frame in order with its detections (fresh, reused, or None when not due)."""
    batch_size = max(1, int(getattr(detector, "batch_size", 1)))
    buffer: list[tuple[int, Frame, str]] = []
    last: Detections | None = None

    def flush() -> Iterator[ScheduledFrame]:
        nonlocal last
        due = [(i, f) for i, f, kind in buffer if kind == "detect"]
        t0 = time.perf_counter()
        results = dict(zip((i for i, _ in due), _run(detector, [f for _, f in due], [i for i, _ in due]), strict=True))
        stats.inference_s += time.perf_counter() - t0
        for index, frame, kind in buffer:
            if kind == "detect":
                last = results[index]
                stats.detected += 1
                yield ScheduledFrame(index, frame, last, False)
            elif kind == "still":
                stats.still += 1
                yield ScheduledFrame(index, frame, last if last is not None else Detections.empty(), True)
            else:
                yield ScheduledFrame(index, frame, None, False)
        buffer.clear()

    for index, frame in frames:
        kind = "stride" if index % stride != 0 else "detect" if gate.should_detect(frame) else "still"
        buffer.append((index, frame, kind))
        due = sum(1 for *_, k in buffer if k == "detect")
        if due >= batch_size or len(buffer) >= MAX_BUFFERED or (batch_size == 1 and kind != "detect"):
            yield from flush()
    if buffer:
        yield from flush()
