"""One video through the frame loop: decode, detect, track; the tracks it made and what they are known by.

:func:`track_video` writes nothing: :mod:`retail_intel.pipeline.run` decides whether stored
tracks can be reused (same :func:`tracks_identity`), judges them and writes the results.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from retail_intel.errors import VideoError
from retail_intel.movements.store import StoredTracks
from retail_intel.movements.tracks import TrackAccumulator
from retail_intel.pipeline.frame_times import BY_RATE, BY_TIMESTAMPS, FloatArray, FrameTiming, time_frames
from retail_intel.pipeline.loop import FrameLoop, Measure
from retail_intel.pipeline.loop_settings import loop_settings
from retail_intel.pipeline.plan import ProcessPlan
from retail_intel.vision.appearance import box_appearance, upper_body_uniform_shares
from retail_intel.vision.detections import Detector, detector_backend
from retail_intel.vision.video import Frame, VideoInfo, read_frames

if TYPE_CHECKING:
    from retail_intel.vision.annotate import VideoAnnotator

# progress(frames_done, frames_total_or_None)
ProgressFn = Callable[[int, int | None], None]
DetectorFactory = Callable[[ProcessPlan], Detector]
# Bump when the frame loop changes what it produces for the same video and settings:
# tracks stored by an earlier version are then detected again instead of reused.
TRACKS_VERSION = 1


@dataclass
class StageTimes:
    """Wall seconds spent per stage (decode overlaps inference: it runs in its own thread)."""

    decode_wait: float = 0.0
    inference: float = 0.0
    tracking: float = 0.0
    judging: float = 0.0
    writing: float = 0.0


def source_key(camera_id: str, video_fingerprint: str) -> str:
    return f"{camera_id}-{video_fingerprint[:16]}"


def tracks_identity(plan: ProcessPlan) -> str:
    """Hash of everything the stored tracks depend on: the tracking settings and the weights' content."""
    from retail_intel.vision.weights import weights_identity

    identity = {
        "version": TRACKS_VERSION,
        "settings": plan.stage_identity("track"),
        "weights": weights_identity(plan.settings.model, plan.detector.model_name),
    }
    return hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()[:32]


@dataclass
class VideoTracks:
    """What the frame loop made of one video, or what an earlier run stored of it."""

    accumulator: TrackAccumulator
    identity: str
    fps: float
    frames: int
    frame_size: tuple[int, int]
    model: str
    frames_detected: int
    frames_still: int
    times: StageTimes
    reference: Frame | None = None  # the first frame (None when read from the store)
    from_store: bool = False
    input_size: dict[str, Any] | None = None  # how the input size was chosen, when it was (autosize)
    warnings: list[str] = field(default_factory=list)
    # how the samples' times were taken: by the rate, or by each frame's timestamp (variable frame rate)
    frame_times: str = BY_RATE
    # the last frame's time and the time the video covers; None: by the rate, from frames and fps
    timed_last_t: float | None = None
    timed_duration_s: float | None = None
    # each frame's time where timed by timestamps (a fresh run only: the store keeps the samples' times)
    frame_t: FloatArray | None = None
    # the engine the detector ran on ("openvino", "torch"); None when it did not say (a fake), or
    # for tracks stored before it was recorded
    backend: str | None = None

    @property
    def last_t(self) -> float:
        """The last frame's time (seconds from the first)."""
        return self.timed_last_t if self.timed_last_t is not None else (self.frames - 1) / self.fps

    def detect_stride(self, stride: int) -> int | None:
        """``stride`` where frames are timed by their timestamps: noise is then judged in frames
        of their own length (:meth:`~retail_intel.movements.tracks.Track.detected_time_by_frames`),
        since one frame at the header's rate can be a tenth of a frame in a sparse stretch."""
        return stride if self.frame_times == BY_TIMESTAMPS else None

    @property
    def duration_s(self) -> float:
        """The time the video covers."""
        return self.timed_duration_s if self.timed_duration_s is not None else self.frames / self.fps

    def metadata(self) -> dict[str, str]:
        return {
            "identity": self.identity,
            "fps": repr(self.fps),
            "frames": str(self.frames),
            "width": str(self.frame_size[0]),
            "height": str(self.frame_size[1]),
            "model": self.model,
            "frames_detected": str(self.frames_detected),
            "frames_still": str(self.frames_still),
            "input_size": json.dumps(self.input_size),
            "warnings": json.dumps(self.warnings),
            "frame_times": self.frame_times,
            "last_t": json.dumps(self.timed_last_t),
            "duration_s": json.dumps(self.timed_duration_s),
            "backend": json.dumps(self.backend),
        }

    @classmethod
    def from_stored(cls, stored: StoredTracks) -> VideoTracks:
        meta = stored.metadata
        return cls(
            accumulator=TrackAccumulator.from_table(stored.table),
            identity=meta["identity"],
            fps=float(meta["fps"]),
            frames=int(meta["frames"]),
            frame_size=(int(meta["width"]), int(meta["height"])),
            model=meta["model"],
            frames_detected=int(meta["frames_detected"]),
            frames_still=int(meta["frames_still"]),
            times=StageTimes(),
            from_store=True,
            input_size=json.loads(meta.get("input_size", "null")),
            warnings=list(json.loads(meta.get("warnings", "[]"))),
            # tracks stored before frames were timed by their timestamps were timed by the rate
            frame_times=meta.get("frame_times", BY_RATE),
            timed_last_t=json.loads(meta.get("last_t", "null")),
            timed_duration_s=json.loads(meta.get("duration_s", "null")),
            backend=json.loads(meta.get("backend", "null")),
        )


