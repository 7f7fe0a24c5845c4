"""Each frame's time in a recorded video: by the frame rate, or by its own timestamp.

Most recordings are evenly spaced, and frame ``i`` is at ``i / fps``. Many NVRs record a
variable frame rate instead (fewer frames while nothing moves, or frames dropped under load),
and their header's rate is an average: timed by it, a recording at 10 fps for 3 s and then at
2 fps for 15 s puts its 31st frame at 10 s instead of 3 s, and every dwell and time of day
after it is off by as much. The decoder's timestamps say where each frame really is.

Pure: takes the timestamps the decoder read, never opens a video.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

# A frame's timestamp may sit this far (in frame intervals) from ``index / fps`` and the video still
# counts as evenly spaced: containers round timestamps to their time base, and a rate such as
# 29.97 is stored as a fraction; half an interval is the most rounding can move a frame.
EVEN_TOLERANCE_FRAMES = 0.5

# A repeated timestamp is moved this far after the one before: far less than any frame interval.
MIN_STEP_S = 0.001

# More timestamps than this (a count, and a share of the frames) not after the one before mean the
# decoder has none to give (OpenCV says 0 for every frame of a raw stream), not a muxer's rounding
# (a variable-frame-rate file can repeat a percent or two of its stamps; a constant rate stored in
# stamps coarser than its interval, 0.1 s at 15 fps, repeats many).
MAX_STALLED = 2
MAX_STALLED_SHARE = 0.05
# A decoder flushed at the end of a file hands out at most this many frames it held back (B-frames).
MAX_FLUSHED = 16

BY_RATE = "frame rate"
BY_TIMESTAMPS = "timestamps"


def times_at(times: FloatArray, frames: npt.ArrayLike) -> FloatArray:
    """The times of ``frames`` in a video whose frames are at ``times``; past the last, on at their mean interval.

    So frame ``len(times)``, one past the last, is where the video ends (:meth:`FrameTiming.duration`).
    """
    index = np.asarray(frames, dtype=np.int64)
    last = len(times) - 1
    step = float(times[-1]) / last if last > 0 else 0.0
    return np.asarray(times[np.minimum(index, last)] + np.maximum(index - last, 0) * step, dtype=np.float64)


@dataclass(frozen=True)
class FrameTiming:
    """How a video's frames are timed: ``times`` (seconds from the first frame) where by timestamps."""

    by: str  # BY_RATE or BY_TIMESTAMPS
    times: FloatArray | None = None
    note: str | None = None  # why timestamps were not used although they disagree with the rate

    def last_t(self, frames: int, fps: float) -> float:
        """The last frame's time."""
        return float(self.times[-1]) if self.times is not None else (frames - 1) / fps

    def duration(self, frames: int, fps: float) -> float:
        """The time the video covers: up to the end of its last frame (one average interval after it)."""
        if self.times is None or frames < 2:
            return frames / fps
        return float(times_at(self.times, frames))


def time_frames(stamps_s: Sequence[float], fps: float) -> FrameTiming:
    """How to time frames whose decoder timestamps (seconds, any origin) are ``stamps_s``, at header rate ``fps``.

    By the rate where every timestamp is within half a frame of ``index / fps``: then both agree,
    and the rate keeps times exact multiples of the interval. Otherwise by the timestamps, counted
    from the first frame. A timestamp repeated, or a little behind the one before (at most a frame
    interval: muxers resolve rounding collisions so), is moved just after it. Timestamps that
    cannot time the video leave the rate, and ``note`` says why: not finite; more than a few not
    after the one before (a decoder that gives none says 0 for every frame: a raw H.264 stream
    in an .avi name); one further behind (a stream restarted inside the file, or one wrong stamp).
    """
    if fps <= 0 or not math.isfinite(fps):
        raise ValueError(f"fps must be a positive number, got {fps}")
    if len(stamps_s) < 2:
        return FrameTiming(BY_RATE)
    stamps = _flushed(np.asarray(stamps_s, dtype=np.float64), fps)
    if not np.isfinite(stamps).all():
        return FrameTiming(BY_RATE, note="the decoder gave no usable frame timestamps; frames timed by the frame rate")
    steps = np.diff(stamps)
    by_rate = np.arange(len(stamps), dtype=np.float64) / fps
    if float(np.abs(stamps - stamps[0] - by_rate).max()) <= EVEN_TOLERANCE_FRAMES / fps:
        return FrameTiming(BY_RATE)
    stalled = int((steps <= 0).sum())
    if stalled == len(steps) or stalled > max(MAX_STALLED, len(steps) * MAX_STALLED_SHARE):
        return FrameTiming(
            BY_RATE,
            note=(
                f"the decoder gave no usable frame timestamps ({stalled} of {len(stamps)} frames not after the "
                f"one before), so the header's {fps:g} fps could not be checked; frames timed by it"
            ),
        )
    back = np.flatnonzero(steps < -1.0 / fps)
    if len(back):
        at = int(back[0]) + 1
        return FrameTiming(
            BY_RATE,
            note=(
                f"the frames' timestamps jump back {stamps[at - 1] - stamps[at]:.2f} s at frame {at} (a stream "
                "restarted inside the file, or a frame with a wrong timestamp), so they cannot time it; frames "
                "timed by the frame rate"
            ),
        )
    times = _increasing(stamps - stamps[0])
    if float(np.abs(times - by_rate).max()) <= EVEN_TOLERANCE_FRAMES / fps:
        return FrameTiming(BY_RATE)
    return FrameTiming(BY_TIMESTAMPS, times=times)


