"""The one frame loop: schedule, detect, track and collect frames, in order.

Files, batch segments, live streams, ``calibrate`` and ``audit`` all drive
:class:`FrameLoop`; what they do with the result (write files, keep a ledger,
flush live people, show progress) stays with them.

Each frame that comes in is either not due (``stride``), skipped (adaptive
stride: nobody was near an edge at the last judged frame), still (the motion
gate says nothing moved since the last detected frame: its detections are
reused) or detected. Due frames go to the detector ``batch_size`` at a time
when it can work on several at once (OpenVINO runs two inference streams on
two cores), and come back out in frame order through the tracker into the
sink (a track accumulator, or a live session's open fragments).

Adaptive stride decides after each tracked frame, but frames are scheduled as
they arrive, a batch ahead. So a batch is scheduled with the last decision, and
when a tracked frame inside it brings someone near an edge, the frames skipped
after it are gated and detected after all before tracking goes on: no frame is
skipped after the decision that says "every frame".
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt

from retail_intel.movements.adaptive_stride import Edges, PeopleNow, next_stride
from retail_intel.pipeline.frame_times import UnseenIntervals
from retail_intel.vision.appearance import box_appearance
from retail_intel.vision.detections import Detections, Detector
from retail_intel.vision.motion import MotionGate
from retail_intel.vision.tracker import PersonTracker, TrackerSettings

Frame = npt.NDArray[np.uint8]
# A batch is cut at this many buffered frames even if few of them need the
# detector, so a long still stretch never holds many decoded frames in memory.
MAX_BUFFERED = 32
_Kind = Literal["stride", "skip", "still", "detect"]


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
    # adaptive stride (issue 19): detect only every adaptive_stride-th due frame while nobody
    # tracked is near one of ``edges`` (the picture's border is added) and nobody is new; 1 = off
    adaptive_stride: int = 1
    edges: Edges | None = None


@dataclass
class LoopStats:
    """What the loop did; seconds are wall time of the stages it runs itself."""

    frames: int = 0
    detected: int = 0
    still: int = 0
    skipped: int = 0  # due frames adaptive stride left to the tracker's prediction
    unseen: int = 0  # frame intervals a variable-frame-rate recording left out (coasted through up to the buffer)
    inference_s: float = 0.0
    tracking_s: float = 0.0


@dataclass(frozen=True)
class LoopFrame:
    """One frame out of the loop: ``tracked`` is None when the frame was not due (stride) or skipped."""

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
        self._unseen: UnseenIntervals | None = None  # a recorded video's frame timestamps (run)
        self.reset()

    def reset(self) -> None:
        """Start over after a gap in the frames: new tracker ids, no reference frame, no last detections."""
        self._gate = MotionGate(self.settings.motion_threshold)
        self._tracker = PersonTracker(self.settings.tracker, self.settings.fps / self.settings.stride)
        self._last: Detections | None = None
        self._last_image: Frame | None = None  # the last detected frame: the motion gate's reference
        # the detections the appearance rows were last computed for, and the rows (BoT-SORT only)
        self._last_features: tuple[Detections, npt.NDArray[np.float32]] | None = None
        self._step = 1  # adaptive stride's last decision: due frames per detection
        self._skips_left = 0
        self._first_seen: dict[int, float] = {}  # tracker id -> time first tracked
        self._edges: tuple[tuple[int, ...], Edges] | None = None  # (frame shape, edges with its border)

    def feed(self, index: int, t: float, image: Frame) -> list[LoopFrame]:
        """Take one frame; returns the frames finished by it (none while a batch fills)."""
        kind: _Kind = "stride"
        if index % self.settings.stride == 0:
            if self._skips_left > 0:
                kind = "skip"
                self._skips_left -= 1
            else:
                # Nothing to reuse yet (the first frame, or the first after a gap): detect even if still.
                fresh = self._last is None and not any(k == "detect" for *_, k in self._buffer)
                kind = "detect" if self._gate.should_detect(image) or fresh else "still"
                self._skips_left = self._step - 1
        self._buffer.append((index, t, image, kind))
        due = sum(1 for *_, k in self._buffer if k == "detect")
        if due >= self.batch_size or len(self._buffer) >= MAX_BUFFERED or (self.batch_size == 1 and kind != "detect"):
            return self.flush()
        return []

    def _detect(self, kinds: Iterable[tuple[int, float, Frame, _Kind]]) -> dict[int, Detections]:
        due = [(i, f) for i, _, f, kind in kinds if kind == "detect"]
        t0 = time.perf_counter()
        found = run_detector(self.detector, [f for _, f in due], [i for i, _ in due]) if due else []
        self.stats.inference_s += time.perf_counter() - t0
        return dict(zip((i for i, _ in due), found, strict=True))

    def flush(self) -> list[LoopFrame]:
        """Detect, track and hand on whatever is buffered."""
        if not self._buffer:
            return []
        buffer = self._buffer
        results = self._detect(buffer)
        out: list[LoopFrame] = []
        t0 = time.perf_counter()
        inference_before = self.stats.inference_s
        decided: int | None = None  # position of adaptive stride's last decision in this batch
        for position, (index, t, image, kind) in enumerate(buffer):
            self.stats.frames += 1
            if kind in ("stride", "skip"):
                if kind == "skip":
                    # the tracker's clock runs on: its buffer and velocities stay per frame
                    self.stats.skipped += 1
                    self._catch_up(index)
                    self._tracker.coast()
                out.append(LoopFrame(index, t, image, None, False))
                continue
            if kind == "detect":
                self._last = results[index]
                self._last_image = image
                self.stats.detected += 1
            else:
                self.stats.still += 1
            detections = self._last if self._last is not None else Detections.empty()
            self._catch_up(index)
            looks: npt.NDArray[np.float32] | None = None
            if self._tracker.uses_appearance:
                # the tracker compares each detection's colours: describe the detections, before
                # tracking, and hand each tracked box its detection's row (nothing described twice)
                features = self._features_of(image, detections, reused=kind == "still")
                tracked, matched = self._tracker.update_indexed(detections, image.shape[:2], features)
                looks = features[matched]
            else:
                tracked = self._tracker.update(detections, image.shape[:2])
            if self.sink is not None:
                if self.describe is None:
                    looks = None  # the sink did not ask for them
                elif looks is None:
                    looks = self.describe(image, tracked.xyxy)
                shares = self.measure_uniform(image, tracked.xyxy) if self.measure_uniform is not None else None
                self.sink.add(index, t, tracked, looks, shares)
            out.append(LoopFrame(index, t, image, tracked, kind == "still"))
            if self.settings.adaptive_stride > 1:
                decided = position
                self._step = self._decide(t, tracked, image.shape[:2])
                if self._step == 1 and any(k == "skip" for *_, k in buffer[position + 1 :]):
                    self._regate(position + 1, results)
        self.stats.tracking_s += time.perf_counter() - t0 - (self.stats.inference_s - inference_before)
        if decided is not None:
            # the next skips follow the last decision, less the frames skipped since it
            skipped = sum(1 for *_, k in buffer[decided + 1 :] if k == "skip")
            self._skips_left = max(0, self._step - 1 - skipped)
        self._buffer = []
        return out

    def _catch_up(self, index: int) -> None:
        """Coast through the frame intervals a variable-frame-rate recording left out before frame ``index``."""
        if self._unseen is None:
            return
        unseen = self._unseen.before(index)
        self.stats.unseen += unseen
        if not unseen:
            return
        # past the buffer, every track unmatched for longer is gone (removed here, before the next
        # frame is matched), so coasting further would change nothing
        for _ in range(min(unseen, self._tracker.buffer_frames + 1)):
            self._tracker.coast()
        self._tracker.drop_stale()

    def _features_of(self, image: Frame, detections: Detections, *, reused: bool) -> npt.NDArray[np.float32]:
        """One appearance row per detection; a still frame reuses the rows of the detections it reuses."""
        if reused and self._last_features is not None and self._last_features[0] is detections:
            return self._last_features[1]
        describe = self.describe or box_appearance
        features = describe(image, detections.xyxy)
        self._last_features = (detections, features)
        return features

    def _regate(self, start: int, results: dict[int, Detections]) -> None:
        """Someone came near an edge: the frames from ``start`` on are gated in order, as dense frames are.

        The gate saw these frames when they were scheduled, with skips among them; its reference
        goes back to the last detected frame and it judges them again, so a frame it calls still
        reuses detections of a frame it was actually compared with. Newly due frames are detected
        in one batch.
        """
        if self._last_image is not None:
            self._gate.remember(self._last_image)
        buffer = self._buffer
        for position in range(start, len(buffer)):
            index, t, image, kind = buffer[position]
            if kind == "stride":
                continue
            if index in results:  # detected already: keep it, it is the gate's reference now
                self._gate.remember(image)
                kind = "detect"
            else:
                kind = "detect" if self._gate.should_detect(image) else "still"
            buffer[position] = (index, t, image, kind)
        results.update(self._detect(item for item in buffer[start:] if item[0] not in results))

    def _decide(self, t: float, tracked: Detections, shape: tuple[int, ...]) -> int:
        """Adaptive stride's decision after a tracked frame (see :func:`next_stride`)."""
        ids = [int(i) for i in tracked.tracker_id.tolist()] if tracked.tracker_id is not None else []
        lost = not set(self._first_seen) <= set(ids)
        # ids not tracked now are forgotten: one lost and found again is new again
        self._first_seen = {i: self._first_seen.get(i, t) for i in ids}
        boxes = tracked.xyxy.astype(np.float64)
        people = PeopleNow(
            x=(boxes[:, 0] + boxes[:, 2]) / 2,
            y=boxes[:, 3],
            height=boxes[:, 3] - boxes[:, 1],
            age_s=np.asarray([t - self._first_seen[i] for i in ids], dtype=np.float64),
        )
        if self._edges is None or self._edges[0] != shape:
            edges = (self.settings.edges or Edges.of([])).with_frame(int(shape[1]), int(shape[0]))
            self._edges = (shape, edges)
        edges = self._edges[1]
        fps = self.settings.fps / self.settings.stride
        searching = lost or self._tracker.tentative > 0
        return next_stride(people, edges, self.settings.adaptive_stride, fps, searching=searching)

    def run(self, frames: Iterable[tuple[int, Frame]], stamps: Sequence[float] | None = None) -> Iterator[LoopFrame]:
        """Every frame of ``frames`` through the loop, in order (``t`` = index / fps).

        ``stamps``: the frames' decoder timestamps, filled as they are decoded (``read_frames``);
        where they show frames left out, the tracker coasts through them (:class:`UnseenIntervals`).
        """
        fps = self.settings.fps
        if stamps is not None:
            self._unseen = UnseenIntervals(stamps, fps, self.settings.stride)
        for index, image in frames:
            yield from self.feed(index, index / fps, image)
        yield from self.flush()
