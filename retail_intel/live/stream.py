"""Reading a live stream: a reader thread that reconnects with back-off and records every gap.

A camera stream drops: the camera reboots, the network hiccups, the NVR
restarts. The reader never gives up once it has had a first frame; it
closes the capture, waits (1 s, 2 s, 4 s, ... up to a cap), opens the URL
again, and reports the outage as a :class:`Gap` (start, end, reason,
attempts) when frames flow again.

Frames are stamped with the wall-clock time they were read (UTC): for a live
stream that is the best estimate of when they were recorded. The consumer
gets frames through a small buffer that drops the *oldest* frame when full,
so a slow detector falls behind by at most a few frames, never by minutes.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, cast

import numpy as np
import numpy.typing as npt

from retail_intel.errors import VideoError
from retail_intel.live.urls import redact_url

Frame = npt.NDArray[np.uint8]
Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Capture(Protocol):
    """The part of ``cv2.VideoCapture`` the reader uses (fakes implement it in tests)."""

    def isOpened(self) -> bool: ...  # OpenCV's spelling

    def read(self) -> tuple[bool, Frame | None]: ...

    def get(self, prop_id: int) -> float: ...

    def release(self) -> None: ...


OpenCapture = Callable[[str], Capture]


@dataclass(frozen=True)
class StreamSettings:
    """Reconnection and buffering; the defaults suit a camera on a LAN."""

    first_backoff_s: float = 1.0
    max_backoff_s: float = 30.0
    # FFmpeg gives up opening / reading after this long (a silent stream
    # counts as dropped instead of blocking forever).
    open_timeout_s: float = 15.0
    read_timeout_s: float = 15.0
    # Attempts to open the stream before its first frame; a wrong URL fails
    # fast instead of retrying forever. After a first frame: unlimited.
    startup_attempts: int = 3
    buffer_frames: int = 4

    def backoff(self, failures: int) -> float:
        """Seconds to wait after the ``failures``-th failed attempt in a row (1-based)."""
        return float(min(self.max_backoff_s, self.first_backoff_s * 2 ** max(0, failures - 1)))


@dataclass
class Gap:
    """A stretch without frames: from the last frame before the drop to the first one after it."""

    start: dt.datetime
    end: dt.datetime | None
    reason: str  # why the stream dropped
    attempts: int = 0  # failed reconnection attempts during the gap
    last_error: str | None = None  # why the latest of them failed

    @property
    def seconds(self) -> float | None:
        return None if self.end is None else (self.end - self.start).total_seconds()

    def to_dict(self) -> dict[str, object]:
        return {
            "start": self.start.isoformat(),
            "end": None if self.end is None else self.end.isoformat(),
            "seconds": self.seconds,
            "reason": self.reason,
            "attempts": self.attempts,
            "last_error": self.last_error,
        }


@dataclass(frozen=True)
class StreamFrame:
    index: int  # frames read since the session started, across reconnects
    time: dt.datetime  # when it was read, UTC
    image: Frame
    width: int
    height: int
    stream_fps: float  # what the stream header claims (0 when unknown)


@dataclass(frozen=True)
class GapEnded:
    """Frames flow again after ``gap``; the next frame is the first after it."""

    gap: Gap


@dataclass(frozen=True)
class StreamFailed:
    """The reader gave up (only before a first frame); ``error`` says why."""

    error: VideoError


StreamItem = StreamFrame | GapEnded | StreamFailed


@dataclass
class SourceState:
    """A snapshot for status displays."""

    connected: bool = False
    frames_read: int = 0
    frames_dropped: int = 0  # read but overtaken before the consumer took them
    reconnects: int = 0
    open_gap: Gap | None = None
    gaps: list[Gap] = field(default_factory=list)
    # why the latest attempt before a first frame failed (after one, each gap says)
    first_error: str | None = None


class FrameSource(Protocol):
    """What a live session consumes: frames in order, and notice of gaps."""

    def start(self) -> None: ...

    def next(self, timeout_s: float) -> StreamItem | None:
        """The next item, or None when nothing arrived within ``timeout_s``."""
        ...

    def stop(self) -> None: ...

    def state(self) -> SourceState: ...

    def watermark(self) -> dt.datetime:
        """Every frame stamped before this time has been returned by :meth:`next`."""
        ...


def open_capture(url: str, settings: StreamSettings) -> Capture:
    """``cv2.VideoCapture`` through FFmpeg with open/read time-outs."""
    import cv2

    # FFmpeg's own messages (connection refused, ...) would garble the status
    # display on every retry; the reader records the reason itself. A user's
    # own OPENCV_FFMPEG_LOGLEVEL wins.
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
    params = [
        cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
        int(settings.open_timeout_s * 1000),
        cv2.CAP_PROP_READ_TIMEOUT_MSEC,
        int(settings.read_timeout_s * 1000),
    ]
    return cast(Capture, cv2.VideoCapture(url, cv2.CAP_FFMPEG, params))


class StreamReader:
    """Reads ``url`` in a background thread; implements :class:`FrameSource`.

    ``opener``, ``clock`` and ``wait`` are injectable so tests can drive
    failures and back-off without a network or real waiting. ``wait(seconds)``
    returns True when the reader should stop instead of retrying.
    """

    def __init__(
        self,
        url: str,
        settings: StreamSettings | None = None,
        *,
        opener: OpenCapture | None = None,
        clock: Clock = utc_now,
        wait: Callable[[float], bool] | None = None,
    ) -> None:
        self.url = url
        self.settings = settings or StreamSettings()
        self._opener: OpenCapture = opener or (lambda u: open_capture(u, self.settings))
        self._quiet_opencv = opener is None
        self._opencv_level: int | None = None
        self._clock = clock
        self._stop = threading.Event()
        self._wait = wait or self._stop.wait
        self._items: deque[StreamItem] = deque()
        self._ready = threading.Condition()
        self._state = SourceState()
        self._thread: threading.Thread | None = None
        self.backoffs: list[float] = []  # every wait taken, for records and tests
        self._last_time: dt.datetime | None = None  # when the latest frame was read

    # -- consumer side -------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the stream reader was already started")
        if self._quiet_opencv:
            # OpenCV warns on every failed open; while reconnecting that would
            # be a line a second on the terminal. Restored by stop().
            import cv2

            self._opencv_level = cv2.utils.logging.getLogLevel()
            cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
        self._thread = threading.Thread(target=self._run, name="retail-intel-stream", daemon=True)
        self._thread.start()

    def next(self, timeout_s: float) -> StreamItem | None:
        with self._ready:
            if not self._items:
                self._ready.wait(timeout_s)
            return self._items.popleft() if self._items else None

    def stop(self) -> None:
        self._stop.set()
        with self._ready:
            self._ready.notify_all()
        if self._thread is not None:
            # bounded: a blocked read returns within the read time-out
            self._thread.join(timeout=self.settings.read_timeout_s + self.settings.open_timeout_s + 5)
        if self._opencv_level is not None:
            import cv2

            cv2.utils.logging.setLogLevel(self._opencv_level)
            self._opencv_level = None

    def watermark(self) -> dt.datetime:
        """A time before which every frame has been handed out.

        The time of the oldest frame still queued, or the clock when none is:
        a frame read later is stamped later (stamping happens under the same lock).
        """
        with self._ready:
            for item in self._items:
                if isinstance(item, StreamFrame):
                    return item.time
            return self._clock()

    def state(self) -> SourceState:
        with self._ready:
            s = self._state
            return SourceState(
                s.connected, s.frames_read, s.frames_dropped, s.reconnects, s.open_gap, list(s.gaps), s.first_error
            )

    def wait_finished(self, timeout_s: float) -> bool:
        """Wait for the reader thread to end by itself (it gave up, or ``wait`` said stop); True if it did."""
        if self._thread is None:
            return True
        self._thread.join(timeout_s)
        return not self._thread.is_alive()

    # -- reader thread -------------------------------------------------

    def _push(self, item: StreamItem) -> None:
        with self._ready:
            if isinstance(item, StreamFrame):
                frames = sum(isinstance(i, StreamFrame) for i in self._items)
                if frames >= self.settings.buffer_frames:
                    # drop the oldest frame, never a gap notice
                    for k, queued in enumerate(self._items):
                        if isinstance(queued, StreamFrame):
                            del self._items[k]
                            self._state.frames_dropped += 1
                            break
            self._items.append(item)
            self._ready.notify_all()

    def _begin_gap(self, reason: str, since: dt.datetime | None) -> None:
        with self._ready:
            self._state.connected = False
            if self._state.open_gap is None:
                self._state.open_gap = Gap(since or self._clock(), None, reason)
            else:
                self._state.open_gap.attempts += 1
                self._state.open_gap.last_error = reason

    def _run(self) -> None:
        index = 0
        failures = 0  # failed attempts in a row
        last_frame_at: dt.datetime | None = None
        had_frame = False
        shown = redact_url(self.url)
        while not self._stop.is_set():
            reason = self._read_until_drop(index)
            if isinstance(reason, int):  # frames were read, then the stream ended
                delivered = reason
                index += delivered
                if delivered:
                    had_frame = True
                    failures = 0
                    last_frame_at = self._last_time
                    reason = "the stream ended or stalled (no frame within the read time-out)"
                else:
                    reason = "opened, but no frame arrived"
            if self._stop.is_set():
                break
            failures += 1
            if not had_frame and failures >= self.settings.startup_attempts:
                self._push(
                    StreamFailed(
                        VideoError(
                            f"{shown}: cannot read the stream after {failures} attempts, the last: {reason}; "
                            "check the URL, the credentials and that the camera is reachable"
                        )
                    )
                )
                return
            if had_frame:
                self._begin_gap(reason, last_frame_at)
            else:
                with self._ready:
                    self._state.first_error = f"{reason} ({failures} attempts)"
            delay = self.settings.backoff(failures)
            self.backoffs.append(delay)
            if self._wait(delay):
                break
        with self._ready:
            self._state.connected = False

    def _read_until_drop(self, index: int) -> str | int:
        """Open and read until the stream fails: the number of frames read, or why opening failed."""
        try:
            capture = self._opener(self.url)
        except Exception as exc:  # a broken opener or backend counts as a failed attempt
            return f"could not open it: {exc}"
        count = 0
        try:
            if not capture.isOpened():
                return "could not open it (refused, unreachable, or not a video stream)"
            fps = float(capture.get(5) or 0.0)  # CAP_PROP_FPS
            while not self._stop.is_set():
                ok, image = capture.read()
                if not ok or image is None:
                    break
                h, w = image.shape[:2]
                # Stamped and queued under one lock: see watermark().
                with self._ready:
                    now = self._clock()
                    self._last_time = now
                    if count == 0:
                        self._end_gap(now)
                    self._push(StreamFrame(index + count, now, image, w, h, fps))
                    self._state.frames_read += 1
                count += 1
            return count
        except Exception as exc:
            # a backend that throws (OpenCV raises cv2.error when its decoder does) is a drop like
            # any other: the reader reconnects, instead of ending while the session waits on it
            return count if count else f"could not read it: {exc}"
        finally:
            capture.release()

    def _end_gap(self, now: dt.datetime) -> None:
        with self._ready:
            self._state.connected = True
            gap = self._state.open_gap
            if gap is None:
                return
            gap.end = now
            self._state.open_gap = None
            self._state.gaps.append(gap)
            self._state.reconnects += 1
        self._push(GapEnded(gap))
