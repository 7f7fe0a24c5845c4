"""A live session: read a stream, detect, track, judge people as they finish, flush files.

It runs until ``stop`` is set (the CLI sets it on Ctrl-C / SIGTERM), the
``duration`` has passed, or ``max_frames`` frames were read. Every
``flush_s`` seconds the people finished since the last flush are written as
a new Parquet file; on stop everybody still in view is judged as they are
(``exit_observed`` false for those still inside) and written too.

Everything that waits or tells time is injected (frame source, clock,
detector), so tests drive a whole session from a script.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from retail_intel.errors import InputError, VideoError
from retail_intel.live.people import OpenFragments, PeoplePool
from retail_intel.live.record import (
    FlushWriter,
    claim_session_id,
    live_fingerprint,
    record_path,
    release_claim,
    write_record,
)
from retail_intel.live.stream import (
    Clock,
    FrameSource,
    GapEnded,
    SourceState,
    StreamFailed,
    StreamFrame,
    StreamReader,
    StreamSettings,
    utc_now,
)
from retail_intel.live.urls import redact_url
from retail_intel.movements.events import Judgement, SourceInfo, judge
from retail_intel.movements.hidden_feet import in_front_of
from retail_intel.movements.tracks import Track
from retail_intel.naming import CallerNames
from retail_intel.pipeline.loop import FrameLoop
from retail_intel.pipeline.loop_settings import loop_settings
from retail_intel.pipeline.plan import ProcessPlan
from retail_intel.pipeline.run import default_detector_factory, output_dir
from retail_intel.pipeline.video_tracks import DetectorFactory, uniform_measure
from retail_intel.storage import camera_frame_path
from retail_intel.vision.detections import Detector
from retail_intel.vision.tracker import PersonTracker, TrackerSettings

# Used for the tracker when neither --fps nor the stream header gives a
# believable rate (MJPEG over HTTP reports 25 whatever it sends).
FALLBACK_FPS = 25.0
# Status updates at most this often (seconds of session clock).
STATUS_EVERY_S = 0.5
# The longest --flush: finished people wait in memory until it comes, so a day at most.
MAX_FLUSH_S = 24 * 3600.0
# The longest --duration: a year; a session meant to run for good leaves --duration out.
MAX_DURATION_S = 365 * 86400.0


@dataclass(frozen=True)
class LiveOptions:
    url: str
    flush_s: float = 300.0
    duration_s: float | None = None
    session_id: str | None = None
    stream: StreamSettings = field(default_factory=StreamSettings)
    # How often finished tracks are looked for (seconds of session clock).
    judge_every_s: float = 1.0
    # How long the loop waits for a frame before it does its periodic work.
    poll_s: float = 0.2


@dataclass
class LiveStatus:
    """What a status display shows; passed to ``progress`` a few times a second."""

    url: str
    session_id: str
    elapsed_s: float
    frames: int
    fps: float  # frames processed per second since the start
    open_tracks: int
    people: int
    entered: int
    passed: int
    flushes: int
    last_flush: dt.datetime | None
    connected: bool
    gaps: int
    open_gap_since: dt.datetime | None
    open_gap_reason: str | None
    frames_dropped: int


@dataclass
class LiveSummary:
    url: str
    session_id: str
    branch_id: str
    camera_id: str
    model: str
    started: str
    stopped: str | None
    stop_reason: str | None
    running: bool
    preview: bool  # --max-frames: written under DATA_DIR/previews/, as a file run's preview
    seconds: float
    frames: int
    frames_detected: int
    frames_skipped_still: int
    frames_dropped: int
    stream_fps: float
    tracker_fps: float
    people: int
    entered: int
    passed: int
    not_counted: int
    dropped_tracks: int
    fragments: int
    line_in: int
    line_out: int
    reconnects: int
    gaps: list[dict[str, object]] = field(default_factory=list)
    flushes: list[dict[str, object]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class LiveResult:
    summary: LiveSummary
    record: Path | None  # None when the stream never delivered a frame
    files: list[Path]


ProgressFn = Callable[[LiveStatus], None]


class _Session:
    """The state of one session; the loop in :func:`process_stream` drives it."""

    def __init__(
        self, plan: ProcessPlan, options: LiveOptions, detector: Detector, started: dt.datetime, *, fps_name: str
    ) -> None:
        self.plan = plan
        self.fps_name = fps_name  # what the notes call the fps setting: the caller's flag (--fps) when it passes one
        self.options = options
        self.detector = detector
        self.started = started
        # A --max-frames session is a preview, as for files: its own tree under previews/,
        # never counted with (or numbered against) the real sessions.
        self.data_dir = output_dir(plan)
        # an id given by the caller is theirs to keep unique; a chosen one is claimed on disk
        self.claimed = options.session_id is None
        self.session_id = options.session_id or claim_session_id(self.data_dir, plan.branch_id, plan.camera_id, started)
        self.url = redact_url(options.url)
        self.fragments = OpenFragments()
        self.stitching = plan.stitch
        self.pool = PeoplePool(plan.stitch)
        # people judged while someone still to be judged was in view with them: they may have hidden
        # that person's feet (retail_intel.movements.hidden_feet), so they are kept until nobody is
        self.judged_in_view: list[Track] = []
        self.pending: list[Judgement] = []
        self.writer = FlushWriter(
            self.data_dir,
            plan.branch_id,
            plan.camera_id,
            self.session_id,
            plan.rules,
            zones=plan.zones,
            staff=plan.staff,
        )
        self.record = record_path(self.data_dir, plan.branch_id, plan.camera_id, self.session_id)
        self.loop: FrameLoop | None = None  # made on the first frame, once the frame rate is known
        self.frame_size: tuple[int, int] | None = None
        self.stream_fps = 0.0
        self.tracker_fps = 0.0
        self.frames = 0
        self.totals = dict.fromkeys(
            ("people", "entered", "passed", "not_counted", "line_in", "line_out", "dropped_tracks", "fragments"), 0
        )
        self.notes: list[str] = []
        self.last_judged_t = 0.0
        self.last_frame_t = 0.0
        self.last_flush_at = started
        self.source_state = SourceState()

    # -- time ------------------------------------------------------------

    def seconds(self, at: dt.datetime) -> float:
        return max(0.0, (at - self.started).total_seconds())

    # -- frames ----------------------------------------------------------

    def first_frame(self, frame: StreamFrame) -> None:
        self.check_size(frame)
        fps = self.plan.fps_override
        if fps is None:
            fps = frame.stream_fps if 1.0 <= frame.stream_fps <= 120.0 else FALLBACK_FPS
            if fps != frame.stream_fps:
                self.notes.append(
                    f"the stream reports {frame.stream_fps:g} fps; the tracker assumes {fps:g} "
                    f"(pass {self.fps_name} to set it)"
                )
        self.stream_fps = frame.stream_fps
        self.tracker_fps = fps / self.plan.stride
        settings = loop_settings(self.plan, fps)
        self.loop = FrameLoop(self.detector, settings, self.fragments, measure_uniform=uniform_measure(self.plan))
        # The camera's picture, as the batch job keeps one: heatmaps are drawn over it.
        from retail_intel.vision.annotate import write_image

        write_image(camera_frame_path(self.data_dir, self.plan.branch_id, self.plan.camera_id), frame.image)

    def check_size(self, frame: StreamFrame) -> None:
        size = (frame.width, frame.height)
        if size == self.frame_size:
            return
        # as a file run checks them: the named zones too (one reaching outside counted visits only in
        # the part in view), and a region from the camera's entry named as that entry's
        plan = self.plan
        plan.check_inside_frame(*size)
        if self.frame_size is not None:
            self.notes.append(f"the frame size changed from {self.frame_size} to {size}")
        self.frame_size = size
        # the frame size lets stitching tell people walking out of view from occlusions
        self.stitching = dataclasses.replace(self.plan.stitch, frame_size=size)
        self.pool.settings = self.stitching

    def process(self, frames: list[StreamFrame]) -> None:
        """Detect (in one batch where the detector takes batches), track and collect ``frames`` in order."""
        if not frames:
            return
        if self.frame_size is None:
            self.first_frame(frames[0])
        for frame in frames:
            self.check_size(frame)
        assert self.loop is not None  # made by first_frame
        for frame in frames:
            self.loop.feed(frame.index, self.frame_seconds(frame), frame.image)
        self.loop.flush()
        self.frames += len(frames)

    def frame_seconds(self, frame: StreamFrame) -> float:
        """Seconds since the start; never earlier than the last frame's, should the wall clock step back."""
        t = self.seconds(frame.time)
        if t < self.last_frame_t:
            if self.last_frame_t - t > 1.0 and not any("clock" in n for n in self.notes):
                self.notes.append(
                    f"the system clock stepped back {self.last_frame_t - t:.1f} s; frame times were held until it caught up"
                )
            t = self.last_frame_t
        self.last_frame_t = t
        return t

    def after_gap(self, at: dt.datetime) -> None:
        """Frames flow again: whoever was tracked before the gap is gone from the tracker."""
        self.pool.add(self.fragments.close_all())
        if self.loop is not None:
            self.loop.reset()  # tracker ids restart; fragment ids are the session's own
        self.judge_finished(at)

    # -- judging and flushing -------------------------------------------

    def judge_finished(self, now: dt.datetime, *, everyone: bool = False) -> None:
        """Judge the people who are finished at ``now``: a time before which every frame was processed."""
        now_t = self.seconds(now)
        if everyone:
            self.pool.add(self.fragments.close_all())
            final = self.pool.take_all()
        else:
            self.pool.add(self.fragments.close_idle(now_t, self.plan.tracker.track_buffer_s))
            final = self.pool.take_final(now_t, self.fragments.spans())
        if not final:
            return
        # the people not final yet, over the time of everyone judged now or kept from before
        seen = [*self.judged_in_view, *final]
        waiting = self.waiting(min(p.start for p in seen), max(p.end for p in seen))
        # who may stand in front of the people judged now: the samples of people judged earlier kept
        # for it, and the people not final yet, over the time those judged now were seen
        lo, hi = min(p.start for p in final), max(p.end for p in final)
        others = _between([*self.judged_in_view, *waiting], lo, hi)
        judgement = judge(
            final, self.plan.rules, min_track_s=self.plan.min_track_s, stitch_settings=self.stitching, others=others
        )
        # of everyone judged so far, keep the boxes (as the detector gave them, as a file run
        # compares them) that stand in front of somebody still to be judged: nobody judged can
        # hide anything in a frame still to come
        judged = [*self.judged_in_view, *(p.as_detected() for p in judgement.people)]
        front = in_front_of(judged, waiting)
        self.judged_in_view = [p.take(keep) for p, keep in zip(judged, front, strict=True) if keep.any()]
        for key, value in judgement.counts.items():
            self.totals[key] += value
        self.totals["dropped_tracks"] += judgement.dropped_tracks
        self.totals["fragments"] += judgement.fragments
        if judgement.people:
            self.pending.append(judgement)

    def waiting(self, start: float, end: float) -> list[Track]:
        """The people not final yet (closed fragments in the pool, and the open ones), from ``start`` to
        ``end``; no noise (the batch job lets only the people it keeps hide others)."""
        long_enough = self.plan.min_track_s
        pooled = [p for p in self.pool.waiting() if p.duration >= long_enough]
        return [*_between(pooled, start, end), *self.fragments.snapshot(start, end, min_span_s=long_enough)]

    def flush(self, now: dt.datetime) -> None:
        source = SourceInfo(
            branch_id=self.plan.branch_id,
            camera_id=self.plan.camera_id,
            source_video=self.url,
            video_fingerprint=live_fingerprint(self.plan.branch_id, self.plan.camera_id, self.session_id),
            model=self.detector.name,
            start_time=self.started,
            processed_at=now,
        )
        self.writer.write(self.pending, source, now)
        self.pending = []
        self.last_flush_at = now

    # -- reporting --------------------------------------------------------

    def summary(self, now: dt.datetime, *, stop_reason: str | None, running: bool) -> LiveSummary:
        state = self.source_state
        gaps = [g.to_dict() for g in state.gaps]
        if state.open_gap is not None:
            gaps.append(state.open_gap.to_dict())
        t = self.totals
        return LiveSummary(
            url=self.url,
            session_id=self.session_id,
            branch_id=self.plan.branch_id,
            camera_id=self.plan.camera_id,
            model=self.detector.name,
            started=self.started.isoformat(),
            stopped=None if running else now.isoformat(),
            stop_reason=stop_reason,
            running=running,
            preview=self.plan.is_preview,
            seconds=round(self.seconds(now), 3),
            frames=self.frames,
            frames_detected=self.loop.stats.detected if self.loop else 0,
            frames_skipped_still=self.loop.stats.still if self.loop else 0,
            frames_dropped=state.frames_dropped,
            stream_fps=self.stream_fps,
            tracker_fps=self.tracker_fps,
            people=t["people"],
            entered=t["entered"],
            passed=t["passed"],
            not_counted=t["not_counted"],
            dropped_tracks=t["dropped_tracks"],
            fragments=t["fragments"],
            line_in=t["line_in"],
            line_out=t["line_out"],
            reconnects=state.reconnects,
            gaps=gaps,
            flushes=[f.to_dict() for f in self.writer.flushes],
            notes=list(self.notes),
        )

    def write_record(self, now: dt.datetime, *, stop_reason: str | None = None, running: bool = True) -> None:
        write_record(self.record, self.summary(now, stop_reason=stop_reason, running=running).to_dict())

    def release(self) -> None:
        """No frame came: the claimed run record, still empty, goes (nothing was written)."""
        if self.claimed and self.frame_size is None:
            release_claim(self.record)

    def status(self, now: dt.datetime) -> LiveStatus:
        state = self.source_state
        elapsed = self.seconds(now)
        flushes = self.writer.flushes
        return LiveStatus(
            url=self.url,
            session_id=self.session_id,
            elapsed_s=elapsed,
            frames=self.frames,
            fps=self.frames / elapsed if elapsed > 0 else 0.0,
            open_tracks=len(self.fragments),
            people=self.totals["people"],
            entered=self.totals["entered"],
            passed=self.totals["passed"],
            flushes=len(flushes),
            last_flush=flushes[-1].at if flushes else None,
            connected=state.connected,
            gaps=len(state.gaps) + (state.open_gap is not None),
            open_gap_since=state.open_gap.start if state.open_gap else None,
            open_gap_reason=(state.open_gap.last_error or state.open_gap.reason) if state.open_gap else None,
            frames_dropped=state.frames_dropped,
        )


