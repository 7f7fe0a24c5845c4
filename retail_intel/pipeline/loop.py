"""The one frame loop: schedule, detect, track and collect frames, in order.

Files, batch segments, live streams, ``calibrate`` and ``audit`` all drive
:class:`FrameLoop`; what they do with the result (write files, keep a ledger,
flush live people, show progress) stays with them.

Each frame that comes in is either not due (``stride``), still (the motion
gate says nothing moved since the last detected frame: its detections are
reused) or detected. Due frames go to the detector ``batch_size`` at a time
when it can work on several at once (OpenVINO runs two inference streams on
two cores), and come back out in frame order through the tracker into the
sink (a track accumulator, or a live session's open fragments).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt

from retail_intel.vision.detections import Detections, Detector
from retail_intel.vision.motion import MotionGate
from retail_intel.vision.tracker import ByteTracker, TrackerSettings

Frame = npt.NDArray[np.uint8]
# A batch is cut at this many buffered frames even if few of them need the
# detector, so a long still stretch never holds many decoded frames in memory.
MAX_BUFFERED = 32
_Kind = Literal["stride", "still", "detect"]


class BatchDetector(Detector, Protocol):
    batch_size: int

    def detect_batch(self, frames: list[Frame], frame_indices: list[int]) -> list[Detections]: ...


class TrackSink(Protocol):
    """Where tracked boxes go, frame by frame (:class:`~retail_intel.movements.tracks.TrackAccumulator`)."""

    def add(
        self,
        frame: int,
        t: float,
        boxes: Detections,
        appearance: npt.NDArray[np.float32] | None = None,
        uniform: npt.NDArray[np.float32] | None = None,
    ) -> None: ...


# (BGR frame, (N, 4) boxes) -> one appearance descriptor row per box
Describe = Callable[[Frame, npt.NDArray[np.float32]], npt.NDArray[np.float32]]
# (BGR frame, (N, 4) boxes) -> one share per box (the staff rule's uniform colour on the upper body)
Measure = Callable[[Frame, npt.NDArray[np.float32]], npt.NDArray[np.float32]]


@dataclass(frozen=True)
class LoopSettings:
    """The tracking settings the loop needs, from a resolved plan."""

    stride: int
    motion_threshold: float
    tracker: TrackerSettings
    fps: float  # the video's true frame rate


@dataclass
class LoopStats:
    """What the loop did; seconds are wall time of the stages it runs itself."""

    frames: int = 0
    detected: int = 0
    still: int = 0
    inference_s: float = 0.0
    tracking_s: float = 0.0


@dataclass(frozen=True)
class LoopFrame:
    """One frame out of the loop: ``tracked`` is None when the frame was not due (stride)."""

    index: int
    t: float
    image: Frame
    tracked: Detections | None
    still: bool


def run_detector(detector: Detector, frames: list[Frame], indices: list[int]) -> list[Detections]:
    """Detect on ``frames``, in one batch where the detector takes batches."""
    if len(frames) > 1 and hasattr(detector, "detect_batch"):
        batch: BatchDetector = detector  # type: ignore[assignment]
        return batch.detect_batch(frames, indices)
    return [detector.detect(f, i) for f, i in zip(frames, indices, strict=True)]


def detect_in_batches(detector: Detector, frames: Sequence[Frame]) -> list[Detections]:
    """Detections of unrelated frames (samples, no tracking), as many at a time as the detector takes."""
    size = max(1, int(getattr(detector, "batch_size", 1)))
    out: list[Detections] = []
    for lo in range(0, len(frames), size):
        chunk = list(frames[lo : lo + size])
        out.extend(run_detector(detector, chunk, list(range(lo, lo + len(chunk)))))
    return out


class FrameLoop:
    """Push frames in with :meth:`feed`; finished frames come out of :meth:`feed` and :meth:`flush`."""

    def __init__(
        self,
        detector: Detector,
        settings: LoopSettings,
        sink: TrackSink | None = None,
        *,
        describe: Describe | None = None,
        measure_uniform: Measure | None = None,
    ) -> None:
        self.detector = detector
        self.settings = settings
        self.sink = sink
        self.describe = describe
        self.measure_uniform = measure_uniform
        self.stats = LoopStats()
        self.batch_size = max(1, int(getattr(detector, "batch_size", 1)))
        self._buffer: list[tuple[int, float, Frame, _Kind]] = []
        self.reset()

    def reset(self) -> None:
        """Start over after a gap in the frames: new tracker ids, no reference frame, no last detections."""
        self._gate = MotionGate(self.settings.motion_threshold)
        self._tracker = ByteTracker(self.settings.tracker, self.settings.fps / self.settings.stride)
        self._last: Detections | None = None

    def feed(self, index: int, t: float, image: Frame) -> list[LoopFrame]:
        """Take one frame; returns the frames finished by it (none while a batch fills)."""
        kind: _Kind = "stride"
        if index % self.settings.stride == 0:
            # Nothing to reuse yet (the first frame, or the first after a gap): detect even if still.
            fresh = self._last is None and not any(k == "detect" for *_, k in self._buffer)
            kind = "detect" if self._gate.should_detect(image) or fresh else "still"
        self._buffer.append((index, t, image, kind))
        due = sum(1 for *_, k in self._buffer if k == "detect")
        if due >= self.batch_size or len(self._buffer) >= MAX_BUFFERED or (self.batch_size == 1 and kind != "detect"):
            return self.flush()
        return []

    def flush(self) -> list[LoopFrame]:
        """Detect, track and hand on whatever is buffered."""
        if not self._buffer:
            return []
        due = [(i, f) for i, _, f, kind in self._buffer if kind == "detect"]
        t0 = time.perf_counter()
        found = run_detector(self.detector, [f for _, f in due], [i for i, _ in due]) if due else []
        self.stats.inference_s += time.perf_counter() - t0
        results = dict(zip((i for i, _ in due), found, strict=True))
        out: list[LoopFrame] = []
        t0 = time.perf_counter()
        for index, t, image, kind in self._buffer:
            self.stats.frames += 1
            if kind == "stride":
                out.append(LoopFrame(index, t, image, None, False))
                continue
            if kind == "detect":
                self._last = results[index]
                self.stats.detected += 1
            else:
                self.stats.still += 1
            detections = self._last if self._last is not None else Detections.empty()
            tracked = self._tracker.update(detections, image.shape[:2])
            if self.sink is not None:
                looks = self.describe(image, tracked.xyxy) if self.describe is not None else None
                shares = self.measure_uniform(image, tracked.xyxy) if self.measure_uniform is not None else None
                self.sink.add(index, t, tracked, looks, shares)
            out.append(LoopFrame(index, t, image, tracked, kind == "still"))
        self.stats.tracking_s += time.perf_counter() - t0
        self._buffer.clear()
        return out

    def run(self, frames: Iterable[tuple[int, Frame]]) -> Iterator[LoopFrame]:
        """Every frame of ``frames`` through the loop, in order (``t`` = index / fps)."""
        fps = self.settings.fps
        for index, image in frames:
            yield from self.feed(index, index / fps, image)
        yield from self.flush()
