"""The stream reader: reconnection with back-off and gap records, driven by fake captures and a fake clock."""

from __future__ import annotations

import datetime as dt
import signal
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from retail_intel.live.signals import stop_on_signals
from retail_intel.live.stream import (
    Capture,
    GapEnded,
    StreamFailed,
    StreamFrame,
    StreamItem,
    StreamReader,
    StreamSettings,
)
from retail_intel.live.urls import is_stream_url, redact_url, safe_name

from .live_fakes import START, FakeCapture, FakeClock

# Each entry is one attempt to open the stream: None fails to open, N opens and delivers N frames.
Script = list[int | None]


# How long a wait below may take before the test calls it a hang: it bounds a hang, not the speed
# (a busy 2-core CI machine can pause a thread or a request for many seconds).
HANG_S = 180


class Harness:
    """A reader whose opener plays ``script``; waiting advances the fake clock instead of sleeping."""

    def __init__(self, script: Script, settings: StreamSettings | None = None) -> None:
        self.clock = FakeClock()
        self.script = list(script)
        self.opened = 0
        self.reader = StreamReader(
            "rtsp://user:pw@cam.local/1",
            settings or StreamSettings(startup_attempts=3),
            opener=self.open,
            clock=self.clock,
            wait=self.wait,
        )

    def open(self, url: str) -> Capture:
        self.opened += 1
        step = self.script.pop(0) if self.script else None
        return FakeCapture(self.clock, opened=step is not None, frames=step or 0)

    def wait(self, seconds: float) -> bool:
        self.clock.advance(seconds)
        return not self.script  # script over: stop instead of retrying forever

    def items(self) -> list[StreamItem]:
        self.reader.start()
        assert self.reader.wait_finished(HANG_S), "the reader thread did not end"
        out = []
        for _ in range(10_000):
            item = self.reader.next(0.0)
            if item is None:
                break
            out.append(item)
        self.reader.stop()
        return out


def test_reconnects_with_doubling_back_off_and_records_the_gap() -> None:
    settings = StreamSettings(first_backoff_s=1.0, max_backoff_s=10.0, startup_attempts=3, buffer_frames=100)
    h = Harness([5, None, None, None, None, 3, None], settings)
    items = h.items()
    frames = [i for i in items if isinstance(i, StreamFrame)]
    gaps = [i.gap for i in items if isinstance(i, GapEnded)]
    # frame numbers run on across the reconnect; the gap notice comes before the first frame after it
    assert [f.index for f in frames] == list(range(8))
    assert [type(i).__name__ for i in items[4:7]] == ["StreamFrame", "GapEnded", "StreamFrame"]
    # after the drop: 1 s, then four failed opens waiting 2, 4, 8 and 10 (capped) s;
    # after the second drop it starts over at 1 s
    assert h.reader.backoffs == [1.0, 2.0, 4.0, 8.0, 10.0, 1.0, 2.0]
    (gap,) = gaps
    assert gap.start == START + dt.timedelta(seconds=0.5)  # the fifth frame, read at 0.1 s a frame
    assert gap.seconds == pytest.approx(1 + 2 + 4 + 8 + 10 + 0.1)
    assert gap.attempts == 4
    assert "ended" in gap.reason
    assert gap.last_error == "could not open it (refused, unreachable, or not a video stream)"
    state = h.reader.state()
    assert state.reconnects == 1 and state.frames_read == 8 and state.gaps == [gap]
    # the stream dropped again at the end and never came back: an open gap
    assert state.open_gap is not None and state.open_gap.end is None
    assert state.open_gap.start == START + dt.timedelta(seconds=0.5 + 25 + 0.3)
    assert state.open_gap.attempts == 1 and "ended" in state.open_gap.reason


class ThrowingCapture(FakeCapture):
    """Delivers its frames, then its decoder throws (OpenCV raises cv2.error when its C++ code does)."""

    def read(self) -> tuple[bool, object]:
        if self.opened and self.left <= 0:
            raise RuntimeError("Unknown C++ exception from OpenCV code")
        return super().read()


def test_a_decoder_that_throws_is_a_drop_the_reader_reconnects_from() -> None:
    settings = StreamSettings(first_backoff_s=1.0, startup_attempts=3, buffer_frames=100)
    h = Harness([3, 2], settings)

    def open_throwing(url: str) -> Capture:
        h.opened += 1
        return ThrowingCapture(h.clock, opened=True, frames=h.script.pop(0))

    h.reader = StreamReader("rtsp://cam.local/1", settings, opener=open_throwing, clock=h.clock, wait=h.wait)
    items = h.items()
    # three frames, the throw ends that connection like a drop, a reconnect, two more frames
    assert [type(i).__name__ for i in items] == ["StreamFrame"] * 3 + ["GapEnded"] + ["StreamFrame"] * 2
    assert h.opened == 2
    state = h.reader.state()
    assert state.reconnects == 1 and state.frames_read == 5
    assert state.open_gap is not None and "could not read it" not in state.open_gap.reason  # frames came first


def test_before_a_first_frame_the_state_says_why_the_latest_attempt_failed() -> None:
    # the session names it when --duration ends before a frame came (nothing else records it)
    h = Harness([None, None], StreamSettings(first_backoff_s=1.0, startup_attempts=10))
    assert h.items() == []
    assert (
        h.reader.state().first_error == "could not open it (refused, unreachable, or not a video stream) (2 attempts)"
    )


