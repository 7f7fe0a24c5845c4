"""The frame at a time, in containers where OpenCV cannot seek (an NVR's MPEG-TS)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from retail_intel.errors import VideoError
from retail_intel.vision import video as video_module
from retail_intel.vision.video import read_frame_at, read_frames

from .fakes import write_video


def _h264_ts(tmp_path: Path) -> Path:
    imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")
    source = write_video(tmp_path / "source.avi", frames=60)
    target = tmp_path / "nvr.ts"
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-y", "-i", str(source)]
    command += ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-f", "mpegts", str(target)]
    subprocess.run(command, check=True, timeout=120)
    return target


@pytest.mark.parametrize("seconds", [0.0, 2.5, 5.9])
def test_a_frame_of_an_h264_transport_stream_is_the_frame_at_that_time(tmp_path: Path, seconds: float) -> None:
    # snapshot of a 10 s H.264 .ts at 5s said "could not decode frame 50": OpenCV's seek fails there
    video = _h264_ts(tmp_path)
    decoded = {index: frame for index, frame in read_frames(video)}
    index, frame = read_frame_at(video, seconds, 10.0)
    assert index == round(seconds * 10)
    assert np.array_equal(frame, decoded[index])


class DriftingCapture:
    """30 frames (each filled with its index) whose seek lands ``drift`` frames off, as in a .ts."""

    def __init__(self, drift: int) -> None:
        self.position = 0
        self.drift = drift

    def set(self, prop: int, value: float) -> bool:
        self.position = int(value) + self.drift
        return True

    def get(self, prop: int) -> float:
        return float(self.position)

    def grab(self) -> bool:
        self.position += 1
        return self.position <= 30

    def read(self) -> tuple[bool, np.ndarray | None]:
        if self.position >= 30:
            return False, None
        self.position += 1
        return True, np.full((4, 4, 3), self.position - 1, np.uint8)

    def release(self) -> None:
        pass


@pytest.mark.parametrize("drift", [8, 100])
def test_a_seek_that_lands_elsewhere_or_fails_decodes_up_to_the_frame(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, drift: int
) -> None:
    # drift 8: the seek silently showed another frame; drift 100: it read nothing ("could not decode")
    video = write_video(tmp_path / "clip.avi", frames=30)
    monkeypatch.setattr(video_module, "probe", lambda path: video_module.VideoInfo(path, 4, 4, 10.0, 30))
    monkeypatch.setattr(video_module.cv2, "VideoCapture", lambda name: DriftingCapture(drift))
    index, frame = read_frame_at(video, 1.2, 10.0)
    assert index == 12
    assert int(frame[0, 0, 0]) == 12


def test_a_time_within_the_last_frame_is_the_last_frame_not_past_the_end(tmp_path: Path) -> None:
    # 30 frames at 10 fps last 3.0 s: 2.96 s rounded to frame 30 and was refused as past the end,
    # "asked for 2.96s (frame 30) but the video has 30 frames (3.0s at 10 fps)"
    video = write_video(tmp_path / "clip.avi", frames=30)
    last = {index: frame for index, frame in read_frames(video)}[29]
    index, frame = read_frame_at(video, 2.96, 10.0)
    assert index == 29 and np.array_equal(frame, last)
    with pytest.raises(VideoError, match=r"asked for 3s \(frame 30\) but the video has 30 frames"):
        read_frame_at(video, 3.0, 10.0)


def test_a_frame_past_the_end_of_a_raw_stream_says_how_long_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    video = write_video(tmp_path / "clip.avi", frames=30)
    monkeypatch.setattr(video_module, "probe", lambda path: video_module.VideoInfo(path, 4, 4, 10.0, 0))
    monkeypatch.setattr(video_module.cv2, "VideoCapture", lambda name: DriftingCapture(100))
    # a raw stream (.mjpeg, .h264) has no length in its header: 30 frames is not "truncated or corrupt"
    with pytest.raises(VideoError) as caught:
        read_frame_at(video, 4.0, 10.0)
    assert str(caught.value) == f"{video}: asked for 4s (frame 40) but the video has 30 frames (3.0s at 10 fps)"


def test_a_frame_past_where_a_truncated_video_breaks_off_says_where_it_ends(tmp_path: Path) -> None:
    # snapshot --at 60s of an AVI cut at 60% said only "could not decode frame 600"
    video = write_video(tmp_path / "cam.avi", frames=80)
    data = video.read_bytes()
    video.write_bytes(data[: len(data) // 2])
    decoded = sum(1 for _ in read_frames(video))
    message = f"could not decode frame 70: the video breaks off at frame {decoded}, though its header promises 80"
    with pytest.raises(VideoError, match=message):
        read_frame_at(video, 7.0, 10.0)