def process_stream(
    plan: ProcessPlan,
    options: LiveOptions,
    *,
    detector_factory: DetectorFactory | None = None,
    source: FrameSource | None = None,
    clock: Clock = utc_now,
    stop: threading.Event | None = None,
    progress: ProgressFn | None = None,
    names: Mapping[str, str] | None = None,
) -> LiveResult:
    """Run a live session until stopped; see the module docstring.

    Raises :class:`~retail_intel.errors.VideoError` when the stream cannot be
    read at all (before a first frame); drops after that are reconnected.
    ``names`` say what the caller calls ``options.duration_s`` and the ``fps`` setting in
    messages and notes (its flags: ``{"duration_s": "--duration", "fps": "--fps"}``).
    """
    if not 0 < options.flush_s <= MAX_FLUSH_S:
        raise InputError(
            f"options.flush_s must be a positive duration of at most {MAX_FLUSH_S / 3600:g}h, got {options.flush_s:g} s"
        )
    if options.duration_s is not None and not 0 < options.duration_s <= MAX_DURATION_S:
        raise InputError(
            f"options.duration_s must be a positive duration of at most {MAX_DURATION_S / 86400:g}d, "
            f"got {options.duration_s:g} s"
        )
    if plan.save_video is not None:
        # the CLI refuses --save-video for a stream before it gets here: only a Python caller sees this
        raise InputError("plan.save_video is for recorded files; a live stream writes no annotated video")
    stop = stop or threading.Event()
    detector = (detector_factory or default_detector_factory)(plan)
    _import_slow_modules()
    started = clock()
    session = _Session(plan, options, detector, started, fps_name=CallerNames(names)("fps"))
    try:
        source = source or StreamReader(options.url, options.stream, clock=clock)
        source.start()
    except BaseException:
        session.release()
        raise
    stop_reason = "stopped"
    last_status = started - dt.timedelta(seconds=STATUS_EVERY_S)
    held: StreamFrame | GapEnded | StreamFailed | None = None
    batch_size = max(1, int(getattr(detector, "batch_size", 1)))
    try:
        while True:
            now = clock()
            if stop.is_set():
                break
            if options.duration_s is not None and session.seconds(now) >= options.duration_s:
                stop_reason = "duration"
                break
            if plan.max_frames is not None and session.frames >= plan.max_frames:
                stop_reason = "max-frames"
                break
            item = held if held is not None else source.next(options.poll_s)
            held = None
            session.source_state = source.state()
            if isinstance(item, StreamFailed):
                raise item.error
            if isinstance(item, GapEnded):
                session.after_gap(item.gap.end or now)
                session.write_record(now)
            elif isinstance(item, StreamFrame):
                # Take what else is already waiting, up to a batch, without waiting for more.
                frames = [item]
                while len(frames) < batch_size:
                    extra = source.next(0.0)
                    if isinstance(extra, StreamFrame):
                        frames.append(extra)
                    else:
                        held = extra
                        break
                if plan.max_frames is not None:
                    frames = frames[: max(0, plan.max_frames - session.frames)]
                first = session.frame_size is None
                session.process(frames)
                if first:
                    session.write_record(now)
            now = clock()
            if session.seconds(now) - session.last_judged_t >= options.judge_every_s:
                # not the clock: frames stamped earlier may still wait in the source's queue
                session.judge_finished(min(now, source.watermark()))
                session.last_judged_t = session.seconds(now)
            if (now - session.last_flush_at).total_seconds() >= options.flush_s:
                session.flush(now)
                if session.frame_size is not None:
                    session.write_record(now)
            if progress is not None and (now - last_status).total_seconds() >= STATUS_EVERY_S:
                progress(session.status(now))
                last_status = now
    except BaseException as exc:
        stop_reason = f"error: {exc}" if str(exc) else f"error: {type(exc).__name__}"
        source.stop()
        _finish_quietly(session, source, clock, stop_reason)
        raise
    source.stop()
    now = clock()
    session.source_state = source.state()
    if stop_reason == "duration" and session.frame_size is None:
        # not a session that ran its course: the stream never gave a frame (a wrong URL or password,
        # or an address that does not answer, whose attempts outlast a short --duration)
        session.release()
        failed = session.source_state.first_error
        raise VideoError(
            f"{session.url}: no frame within the {CallerNames(names, 'options.')('duration_s')} "
            f"of {options.duration_s:g} s"
            + (f"; the last attempt: {failed}" if failed else "")
            + "; check the URL, the credentials and that the camera is reachable"
        )
    session.judge_finished(now, everyone=True)
    session.flush(now)
    record: Path | None = None
    session.release()
    if session.frame_size is not None:
        session.write_record(now, stop_reason=stop_reason, running=False)
        record = session.record
    if progress is not None:
        progress(session.status(now))
    files = [Path(f.movements) for f in session.writer.flushes]
    return LiveResult(session.summary(now, stop_reason=stop_reason, running=False), record, files)


def _import_slow_modules() -> None:
    """Pay the first-use imports (seconds) before the stream runs: later, that pause would cost frames."""
    import pyarrow as pa

    PersonTracker(TrackerSettings(), FALLBACK_FPS)  # ultralytics, torch
    pa.array([dt.datetime(2026, 1, 1, tzinfo=dt.UTC)], pa.timestamp("us", tz="UTC"))  # pandas, via pyarrow


def _finish_quietly(session: _Session, source: FrameSource, clock: Clock, stop_reason: str) -> None:
    """On an error, still write who was seen so far; the original error is what the user sees."""
    if session.frame_size is None:
        session.release()
        return
    try:
        now = clock()
        session.source_state = source.state()
        session.judge_finished(now, everyone=True)
        session.flush(now)
        session.write_record(now, stop_reason=stop_reason, running=False)
    except Exception as exc:  # the first error matters more
        session.notes.append(f"could not write the last flush: {exc}")


def _between(people: list[Track], start: float, end: float) -> list[Track]:
    """Each person's samples from ``start`` to ``end``, for those seen then."""
    return [p.take(seen) for p in people if (seen := (p.t >= start) & (p.t <= end)).any()]
