"""Frames of a variable-frame-rate recording timed by their own timestamps, not by the header's average rate."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from retail_intel.errors import VideoError
from retail_intel.movements.store import read_movements
from retail_intel.movements.tracks import TrackAccumulator
from retail_intel.pipeline.frame_times import (
    BY_RATE,
    BY_TIMESTAMPS,
    MIN_STEP_S,
    FrameTiming,
    UnseenIntervals,
    time_frames,
)
from retail_intel.pipeline.loop import FrameLoop, LoopSettings
from retail_intel.pipeline.plan import make_plan
from retail_intel.pipeline.run import process_video
from retail_intel.vision.detections import Detections
from retail_intel.vision.tracker import TrackerSettings
from retail_intel.vision.video import Frame, read_frames

from .fakes import Box, ScriptedDetector, person_box, write_video
from .test_pipeline import START, request

# An NVR that records 10 fps while someone walks in and 1 fps while they stand: frames 0-19 are
# 0.1 s apart, frames 20-59 one second apart, so frame 59 is at 41 s. Its header's rate is the average.
VFR_TIMES = [i / 10 for i in range(20)] + [2.0 + (i - 20) for i in range(20, 60)]


def write_numbered_video(path: Path, frames: int = 60) -> Path:
    """An MJPG AVI at 10 fps whose frame k shows k as 8 bits, each a black or white block (read back by :func:`frame_numbers`)."""
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 10.0, (320, 240))
    for k in range(frames):
        frame = np.zeros((240, 320, 3), np.uint8)
        for bit in range(8):
            if k >> bit & 1:
                frame[200:240, bit * 40 : bit * 40 + 40] = 255
        writer.write(frame)
    writer.release()
    return path


def frame_numbers(video: Path) -> list[int]:
    """The numbers :func:`write_numbered_video` drew, frame by frame."""
    numbers = []
    for _, frame in read_frames(video):
        grey = frame[200:240].mean(axis=(0, 2))
        numbers.append(sum(1 << bit for bit in range(8) if grey[bit * 40 + 10 : bit * 40 + 30].mean() > 128))
    return numbers


def walks_in_and_stands(frame: int) -> list[Box]:
    """One person walking into the ROI (100..220 x 80..200) over frames 0-19 and standing there."""
    return [person_box(20 + min(frame, 20) * 6, 150)]


def vfr_video(
    tmp_path: Path,
    source: Path | None = None,
    video: Path | None = None,
    *,
    b_frames: bool = False,
    gop: int = 250,
    faststart: bool = False,
    stamps: str = "if(lt(N,20),N*100,2000+(N-20)*1000)",  # in ms, the time base set before
) -> Path:
    """An H.264 MP4 of 60 frames with the timestamps of ``VFR_TIMES`` (whole milliseconds; B-frames if asked).

    With B-frames the header's average rate comes out higher (1.53 fps against 1.46), so frames / fps
    ends the video at 39.3 s, before its last frame (41 s).
    """
    imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")
    source = source or write_video(tmp_path / "even.avi", frames=60, fps=10)
    video = video or tmp_path / "cam.mp4"
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-y", "-i", str(source)]
    command += ["-vf", f"settb=1/1000,setpts='{stamps}'", "-fps_mode", "passthrough"]
    if video.suffix == ".mp4":
        command += ["-video_track_timescale", "1000", *(["-movflags", "+faststart"] if faststart else [])]
    command += [
        "-c:v",
        "wmv2" if video.suffix in (".asf", ".wmv") else "libx264",
        *([] if b_frames else ["-bf", "0"]),
        "-g",
        str(gop),
        "-pix_fmt",
        "yuv420p",
        str(video),
    ]
    subprocess.run(command, check=True)
    return video


def test_evenly_spaced_timestamps_keep_the_rate() -> None:
    # a container's origin and rounding to its time base (here whole ms at 29.97 fps) change nothing
    stamps = [12.5 + round(i / 29.97, 3) for i in range(300)]
    timing = time_frames(stamps, 29.97)
    assert (timing.by, timing.times, timing.note) == (BY_RATE, None, None)
    assert timing.last_t(300, 29.97) == 299 / 29.97
    assert timing.duration(300, 29.97) == 300 / 29.97


def test_uneven_timestamps_time_the_frames_from_the_first() -> None:
    stamps = [100.0 + t for t in VFR_TIMES]
    timing = time_frames(stamps, 60 / 42)  # the header's average rate
    assert timing.by == BY_TIMESTAMPS
    assert timing.times is not None
    np.testing.assert_allclose(timing.times, VFR_TIMES)
    assert timing.last_t(60, 60 / 42) == pytest.approx(41.0)
    assert timing.duration(60, 60 / 42) == pytest.approx(41.0 * 60 / 59)  # one average interval after the last


def test_a_repeated_timestamp_is_moved_just_after_the_one_before() -> None:
    # muxers resolve rounding collisions by putting a frame on (or a tick after) its predecessor's time
    stamps = [0.0, 0.1, 0.2, 0.2, 0.15, 1.2, 2.2]
    timing = time_frames(stamps, 10)
    assert timing.by == BY_TIMESTAMPS and timing.times is not None
    np.testing.assert_allclose(timing.times, [0.0, 0.1, 0.2, 0.2 + MIN_STEP_S, 0.2 + 2 * MIN_STEP_S, 1.2, 2.2])


@pytest.mark.parametrize(
    ("stamps", "message"),
    [
        ([0.0, 0.1, 5.0, 0.3, 0.4], r"jump back 4.70 s at frame 3 \(a stream restarted inside the file, or a frame"),
        ([0.0, float("nan"), 0.2], "no usable frame timestamps"),
        # OpenCV says 0 for every frame of a raw H.264 stream saved under an .avi name: not 250 frames in 0.25 s
        (
            [0.0] * 250,
            r"no usable frame timestamps \(249 of 250 frames not after the one before\), so the header's 10 fps",
        ),
    ],
)
def test_timestamps_that_cannot_time_the_video_leave_the_rate_and_say_so(stamps: list[float], message: str) -> None:
    timing = time_frames(stamps, 10)
    assert timing.by == BY_RATE and timing.times is None
    assert timing.note is not None and re.search(message, timing.note)  # the run's summary shows it


def test_the_last_frames_of_a_flushed_decoder_have_no_timestamp_and_no_warning() -> None:
    # OpenCV says 0 for the frames a decoder hands out as it is flushed (an H.264 AVI with B-frames):
    # read as a stream restarting, they warned on an evenly spaced file
    stamps = [0.08 + i / 25 for i in range(298)] + [0.0, 0.0]
    assert time_frames(stamps, 25) == FrameTiming(BY_RATE)
    uneven = [t + 5 for t in VFR_TIMES[:-2]] + [0.0, 0.0]  # also when timed by the timestamps
    timing = time_frames(uneven, 60 / 42)
    assert timing.by == BY_TIMESTAMPS and timing.times is not None
    np.testing.assert_allclose(timing.times[:-2], VFR_TIMES[:-2])
    np.testing.assert_allclose(timing.times[-2:], [39 + 42 / 60, 39 + 2 * 42 / 60])


def test_stamps_coarser_than_the_frame_interval_leave_the_rate() -> None:
    # 15 fps stored in 0.1 s stamps: a third of them repeat, and the frames are not 1 ms apart
    timing = time_frames([round(i / 15, 1) for i in range(150)], 15)
    assert timing.by == BY_RATE and timing.note is not None and "no usable frame timestamps" in timing.note


def test_stamps_that_stop_for_longer_than_a_flush_are_no_flush() -> None:
    # a decoder holds back at most 16 frames: 20 without stamps at the end are stamps that stop, said so
    timing = time_frames([i / 10 for i in range(60)] + [0.0] * 20, 10)
    assert timing.by == BY_RATE and timing.note is not None and "(20 of 80 frames not after" in timing.note


def test_a_few_frames_without_timestamps_are_not_squeezed_into_milliseconds() -> None:
    timing = time_frames([0.0, 0.0, 0.0], 25)
    assert timing.by == BY_RATE and timing.note is not None and "no usable frame timestamps" in timing.note


def test_a_single_frame_and_a_bad_rate() -> None:
    assert time_frames([3.0], 10).by == BY_RATE
    with pytest.raises(ValueError, match="fps must be a positive number"):
        time_frames([0.0, 0.1], 0)


@settings(max_examples=200, deadline=None)
@given(
    fps=st.floats(1, 240),
    n=st.integers(2, 400),
    origin=st.floats(-1e4, 1e4),
    jitter=st.lists(st.floats(-0.49, 0.49), min_size=400, max_size=400),
)
def test_any_timestamps_within_half_a_frame_of_the_rate_keep_it(
    fps: float, n: int, origin: float, jitter: list[float]
) -> None:
    stamps = [origin + (i + jitter[i] * (i > 0)) / fps for i in range(n)]
    assert time_frames(stamps, fps).by == BY_RATE


@settings(max_examples=200, deadline=None)
@given(steps=st.lists(st.floats(0.002, 5.0), min_size=1, max_size=200), fps=st.floats(1, 60))
def test_timed_by_timestamps_the_times_are_the_stamps_and_increase(steps: list[float], fps: float) -> None:
    stamps = np.concatenate([[0.0], np.cumsum(steps)])
    timing = time_frames(stamps.tolist(), fps)
    if timing.by == BY_TIMESTAMPS:
        assert timing.times is not None
        np.testing.assert_allclose(timing.times, stamps, atol=1e-9)
        assert (np.diff(timing.times) > 0).all()
    else:  # the rate, only where it agrees with every stamp within half a frame
        assert np.abs(stamps - np.arange(len(stamps)) / fps).max() <= 0.5 / fps + 1e-12


def test_the_accumulator_moves_each_sample_to_its_frames_time() -> None:
    acc = TrackAccumulator()
    one = Detections(np.array([[0, 0, 10, 20]], np.float32), np.array([0.9], np.float32), np.array([7], np.int64))
    for frame in (0, 1, 3):
        acc.add(frame, frame / 10, one)
    acc.retime(np.array([0.0, 0.5, 2.0, 9.0]))
    (track,) = acc.tracks()
    assert track.t.tolist() == [0.0, 0.5, 9.0]
    assert acc.to_table().column("t").to_pylist() == [0.0, 0.5, 9.0]
    with pytest.raises(ValueError, match="times cover 2 frames, but a sample is of frame 3"):
        acc.retime(np.array([0.0, 0.5]))


def test_read_frames_hands_out_each_frames_timestamp(tmp_path: Path) -> None:
    video = vfr_video(tmp_path)
    stamps: list[float] = []
    assert [index for index, _ in read_frames(video, stamps=stamps)] == list(range(60))
    np.testing.assert_allclose(stamps[:60], VFR_TIMES, atol=0.002)


def test_a_variable_frame_rate_video_is_timed_by_its_timestamps(tmp_path: Path) -> None:
    # timed by the header's average rate (60 frames over 42 s: 1.43 fps), the person who walked in
    # at 1.4 s was put inside at 9.8 s and gone at 41 s; and a 10 fps rate would end the video at 5.9 s
    video = vfr_video(tmp_path)
    plan = make_plan(request(video, tmp_path / "data"))
    result = process_video(plan, detector_factory=lambda p: ScriptedDetector(walks_in_and_stands))
    summary = result.summary
    assert summary.frame_times == BY_TIMESTAMPS
    assert summary.fps == pytest.approx(60 / 42, rel=0.05)
    assert summary.duration_s == pytest.approx(41 * 60 / 59, abs=0.01)
    (row,) = read_movements(tmp_path / "data").to_pylist()
    assert row["action_type"] == "entered"
    # the foot crosses x = 100 at frame 14 (1.4 s) and is inside until frame 59 (41 s)
    assert row["enter_time"] == START + dt.timedelta(seconds=1.4)
    assert row["exit_time"] == START + dt.timedelta(seconds=41)
    assert row["dwell_seconds"] == pytest.approx(39.6)
    # the stored tracks keep those times: judged again, the same row
    again = process_video(plan, detector_factory=lambda p: ScriptedDetector(walks_in_and_stands))
    assert again.summary.tracks.startswith("reused") and again.summary.frame_times == BY_TIMESTAMPS
    assert again.summary.duration_s == summary.duration_s
    timing = ("enter_time", "exit_time", "dwell_seconds", "first_seen", "last_seen")
    (again_row,) = read_movements(tmp_path / "data").to_pylist()
    assert [again_row[k] for k in timing] == [row[k] for k in timing]


@pytest.mark.parametrize("suffix", [".mkv", ".ts", ".asf"])
def test_a_variable_frame_rate_matroska_or_mpeg_ts_file_is_whole_and_timed_by_its_timestamps(
    tmp_path: Path, suffix: str
) -> None:
    # These carry no frame count: OpenCV estimates 411 from their length at the 10 fps they report, and
    # the 60 frames that came were taken for a file broken off at frame 60 (even with --fps)
    video = vfr_video(tmp_path, video=tmp_path / f"cam{suffix}")
    plan = make_plan(request(video, tmp_path / "data"))
    result = process_video(plan, detector_factory=lambda p: ScriptedDetector(walks_in_and_stands))
    assert (result.summary.frames, result.summary.frame_times) == (60, BY_TIMESTAMPS)
    (row,) = read_movements(tmp_path / "data").to_pylist()
    assert row["exit_time"] == START + dt.timedelta(seconds=41)
    if suffix in (".ts", ".asf"):
        return  # cut short, these give a shorter length too: nothing tells them from a short recording
    # cut short, a Matroska file is still a break: its timestamps end before the length its header keeps
    broken = tmp_path / f"broken{suffix}"
    broken.write_bytes(video.read_bytes()[: video.stat().st_size // 2])
    with pytest.raises(VideoError, match=r"breaks off at frame \d+ of the \d+ its header promises"):
        process_video(
            make_plan(request(broken, tmp_path / "data2")),
            detector_factory=lambda p: ScriptedDetector(walks_in_and_stands),
        )


def test_a_variable_frame_rate_mp4_cut_short_is_still_a_break(tmp_path: Path) -> None:
    # An MP4 counts its frames exactly: its timestamps reaching the header's length excuse nothing.
    # 200 frames at 1 fps, then 100 at 25 fps; cut at 97%, the frames left reach 203 s of the 204 s.
    source = write_video(tmp_path / "even.avi", frames=300, fps=10)
    dense_end = "if(lt(N,200),N*1000,200000+(N-200)*40)"
    video = vfr_video(tmp_path, source, faststart=True, stamps=dense_end)  # its index first: the start still opens
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(video.read_bytes()[: video.stat().st_size * 97 // 100])
    with pytest.raises(VideoError, match=r"breaks off at frame \d+ of the 300 its header promises"):
        process_video(
            make_plan(request(broken, tmp_path / "data")),
            detector_factory=lambda p: ScriptedDetector(walks_in_and_stands),
        )


def test_a_rate_given_by_the_user_times_frames_by_it(tmp_path: Path) -> None:
    # --fps says the header is wrong, and its timestamps come from that same header
    video = vfr_video(tmp_path)
    plan = make_plan(request(video, tmp_path / "data", fps=10))
    result = process_video(plan, detector_factory=lambda p: ScriptedDetector(walks_in_and_stands))
    assert (result.summary.frame_times, result.summary.duration_s) == (BY_RATE, 6.0)
    (row,) = read_movements(tmp_path / "data").to_pylist()
    assert row["exit_time"] == START + dt.timedelta(seconds=5.9)


def test_an_evenly_spaced_video_is_timed_by_its_rate(tmp_path: Path) -> None:
    video = write_video(tmp_path / "cam.avi", frames=60, fps=10)
    result = process_video(
        make_plan(request(video, tmp_path / "data")), detector_factory=lambda p: ScriptedDetector(walks_in_and_stands)
    )
    assert (result.summary.frame_times, result.summary.duration_s, result.summary.warnings) == (BY_RATE, 6.0, [])
    (row,) = read_movements(tmp_path / "data").to_pylist()
    assert row["exit_time"] == START + dt.timedelta(seconds=5.9)


def test_process_says_a_video_was_timed_by_its_timestamps(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from retail_intel.cli import process as process_cli

    from .cli_helpers import run_cli

    video = vfr_video(tmp_path)
    monkeypatch.chdir(tmp_path)  # no ./config: the repository's sample cameras are another size
    monkeypatch.setattr(
        process_cli,
        "process_file",
        lambda request, progress=None: process_video(
            make_plan(request), detector_factory=lambda plan: ScriptedDetector(walks_in_and_stands), progress=progress
        ),
    )
    args = ["process", str(video), "--branch", "b1", "--roi", "100,80,220,200", "--start-time", START.isoformat()]
    result = run_cli([*args, "--data-dir", str(tmp_path / "data")], capsys, monkeypatch)
    assert result.exit_code == 0, result.stderr
    assert "41.7 s, variable frame rate (1.4" in result.stdout
    assert "frames timed by their timestamps" in result.stdout


def test_a_person_standing_across_a_batch_cut_of_variable_frame_rate_files_is_counted_once(tmp_path: Path) -> None:
    # The carry file and the ledger took a segment to end at frames / fps (39.3 s here, the header's
    # average being rounded), while its people, timed by their timestamps, stayed until 41 s: the
    # next file, named 41 s later, began where the carried person ended, so nothing joined them
    # and the person standing across the cut was counted twice.
    from .batch_fakes import walker, write_scene
    from .batch_helpers import batch, make_config

    make_config(tmp_path)
    folder = tmp_path / "archive" / "b1" / "door"
    folder.mkdir(parents=True)
    for n, name in enumerate(["100000", "100041"]):
        source = write_scene(tmp_path / f"src{n}.avi", walker, frames=60, first=n * 60)
        vfr_video(tmp_path, source, folder / f"door_20260208_{name}.mp4", b_frames=True)
    summary = batch(tmp_path / "archive", tmp_path)
    assert [f.status for f in summary.files] == ["done", "done"]
    (row,) = read_movements(tmp_path / "data").to_pylist()
    assert row["action_type"] == "entered"
    assert row["exit_time"] - row["enter_time"] > dt.timedelta(
        seconds=80
    )  # from 1.4 s into one file to 41 s into the next


def test_audit_sample_cuts_a_variable_frame_rate_video_at_its_frames_times(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # clips were cut at index / rate (20.3 s at the 1.46 fps average is frame 30, which is at 12 s),
    # while audit check, like process, counts the events of the frames whose timestamps are in the slice

    from retail_intel.accuracy import clips as clips_module
    from retail_intel.accuracy.audit import TimeSlice

    monkeypatch.setattr(clips_module, "pick_slices", lambda *args, **kw: [TimeSlice(20.3, 25.3)])
    # a keyframe every 5 frames: a seek lands by time (index / average rate) on a keyframe, not on the frame asked
    video = vfr_video(tmp_path, source=write_numbered_video(tmp_path / "numbered.avi"), gop=5)
    (clip,) = clips_module.sample_clips(video, tmp_path / "audit", clips=1, length_s=5.0)
    assert clip.slice == TimeSlice(20.3, 25.3)
    assert (
        frame_numbers(clip.path) == [k for k, t in enumerate(VFR_TIMES) if clip.slice.holds(t)] == [39, 40, 41, 42, 43]
    )
    # an evenly spaced video keeps the fast path: no frame is off its time by the rate
    even = write_video(tmp_path / "even.avi", frames=60, fps=10)
    scanned: list[Path] = []
    monkeypatch.setattr(clips_module, "frame_stamps", lambda path: scanned.append(path) or [])
    monkeypatch.setattr(clips_module, "pick_slices", lambda *args, **kw: [TimeSlice(1.0, 2.0)])
    clips_module.sample_clips(even, tmp_path / "audit2", clips=1, length_s=1.0)
    assert scanned == []


def test_mot_truth_of_a_variable_frame_rate_video_is_timed_like_our_tracks() -> None:
    from retail_intel.accuracy.mot import MotBoxes, boxes_to_tracks

    boxes = MotBoxes.from_rows([(0, 1, 10, 10, 20, 40, False), (25, 1, 12, 10, 20, 40, False)])
    times = np.asarray(VFR_TIMES)
    (by_rate,) = boxes_to_tracks(boxes, 10)
    (by_stamps,) = boxes_to_tracks(boxes, 10, times)
    assert by_rate.t.tolist() == [0.0, 2.5]
    assert by_stamps.t.tolist() == [0.0, 7.0]


def test_a_variable_frame_rate_matroska_file_is_sampled_over_its_real_length(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # OpenCV estimates 411 frames for its 60 (41.7 s at the 10 fps it reports), so slices were picked
    # over the first 41 s by the rate, i.e. past the real frames: no clip came out, and an empty
    # counts.csv replaced any earlier sample
    from retail_intel.accuracy import clips as clips_module

    video = vfr_video(tmp_path, video=tmp_path / "cam.mkv")
    picked = clips_module.sample_clips(video, tmp_path / "audit", clips=2, length_s=1.0, seed=0)
    assert len(picked) == 2
    for clip in picked:
        assert 0 <= clip.slice.start_s < clip.slice.end_s <= 41.7


def test_audit_sample_with_a_rate_given_cuts_the_frames_of_that_rate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # with --fps 10, process times frame k at k / 10 s; a seek to frame 20 lands by the header's
    # average rate and a keyframe, and the clip of 2.0-2.5 s showed frames 35-39
    from retail_intel.accuracy import clips as clips_module
    from retail_intel.accuracy.audit import TimeSlice

    monkeypatch.setattr(clips_module, "pick_slices", lambda *args, **kw: [TimeSlice(2.0, 2.5)])
    video = vfr_video(tmp_path, source=write_numbered_video(tmp_path / "numbered.avi"), gop=5)
    (clip,) = clips_module.sample_clips(video, tmp_path / "audit", fps=10, clips=1, length_s=0.5)
    assert frame_numbers(clip.path) == [20, 21, 22, 23, 24]


def test_detected_time_by_frames_counts_each_detection_for_its_own_frames() -> None:
    # a person seen in 5 frames one second apart (a sparse stretch) at a header's 10 fps: by the
    # header's frame they were seen for 0.5 s, under min_track, and dropped as noise
    from retail_intel.movements.tracks import Track

    sparse = Track.from_samples(1, [(20.0 + k, 100.0, 150.0) for k in range(5)], fps=1)
    assert sparse.detected_time(0.1) == pytest.approx(0.5)
    assert sparse.detected_time_by_frames(1, 0.1) == pytest.approx(5.0)
    # frames missed in between count at most the stride, each at the interval around it
    gappy = Track.from_samples(2, [(0.0, 0, 0), (0.1, 0, 0), (1.0, 0, 0)], fps=10)  # frames 0, 1, 10
    assert gappy.detected_time_by_frames(2, 0.1) == pytest.approx(0.1 + 2 * 0.1 + 2 * 0.1)
    assert Track.from_samples(3, [(4.0, 0, 0)]).detected_time_by_frames(1, 0.25) == 0.25


@settings(max_examples=200, deadline=None)
@given(
    gaps=st.lists(st.integers(1, 12), min_size=0, max_size=40),
    fps=st.sampled_from([5.0, 7.0, 10.0, 12.5, 25.0, 30000 / 1001]),
    stride=st.integers(1, 4),
)
def test_detected_time_by_frames_is_detected_time_where_frames_are_even(
    gaps: list[int], fps: float, stride: int
) -> None:
    from retail_intel.movements.tracks import Track

    frames = np.concatenate([[0], np.cumsum(np.asarray(gaps, dtype=np.int64) * stride)]).astype(np.int64)
    track = Track(
        1,
        frames,
        frames / fps,
        np.zeros(len(frames)),
        np.zeros(len(frames)),
        np.full(len(frames), 100.0),
        np.ones(len(frames)),
    )
    assert track.detected_time_by_frames(stride, stride / fps) == pytest.approx(track.detected_time(stride / fps))


def test_a_person_seen_only_in_a_sparse_stretch_is_no_noise(tmp_path: Path) -> None:
    # Matroska reports the dense rate (10 fps); frames 100-139 are a second apart. B stands in the ROI
    # over frames 110-114 (20-24 s) and was dropped: each detection counted for 0.1 s, 0.5 s in all
    def with_b(frame: int) -> list[Box]:
        boxes = walks_in_and_stands(frame)
        if 110 <= frame <= 114:
            boxes.append(person_box(200 - min(frame - 110, 4) * 5, 190, h=50))
        return boxes

    source = write_video(tmp_path / "even.avi", frames=140, fps=10)
    dense_then_sparse = "if(lt(N,100),N*100,10000+(N-100)*1000)"
    video = vfr_video(tmp_path, source, tmp_path / "cam.mkv", stamps=dense_then_sparse)
    plan = make_plan(request(video, tmp_path / "data"))
    result = process_video(plan, detector_factory=lambda p: ScriptedDetector(with_b))
    assert (result.summary.frame_times, result.summary.fps) == (BY_TIMESTAMPS, 10.0)
    assert (result.summary.people, result.summary.entered) == (2, 2)
    # judged again from the stored tracks (`retail-intel tracks` too), the same
    again = process_video(plan, detector_factory=lambda p: ScriptedDetector(with_b))
    assert again.summary.tracks.startswith("reused") and (again.summary.people, again.summary.entered) == (2, 2)


def test_a_variable_frame_rate_avi_is_whole(tmp_path: Path) -> None:
    # An AVI's header counts the empty chunks that stand for frames a recorder dropped (491 here), which
    # decode to nothing: its 140 real frames were refused as a video broken off at frame 140
    imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")
    source = write_video(tmp_path / "even.avi", frames=140, fps=10)
    video = tmp_path / "cam_vfr.avi"
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-y", "-i", str(source)]
    command += ["-vf", "settb=1/10,setpts='if(lt(N,100),N,100+(N-100)*10)'", "-fps_mode", "passthrough"]
    subprocess.run([*command, "-c:v", "mjpeg", str(video)], check=True)
    result = process_video(
        make_plan(request(video, tmp_path / "data")), detector_factory=lambda p: ScriptedDetector(walks_in_and_stands)
    )
    assert (result.summary.frames, result.summary.frame_times) == (140, BY_TIMESTAMPS)
    assert result.summary.duration_s == pytest.approx(49 * 140 / 139, abs=0.01)


def test_audit_check_takes_hand_counts_up_to_the_real_end_of_a_variable_frame_rate_video(tmp_path: Path) -> None:
    # with B-frames the header's average makes the file 39.3 s long; a slice of counts at 40 s, which
    # audit sample may cut from its real 41.7 s, was refused before the run as "after the video ends"
    from retail_intel.accuracy.runner import audit_video

    video = vfr_video(tmp_path, b_frames=True)
    counts = tmp_path / "counts.csv"
    counts.write_text("start,end,entered,passed\n0,20,1,0\n40,41.6,0,0\n")
    report = audit_video(
        request(video, tmp_path / "data"), counts, detector_factory=lambda p: ScriptedDetector(walks_in_and_stands)
    )
    assert [pair.expected for pair in report.slices] == [{"entered": 1, "passed": 0}, {"entered": 0, "passed": 0}]
    assert [{k: pair.counted[k] for k in ("entered", "passed")} for pair in report.slices] == [
        {"entered": 1, "passed": 0},
        {"entered": 0, "passed": 0},
    ]


@pytest.mark.parametrize("stride", [1, 3])
def test_the_time_between_two_batch_files_is_no_frame_seen(stride: int) -> None:
    # A ghost detected once at the last frame of one file and once at the first of the next, 1 s
    # later: counted in frames, that gap was one frame 1.1 s long, and the ghost was "seen" for
    # 2.2 s (4.4 s at stride 3) and kept as a person
    import datetime as dt_

    from retail_intel.batch.carry import Carry, carried_into
    from retail_intel.movements.classify import CountingRules
    from retail_intel.movements.geometry import parse_rect
    from retail_intel.movements.tracks import Track
    from retail_intel.pipeline.continuity import CarriedPerson, Continuity, judge_across_cut

    def one(tid: int, frame: int, t: float, x: float) -> Track:
        ones = np.ones(1)
        return Track(tid, np.array([frame]), np.array([t]), ones * x, ones * 150, ones * 100, ones * 0.9)

    start = dt_.datetime(2026, 1, 1, 10, tzinfo=dt_.UTC)
    carry = Carry("k", start, 100, 10.0, (CarriedPerson("c5", one(5, 99, 9.9, 300)),), timed_duration_s=10.0)
    carried = carried_into(carry, start + dt_.timedelta(seconds=11))
    cut = judge_across_cut(
        [one(1, 0, 0.0, 302)],
        CountingRules(parse_rect("0,0,640,600")),
        min_track_s=0.5,
        continuity=Continuity(carry_in=carried),
        end_t=20.0,
        detect_interval_s=0.1,
        detect_stride=stride,
    )
    assert cut.judgement.people == []
    (ghost,) = carried
    joined = Track.join([ghost.track, one(1, 0, 0.0, 302)])
    assert joined.detected_time_by_frames(stride, 0.1) == pytest.approx(0.2)  # two detections, a step each


# --- the tracker's clock on a variable-frame-rate recording (UnseenIntervals, FrameLoop.run) ---


def unseen_before_each(stamps: list[float], fps: float, stride: int = 1) -> list[int]:
    clock = UnseenIntervals(stamps, fps, stride)
    return [clock.before(i) for i in range(0, len(stamps), stride)]


def test_no_interval_is_unseen_in_an_evenly_spaced_recording() -> None:
    # 29.97 fps stored in whole milliseconds from a container's origin: rounding, no frame left out
    stamps = [round(1.4 + i * 1001 / 30000, 3) for i in range(300)]
    assert set(unseen_before_each(stamps, 30000 / 1001)) == {0}
    assert set(unseen_before_each(stamps, 30000 / 1001, stride=3)) == {0}


def test_the_intervals_a_sparse_stretch_leaves_out_are_unseen() -> None:
    # VFR_TIMES: 10 fps, then a frame a second; Matroska says 10 fps: 9 intervals left out per frame
    assert unseen_before_each(VFR_TIMES, 10.0) == [0] * 21 + [9] * 39
    # at stride 2 the tracker sees every other frame, 0.2 s apart: 4 of its intervals left out of 2 s
    assert unseen_before_each(VFR_TIMES, 10.0, stride=2) == [0] * 11 + [9] * 19
    # an MP4 says its average (1.43 fps, 0.7 s): the dense stretch leaves nothing out (its frames still
    # count an interval each); a frame a second is 1.43 intervals, 3 left out every 7 frames, not none
    mp4 = unseen_before_each(VFR_TIMES, 60 / 42)
    assert (
        set(mp4[:21]) == {0} and set(mp4[21:]) == {0, 1} and sum(mp4[21:]) == 15
    )  # 16.7, less the 2 the dense stretch ran ahead


def test_a_frame_dropped_from_a_constant_rate_leaves_one_interval_out() -> None:
    stamps = [i / 25 for i in range(50) if i != 30]
    assert unseen_before_each(stamps, 25.0) == [0] * 30 + [1] + [0] * 18


@pytest.mark.parametrize(
    "stamps",
    [
        [0.0] * 40,  # a decoder without timestamps
        [0.1 * (i // 3) for i in range(40)],  # stamps coarser than the interval (0.1 s at 30 fps)
        [i / 10 for i in range(20)] + [0.5 + 3 * i for i in range(20)],  # a stream restarted: it jumps back
    ],
)
def test_timestamps_that_cannot_time_the_video_leave_nothing_unseen_once_they_show_it(stamps: list[float]) -> None:
    unseen = unseen_before_each(stamps, 30.0 if stamps[3] == 0.1 else 10.0)
    assert sum(unseen[21:]) == 0


def loop_ids(script: Callable[[int], list[Box]], stamps: list[float], *, timed: bool) -> list[set[int]]:
    """The tracker ids of each frame of a 10 fps loop over blank frames, with or without their ``stamps``."""

    class Scripted:
        name = "scripted"

        def detect(self, frame: Frame, frame_index: int) -> Detections:
            return Detections.from_boxes(script(frame_index))

    loop = FrameLoop(Scripted(), LoopSettings(1, 0.0, TrackerSettings(), 10.0))
    frames = ((i, np.zeros((300, 800, 3), np.uint8)) for i in range(len(stamps)))
    out = list(loop.run(frames, stamps=stamps if timed else None))
    return [set(f.tracked.tracker_id.tolist()) if f.tracked is not None else set() for f in out]


# 10 fps for 2 s, then a frame a second: frame 25 is at 7 s
DENSE_THEN_SPARSE = [i / 10 for i in range(20)] + [2.0 + (i - 19) for i in range(20, 32)]


def test_a_walker_keeps_one_track_into_a_sparse_stretch() -> None:
    # 60 px a second: 6 px a frame at 10 fps, a box and more (30 px wide) a frame at 1 fps. Taking a
    # second for one frame, the tracker predicted a tenth of that, lost the walker every frame and
    # started no track that held (each new one a box away by the next frame)
    def walker(frame: int) -> list[Box]:
        return [person_box(40 + 60 * DENSE_THEN_SPARSE[frame], 200)]

    assert set().union(*loop_ids(walker, DENSE_THEN_SPARSE, timed=True)[1:]) == {1}
    assert all(loop_ids(walker, DENSE_THEN_SPARSE, timed=True)[1:])
    assert not all(loop_ids(walker, DENSE_THEN_SPARSE, timed=False)[1:])  # what it was


def test_a_track_lost_for_longer_than_the_buffer_in_time_is_gone() -> None:
    # standing; not detected over frames 20-24 (3-7 s): 5 frames, far fewer than the 3 s buffer's
    # 30 at 10 fps, but 5 s. Found again, it is a new track (stitching decides whether to join them)
    def stands(frame: int) -> list[Box]:
        return [] if 20 <= frame <= 24 else [person_box(300, 200)]

    timed = loop_ids(stands, DENSE_THEN_SPARSE, timed=True)
    assert timed[19] == {1} and timed[27] == {2}
    assert loop_ids(stands, DENSE_THEN_SPARSE, timed=False)[27] == {1}  # what it was: kept for 30 frames


def test_frames_jittering_around_the_rate_leave_nothing_out() -> None:
    # 30 fps frames written in pairs (5 ms, then 62 ms): uneven, so timed by their stamps, but no
    # frame left out. Rounded step by step, every 62 ms step was two intervals: the clock ran 1.5x
    pairs = [k / 15 + d for k in range(150) for d in (0.0, 0.005)]
    assert time_frames(pairs, 30.0).by == BY_TIMESTAMPS
    assert set(unseen_before_each(pairs, 30.0)) == {0}
    # a frame a second after them still leaves 29 out each (28 after the pair's second frame, which
    # put the clock most of an interval ahead)
    assert unseen_before_each(pairs + [pairs[-1] + 1 + k for k in range(5)], 30.0)[-5:] == [28] + [29] * 4


def test_a_few_repeated_stamps_at_the_start_do_not_stop_the_clock_for_the_file() -> None:
    # 3 repeats in 1000 frames are a muxer's rounding to time_frames; judged at frame 5 they were
    # "more than a few", and the clock stopped for the whole file
    stamps = [i / 10 for i in range(20)] + [2.0 + (i - 20) for i in range(20, 1000)]
    stamps[3] = stamps[4] = stamps[5] = stamps[2]
    assert time_frames(stamps, 10.0).by == BY_TIMESTAMPS
    assert unseen_before_each(stamps, 10.0)[100:] == [9] * 900


def test_a_person_lost_just_before_a_gap_longer_than_the_buffer_is_gone() -> None:
    # standing, missed in frame 19, the last before the recorder leaves out an hour (or 5 s, past the
    # 3 s buffer). Coasting removed nothing and ByteTrack matches lost tracks before removing stale
    # ones: the person was found again an hour later
    def missed_at_19(frame: int) -> list[Box]:
        return [] if frame == 19 else [person_box(300, 200)]

    for gap in (3600.0, 5.0):
        stamps = [i / 10 for i in range(20)] + [1.9 + gap + i / 10 for i in range(5)]
        timed = loop_ids(missed_at_19, stamps, timed=True)
        assert timed[18] == {1} and timed[21] == {2}
        assert loop_ids(missed_at_19, stamps, timed=False)[21] == {1}
    # within the buffer (2 s) the lost person is found again
    stamps = [i / 10 for i in range(20)] + [3.9 + i / 10 for i in range(5)]
    assert loop_ids(missed_at_19, stamps, timed=True)[21] == {1}


def test_a_walker_tracked_into_a_gap_longer_than_the_buffer_is_gone() -> None:
    # tracked up to the last frame before the recorder leaves out an hour; coasting stops at the
    # buffer's end, and someone standing where the walker's prediction stopped (3.1 s on) took their id
    stamps = [i / 10 for i in range(20)] + [3600.0 + i / 10 for i in range(5)]

    def walker_then_other(frame: int) -> list[Box]:
        if frame < 20:
            return [person_box(40 + 60 * stamps[frame], 200)]
        return [person_box(40 + 60 * 5.0, 200)]

    timed = loop_ids(walker_then_other, stamps, timed=True)
    assert timed[19] == {1} and timed[21] == {2}
    # a gap within the buffer keeps them: the walker found where they went (2 s on)
    stamps = [i / 10 for i in range(20)] + [3.9 + i / 10 for i in range(5)]

    def walker(frame: int) -> list[Box]:
        return [person_box(40 + 60 * stamps[frame], 200)]

    assert set().union(*loop_ids(walker, stamps, timed=True)[1:]) == {1}


def test_the_tracker_clock_follows_the_stamps_through_frames_adaptive_stride_skips() -> None:
    # someone standing mid-picture, far from every edge: adaptive stride skips 3 frames of 4, also in
    # the sparse stretch. Each skipped frame reads its own unseen intervals, so the tracker's clock
    # stays at the stamps' (frame_id = intervals since the first frame + 1), never counting a gap twice
    stamps = [i / 10 for i in range(20)] + [2.0 + (i - 19) for i in range(20, 60)]

    class Scripted:
        name = "scripted"

        def detect(self, frame: Frame, frame_index: int) -> Detections:
            return Detections.from_boxes([person_box(400, 150, 60)])

    loop = FrameLoop(Scripted(), LoopSettings(1, 0.0, TrackerSettings(), 10.0, adaptive_stride=4))
    frames = ((i, np.zeros((300, 800, 3), np.uint8)) for i in range(len(stamps)))
    clock = [(f.index, loop._tracker._tracker.frame_id) for f in loop.run(frames, stamps=stamps)]
    assert loop.stats.skipped > 10
    assert clock == [(i, round(10 * stamps[i]) + 1) for i in range(len(stamps))]
    assert loop.stats.unseen == round(10 * stamps[-1]) + 1 - len(stamps)


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_a_stamp_not_finite_stops_the_clock_for_good(bad: float) -> None:
    stamps = [i / 10 for i in range(20)] + [2.0 + (i - 19) for i in range(20, 40)]
    stamps[25] = bad
    assert unseen_before_each(stamps, 10.0)[:25] == [0] * 20 + [10] + [9] * 4
    assert set(unseen_before_each(stamps, 10.0)[25:]) == {0}


def test_a_track_is_dropped_exactly_when_empty_frames_would_have_removed_it() -> None:
    # ByteTrack with empty frames in the gap removes a track unmatched for more than its buffer (30
    # frames at 10 fps, matching before removing): 30 intervals left out keep the id, 31 do not
    def stands(frame: int) -> list[Box]:
        return [person_box(300, 200)]

    for gap, kept in ((3.1, True), (3.2, False)):
        stamps = [i / 10 for i in range(20)] + [1.9 + gap + i / 10 for i in range(5)]
        ids = loop_ids(stands, stamps, timed=True)
        assert (ids[20] == {1}) is kept