def track_video(
    plan: ProcessPlan,
    info: VideoInfo,
    fps: float,
    *,
    detector_factory: DetectorFactory,
    progress: ProgressFn | None = None,
    annotator: VideoAnnotator | None = None,
    identity: str | None = None,
) -> VideoTracks:
    """Decode ``plan.video`` and run it through the frame loop; writes nothing.

    ``identity`` is what the stored tracks will be known by (default: :func:`tracks_identity`).
    """
    detector = detector_factory(plan)
    accumulator = TrackAccumulator()
    settings = loop_settings(plan, fps)
    # each box's colours, for stitching's appearance check on people who stood hidden, and
    # where the branch has a uniform colour, its share of each upper body (staff rule)
    loop = FrameLoop(detector, settings, accumulator, describe=box_appearance, measure_uniform=uniform_measure(plan))
    times = StageTimes()
    total = info.frame_count or None
    if plan.max_frames is not None:
        total = min(total or plan.max_frames, plan.max_frames)
    frames = 0
    reference: Frame | None = None  # first frame, kept as the camera's picture for heatmaps
    # a preview breaks off too when the video ends before its frames do (the header promising more)
    expected = info.frame_count if plan.max_frames is None else min(info.frame_count, plan.max_frames)
    stamps: list[float] = []  # each frame's timestamp, for a variable frame rate
    decoded = read_frames(
        plan.video, expected=expected, promised=info.frame_count, stamps=stamps, header_fps=info.header_fps
    )
    if plan.max_frames is not None:
        decoded = itertools.islice(decoded, plan.max_frames)
    try:
        tick = time.perf_counter()
        # a rate given by the user says the header is wrong, and the timestamps come from that header
        for item in loop.run(decoded, stamps=stamps if plan.fps_override is None else None):
            t0 = time.perf_counter()
            times.decode_wait += t0 - tick  # less the loop's own work, below
            frames += 1
            if reference is None:
                reference = item.image
            if annotator is not None:
                annotator.write(item.image, item.t, item.tracked)
            if progress is not None:
                progress(frames, total)
            tick = time.perf_counter()
            times.writing += tick - t0
    except BaseException:
        if annotator is not None:
            annotator.abort()
        raise
    if frames == 0:
        raise VideoError(f"{plan.video}: no frames could be decoded")
    # A rate given by the user (--fps, the camera's fps) overrides a header that is wrong, and
    # the timestamps come from that same header; only the header's own rate is checked against them.
    timing = FrameTiming(BY_RATE) if plan.fps_override is not None else time_frames(stamps[:frames], fps)
    if timing.times is not None:
        accumulator.retime(timing.times)
    stats = loop.stats
    times.inference = stats.inference_s
    times.tracking = stats.tracking_s
    times.decode_wait = max(0.0, times.decode_wait - stats.inference_s - stats.tracking_s)
    return VideoTracks(
        accumulator=accumulator,
        identity=identity or tracks_identity(plan),
        fps=fps,
        frames=frames,
        frame_size=(info.width, info.height),
        model=detector.name,
        backend=detector_backend(detector),
        frames_detected=stats.detected,
        frames_still=stats.still,
        times=times,
        reference=reference,
        warnings=[timing.note] if timing.note else [],
        frame_times=timing.by,
        timed_last_t=timing.last_t(frames, fps) if timing.times is not None else None,
        timed_duration_s=timing.duration(frames, fps) if timing.times is not None else None,
        frame_t=timing.times,
    )


def uniform_measure(plan: ProcessPlan) -> Measure | None:
    """The per-box uniform-colour measurement of the branch's staff rule; None without a uniform."""
    uniform = plan.staff.uniform
    return None if uniform is None else functools.partial(upper_body_uniform_shares, rule=uniform)