def test_gives_up_before_a_first_frame_with_a_clear_error() -> None:
    h = Harness([None, None, None, None], StreamSettings(first_backoff_s=1.0, startup_attempts=3))
    items = h.items()
    (failed,) = items
    assert isinstance(failed, StreamFailed)
    message = str(failed.error)
    assert "after 3 attempts" in message and "rtsp://cam.local/1" in message
    assert "pw" not in message  # no password in messages
    assert h.reader.backoffs == [1.0, 2.0] and h.opened == 3


def test_a_slow_consumer_loses_the_oldest_frames_never_a_gap_notice() -> None:
    h = Harness([6, None, 4, None], StreamSettings(first_backoff_s=1.0, buffer_frames=2, startup_attempts=3))
    items = h.items()
    frames = [i.index for i in items if isinstance(i, StreamFrame)]
    assert frames == [8, 9]  # the newest two
    assert sum(isinstance(i, GapEnded) for i in items) == 1
    assert h.reader.state().frames_dropped == 8


def test_watermark_is_the_oldest_waiting_frame_or_the_clock() -> None:
    h = Harness([3, None], StreamSettings(first_backoff_s=1.0, buffer_frames=10, startup_attempts=3))
    h.reader.start()
    assert h.reader.wait_finished(HANG_S)
    # three frames wait, read at 0.1, 0.2 and 0.3 s; nothing older can still arrive
    assert h.reader.watermark() == START + dt.timedelta(seconds=0.1)
    first = h.reader.next(0.0)
    assert isinstance(first, StreamFrame) and h.reader.watermark() == START + dt.timedelta(seconds=0.2)
    while h.reader.next(0.0) is not None:
        pass
    assert h.reader.watermark() == h.clock.now
    h.reader.stop()


@given(
    first=st.floats(0.01, 5.0),
    cap=st.floats(0.01, 60.0),
    failures=st.integers(1, 40),
)
def test_back_off_doubles_and_never_exceeds_its_cap(first: float, cap: float, failures: int) -> None:
    s = StreamSettings(first_backoff_s=first, max_backoff_s=cap)
    delay = s.backoff(failures)
    assert 0 < delay <= cap
    assert delay == pytest.approx(min(cap, first * 2 ** (failures - 1)))
    assert s.backoff(failures + 1) >= delay


def test_stop_ends_a_reader_that_is_waiting_to_reconnect() -> None:
    # a reader that can never open, with a real (interruptible) wait
    reader = StreamReader(
        "udp://127.0.0.1:9",
        StreamSettings(first_backoff_s=30.0, startup_attempts=1_000),
        opener=lambda url: FakeCapture(FakeClock(), opened=False),
    )
    reader.start()
    reader.stop()
    assert reader.wait_finished(HANG_S)


def test_sigterm_sets_the_stop_event_and_handlers_are_restored() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with stop_on_signals() as stop:
        assert signal.getsignal(signal.SIGTERM) is not before
        signal.raise_signal(signal.SIGTERM)
        assert stop.is_set()
    assert signal.getsignal(signal.SIGTERM) is before


def test_stop_on_signals_off_the_main_thread_installs_nothing() -> None:
    # compared with the handlers as they are, not with Python's defaults: the process-wide
    # handlers are whatever the test run left them, and "installs nothing" means unchanged
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    seen: list[bool] = []

    def body() -> None:
        with stop_on_signals() as stop:
            seen.append(all(signal.getsignal(s) is handler for s, handler in before.items()))
            seen.append(stop.is_set())

    worker = threading.Thread(target=body)
    worker.start()
    worker.join(HANG_S)
    assert seen == [True, False]


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("rtsp://admin:secret@10.0.0.7:554/stream1", "rtsp://10.0.0.7:554/stream1"),
        ("rtsp://admin@cam/1?x=1", "rtsp://cam/1?x=1"),
        ("http://[::1]:8080/video", "http://[::1]:8080/video"),
        ("rtsp://u:p@[fe80::1]:554/a", "rtsp://[fe80::1]:554/a"),
        ("udp://127.0.0.1:5000", "udp://127.0.0.1:5000"),
        # a password with '#' or '?' not percent-encoded: urlsplit sees no credentials, and it was shown whole
        ("rtsp://admin:pa#ss@10.0.0.7:554/stream1", "rtsp://10.0.0.7:554/stream1"),
        ("rtsp://admin:pa?ss@cam/1", "rtsp://cam/1"),
        ("rtsp://admin:a#b@c@cam", "rtsp://cam"),
        ("rtsp://admin:pa/ss@cam/1", "rtsp://cam/1"),
        ("http://cam:8080/a?u=me@x/y", "http://cam:8080/a?u=me@x/y"),
        ("http://[::1]:8080/a?u=me@x", "http://[::1]:8080/a?u=me@x"),
        # a bad port was dropped from what is shown
        ("rtsp://admin:secret@cam:99999/x", "rtsp://cam:99999/x"),
        # an '@' in the query or fragment is no password
        ("http://cam/a?next=x@y", "http://cam/a?next=x@y"),
        ("http://cam?mail=x@y", "http://cam?mail=x@y"),
        ("http://cam:8080/#a@b", "http://cam:8080/#a@b"),
    ],
)
def test_credentials_are_removed_from_urls(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_what_counts_as_a_stream_url() -> None:
    assert is_stream_url("rtsp://cam/1") and is_stream_url("srt://host:9000") and is_stream_url("tcp://h:1")
    assert not is_stream_url("videos/cam1.mp4") and not is_stream_url("C:\\videos\\a.mp4")
    assert safe_name("entrance/left cam") == "entrance_left_cam"
