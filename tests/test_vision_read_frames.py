"""Decoding ahead in a thread: a consumer that stops early leaves no decoder behind."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from retail_intel.vision import video as video_module
from retail_intel.vision.video import read_frames

from .fakes import write_video


def _decoders() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "retail-intel-decode" and t.is_alive()]


class CountingCapture:
    """A 100-frame video that says when the decoder has read ``signal_after`` frames."""

    def __init__(self, signal_after: int) -> None:
        self.read_count = 0
        self.signal_after = signal_after
        self.ahead = threading.Event()
        self.released = False

    def read(self) -> tuple[bool, np.ndarray | None]:
        self.read_count += 1
        if self.read_count >= self.signal_after:
            self.ahead.set()
        if self.read_count > 100:
            return False, None
        return True, np.zeros((4, 4, 3), np.uint8)

    def release(self) -> None:
        self.released = True


def test_stopping_after_a_few_frames_ends_the_decoder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a preview (--max-frames) reads a few frames of a long video: the decoder has filled its
    # queue by then and must not stay blocked on it, holding the file open, once the reader is gone
    prefetch, taken = 4, 3
    capture = CountingCapture(signal_after=taken + prefetch + 1)  # one more than the queue holds
    monkeypatch.setattr(video_module.cv2, "VideoCapture", lambda name: capture)
    before = _decoders()
    frames = read_frames(tmp_path / "long.avi", prefetch=prefetch)
    assert [next(frames)[0] for _ in range(taken)] == [0, 1, 2]
    assert capture.ahead.wait(timeout=60)  # the queue is full now, and the decoder waits on it
    frames.close()
    assert _decoders() == before
    assert capture.released


def test_reading_to_the_end_delivers_every_frame_once(tmp_path: Path) -> None:
    video = write_video(tmp_path / "short.avi", frames=12)
    assert [index for index, _ in read_frames(video, expected=12, prefetch=2)] == list(range(12))
    assert _decoders() == []
