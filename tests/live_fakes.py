"""Test doubles for live streams: a clock that only moves when told, a scripted frame source, a fake capture."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from retail_intel.live.stream import Frame, Gap, GapEnded, SourceState, StreamFailed, StreamFrame, StreamItem

START = dt.datetime(2026, 2, 8, 10, 0, tzinfo=dt.UTC)


class FakeClock:
    """Wall-clock stand-in: time moves only through :meth:`advance`."""

    def __init__(self, start: dt.datetime = START) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


def blank(width: int = 320, height: int = 240, shade: int = 40) -> Frame:
    return np.full((height, width, 3), shade, np.uint8)


@dataclass(frozen=True)
class Frames:
    """``count`` frames at ``fps``; each differs from the last, so the motion gate lets all through."""

    count: int
    fps: float = 10.0
    size: tuple[int, int] = (320, 240)


@dataclass(frozen=True)
class Drop:
    """The stream is away for ``seconds``; ``reason`` as the reader would record it."""

    seconds: float
    reason: str = "the stream ended or stalled"
    attempts: int = 2


@dataclass(frozen=True)
class ClockStep:
    """The wall clock is set by ``seconds`` (negative: back) without any frame missing."""

    seconds: float


@dataclass(frozen=True)
class Fail:
    """The stream could not be read at all (only before a first frame)."""

    message: str


class ScriptedSource:
    """A :class:`~retail_intel.live.stream.FrameSource` that plays a script and moves the clock.

    Each frame advances the clock by one frame interval; once the script is
    over, every poll advances it by the poll time (a camera that went quiet),
    so a session with a ``duration`` always ends.
    """

    def __init__(self, clock: FakeClock, script: list[Frames | Drop | ClockStep | Fail]) -> None:
        self.clock = clock
        self._items = self._play(script)
        self._state = SourceState(connected=False)
        self.started = self.stopped = False
        self.polls = 0

    def _play(self, script: list[Frames | Drop | ClockStep | Fail]) -> Iterator[StreamItem]:
        index = 0
        for step in script:
            if isinstance(step, Frames):
                for _ in range(step.count):
                    self.clock.advance(1.0 / step.fps)
                    image = blank(*step.size, shade=40 + 100 * (index % 2))  # every frame "moves"
                    self._state.connected = True
                    self._state.frames_read += 1
                    yield StreamFrame(index, self.clock.now, image, step.size[0], step.size[1], step.fps)
                    index += 1
            elif isinstance(step, Drop):
                gap = Gap(self.clock.now, None, step.reason, step.attempts)
                self._state.connected = False
                self._state.open_gap = gap
                self.clock.advance(step.seconds)
                gap.end = self.clock.now
                self._state.open_gap = None
                self._state.gaps.append(gap)
                self._state.reconnects += 1
                yield GapEnded(gap)
            elif isinstance(step, ClockStep):
                self.clock.advance(step.seconds)
            else:
                from retail_intel.errors import VideoError

                yield StreamFailed(VideoError(step.message))

    def start(self) -> None:
        self.started = True

    def next(self, timeout_s: float) -> StreamItem | None:
        self.polls += 1
        if self.polls > 1_000_000:  # a session that never ends is a bug; fail instead of hanging
            raise AssertionError("the session polled its source a million times")
        item = next(self._items, None)
        if item is None and timeout_s > 0:
            self.clock.advance(timeout_s)
        return item

    def stop(self) -> None:
        self.stopped = True

    def watermark(self) -> dt.datetime:
        # items are made when asked for, each frame after a clock step: nothing is ever waiting
        return self.clock.now

    def state(self) -> SourceState:
        s = self._state
        return SourceState(s.connected, s.frames_read, s.frames_dropped, s.reconnects, s.open_gap, list(s.gaps))


class FakeCapture:
    """``cv2.VideoCapture`` stand-in: opens or not, then yields ``frames`` frames and reports the end."""

    def __init__(self, clock: FakeClock, opened: bool, frames: int = 0, fps: float = 10.0) -> None:
        self.clock = clock
        self.opened = opened
        self.left = frames
        self.fps = fps
        self.released = False

    def isOpened(self) -> bool:  # OpenCV's spelling
        return self.opened

    def read(self) -> tuple[bool, Frame | None]:
        if not self.opened or self.left <= 0:
            return False, None
        self.left -= 1
        self.clock.advance(1.0 / self.fps)
        return True, blank()

    def get(self, prop_id: int) -> float:
        return self.fps if prop_id == 5 else 0.0

    def release(self) -> None:
        self.released = True