def _flushed(stamps: FloatArray, fps: float) -> FloatArray:
    """``stamps`` with a run of zeros at the end, after later ones, carried on at the rate instead.

    OpenCV gives the frames a decoder hands out as it is flushed at the end of the file (those
    held back for B-frames) no timestamp, and says 0: they are not a stream restarting.
    """
    nonzero = np.flatnonzero(stamps != 0)
    if not len(nonzero) or nonzero[-1] == len(stamps) - 1 or stamps[nonzero[-1]] <= 0:
        return stamps
    if len(stamps) - 1 - nonzero[-1] > MAX_FLUSHED:
        return stamps  # more than a flush: the stamps stop, and the checks below say so
    last = int(nonzero[-1])
    out = stamps.copy()
    out[last + 1 :] = stamps[last] + np.arange(1, len(stamps) - last) / fps
    return out


def _increasing(times: FloatArray) -> FloatArray:
    """``times`` with each one not after its predecessor moved to ``MIN_STEP_S`` after it."""
    steps = np.arange(len(times), dtype=np.float64) * MIN_STEP_S
    return np.asarray(np.maximum.accumulate(times - steps) + steps, dtype=np.float64)


class UnseenIntervals:
    """How many frame intervals a variable-frame-rate recording left out before each tracked frame.

    A tracker counts frames: its lost-track buffer and its velocities are per frame. Where a
    recording leaves frames out (an NVR recording fewer while little moves), the next frame can be
    many intervals on, and a tracker taking it for one keeps a lost person for a multiple of its
    buffer in time and predicts a walker a fraction of the way they went. The tracker coasts
    through the intervals left out instead, as through the frames adaptive stride skips.

    Read online, as the frames are decoded (``stamps`` may still grow): no interval is unseen while
    every timestamp so far is within half an interval of ``index / fps`` (an evenly spaced file is
    tracked as it always was), nor once they are unusable by :func:`time_frames`'s tests (one not
    finite or jumping back: for good; more than a few not after the one before: while they are, of
    the frames so far). Rounding is carried from frame to frame, so frames jittering around the
    rate leave nothing out and a frame every 1.4 intervals leaves 2 out of 5.
    """

    def __init__(self, stamps: Sequence[float], fps: float, stride: int = 1) -> None:
        if fps <= 0 or not math.isfinite(fps) or stride < 1:
            raise ValueError(f"fps must be a positive number and stride at least 1, got {fps} and {stride}")
        self._stamps = stamps
        self._fps = fps
        self._interval = stride / fps  # between two frames the tracker sees
        self._read = 0  # stamps checked so far
        self._uneven = False
        self._broken = False  # a stamp not finite, or one jumping back: for good, as time_frames judges it
        self._stalled = 0
        self._last: int | None = None  # the frame of the last call
        # intervals the tracker's clock is behind the stamps (ahead where negative): rounding carried
        # on, so frames jittering around the rate coast nothing and stamps coarser than it never do
        self._behind = 0.0

    def _check(self, upto: int) -> None:
        stamps, fps = self._stamps, self._fps
        for i in range(self._read, upto + 1):
            stamp = stamps[i]
            if not math.isfinite(stamp):
                self._broken = True
            elif i > 0:
                step = stamp - stamps[i - 1]
                if step <= 0:
                    self._stalled += 1
                if step < -1.0 / fps:
                    self._broken = True
                if abs(stamp - stamps[0] - i / fps) > EVEN_TOLERANCE_FRAMES / fps:
                    self._uneven = True
        self._read = max(self._read, upto + 1)

    def before(self, index: int) -> int:
        """The intervals left out between the last call's frame and frame ``index`` (calls in frame order)."""
        self._check(index)
        last, self._last = self._last, index
        # a few stamps not after the one before are a muxer's rounding, a share of those so far is no stamps
        # (time_frames judges the share over the whole file; here it is judged again at each frame)
        stalled = self._stalled > max(MAX_STALLED, index * MAX_STALLED_SHARE)
        if last is None or not self._uneven or self._broken or stalled:
            self._behind = 0.0
            return 0
        ticks = (self._stamps[index] - self._stamps[last]) / self._interval + self._behind
        seen = max(1, math.floor(ticks + 0.5))
        # rounding to the nearest interval leaves it at most half an interval behind
        self._behind = max(-MAX_AHEAD, ticks - seen)
        return seen - 1


# How far (in intervals) UnseenIntervals lets the tracker's clock run ahead of the stamps: two (a
# pair or three of frames sent together, stamps coarser than the interval), so that where an MP4's
# header gives its average rate, a dense stretch (every frame one interval, many within one) does
# not swallow the gaps after it. Frames arriving in bursts of four or more within one interval
# (stamped as a network camera's packets arrive) make the clock run fast by the excess.
MAX_AHEAD = 2.0
