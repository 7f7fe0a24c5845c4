"""The whole process loop with a scripted detector: no weights, real decoding and ByteTrack."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from retail_intel.errors import InputError, TimeError, VideoError
from retail_intel.movements.schema import MOVEMENT_SCHEMA
from retail_intel.movements.store import movement_files, read_movements
from retail_intel.pipeline.plan import ProcessRequest, make_plan
from retail_intel.pipeline.run import process_video

from .fakes import ScriptedDetector, two_people, write_video

START = dt.datetime(2026, 2, 8, 10, 0, tzinfo=dt.UTC)


def request(video: Path, data_dir: Path, **kw: object) -> ProcessRequest:
    args: dict[str, object] = {
        "video": video,
        "branch": "b1",
        "data_dir": data_dir,
        "roi": "100,80,220,200",
        "start_time": START,
    }
    args.update(kw)
    return ProcessRequest.create(**args)  # type: ignore[arg-type]


def run(req: ProcessRequest, script=two_people):  # type: ignore[no-untyped-def]
    detector = ScriptedDetector(script)
    return process_video(make_plan(req), detector_factory=lambda plan: detector), detector


def test_video_to_movements(tmp_path: Path) -> None:
    video = write_video(tmp_path / "cam.avi", frames=60)
    result, detector = run(request(video, tmp_path / "data"))
    assert detector.calls == list(range(60))
    summary = result.summary
    assert (summary.frames, summary.people, summary.entered, summary.passed) == (60, 2, 1, 1)
    table = read_movements(tmp_path / "data")
    assert table.schema == MOVEMENT_SCHEMA
    rows = sorted(table.to_pylist(), key=lambda r: r["action_type"])
    entered, passed = rows
    assert entered["action_type"] == "entered" and passed["action_type"] == "passed"
    # A's foot reaches x > 100 at frame 14 (t = 1.4 s) and is still inside when the video ends
    assert entered["enter_time"] == START + dt.timedelta(seconds=1.4)
    assert entered["exit_time"] == START + dt.timedelta(seconds=5.9)
    assert entered["exit_observed"] is False
    assert passed["dwell_seconds"] < 2.0
    assert {r["model"] for r in rows} == {"scripted"}
    assert {r["branch_id"] for r in rows} == {"b1"}
    # the run summary sidecar holds the same counts
    sidecar = json.loads(result.summary_path.read_text())
    assert sidecar["entered"] == 1 and sidecar["passed"] == 1 and sidecar["frames"] == 60


def test_reprocessing_replaces_and_keeps_ids(tmp_path: Path) -> None:
    video = write_video(tmp_path / "cam.avi")
    run(request(video, tmp_path / "data"))
    first = read_movements(tmp_path / "data").column("customer_id").to_pylist()
    run(request(video, tmp_path / "data"))
    second = read_movements(tmp_path / "data").column("customer_id").to_pylist()
    assert sorted(first) == sorted(second)
    assert len(movement_files(tmp_path / "data")) == 1


def test_new_start_time_moves_the_file_not_copies_it(tmp_path: Path) -> None:
    video = write_video(tmp_path / "cam.avi")
    run(request(video, tmp_path / "data"))
    run(request(video, tmp_path / "data", start_time=START + dt.timedelta(days=1)))
    files = movement_files(tmp_path / "data")
    assert len(files) == 1 and "2026-02-09" in str(files[0])


def test_stride_runs_the_detector_on_every_nth_frame(tmp_path: Path) -> None:
    video = write_video(tmp_path / "cam.avi", frames=30)
    result, detector = run(request(video, tmp_path / "data", stride=3))
    assert detector.calls == list(range(0, 30, 3))
    assert result.summary.frames == 30 and result.summary.frames_detected == 10


def test_start_time_from_file_name(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "branches.yaml").write_text(
        """
branches:
  - id: b1
    name: Test
    capacity: 10
    timezone: Europe/Berlin
    cameras:
      - id: door
        roi: [100, 80, 220, 200]
        filename_pattern: "door_%Y%m%d_%H%M%S"
"""
    )
    video = write_video(tmp_path / "door_20260208_110000.avi")
    req = request(video, tmp_path / "data", config_dir=config, roi=None, start_time=None)
    result, _ = run(req)
    # 11:00 in Berlin (CET, +01:00) is 10:00 UTC
    assert result.summary.start_time == "2026-02-08T10:00:00+00:00"
    assert result.summary.camera_id == "door"
    assert "file name" in result.summary.start_time_source


def test_missing_start_time_says_which_flag(tmp_path: Path) -> None:
    video = write_video(tmp_path / "cam.avi")
    # a Python caller passes start_time: that is what it is told ("pass --start-time" before)
    with pytest.raises(TimeError, match=r": pass start_time 2026-02-08T10:00:00\+00:00, or set"):
        run(request(video, tmp_path / "data", start_time=None))
    with pytest.raises(TimeError, match=r": pass --start-time 2026-02-08T10:00:00\+00:00, or set"):
        run(request(video, tmp_path / "data", start_time=None, names={"start_time": "--start-time"}))
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p, "no such video file"),
        (lambda p: (p.write_bytes(b""), p)[1], "empty"),
        (lambda p: (p.write_bytes(b"not a video at all" * 100), p)[1], "cannot open|no decodable"),
    ],
    ids=["missing", "empty", "garbage"],
)
def test_bad_video_is_refused_without_output(tmp_path: Path, make, message: str) -> None:  # type: ignore[no-untyped-def]
    video = make(tmp_path / "cam.avi")
    with pytest.raises(VideoError, match=message):
        run(request(video, tmp_path / "data"))
    assert movement_files(tmp_path / "data") == []


def test_truncated_video_names_the_frame_and_writes_nothing(tmp_path: Path) -> None:
    video = write_video(tmp_path / "cam.avi", frames=80)
    data = video.read_bytes()
    video.write_bytes(data[: len(data) // 2])
    with pytest.raises(VideoError, match=r"breaks off at frame \d+|cannot open|no decodable"):
        run(request(video, tmp_path / "data"))
    assert movement_files(tmp_path / "data") == []


def test_a_preview_past_where_a_truncated_video_breaks_off_is_refused(tmp_path: Path) -> None:
    # --max-frames 600 of an AVI cut at 60% (486 of the 795 frames its header promises) wrote a
    # preview of 486 frames with exit 0, where the whole run says where the video breaks off
    video = write_video(tmp_path / "cam.avi", frames=80)
    data = video.read_bytes()
    video.write_bytes(data[: len(data) // 2])
    with pytest.raises(VideoError, match=r"breaks off at frame \d+ of the 80 its header promises"):
        run(request(video, tmp_path / "data", max_frames=70))
    assert movement_files(tmp_path / "data") == []
    result, _ = run(request(video, tmp_path / "data", max_frames=20))  # the part before the break is fine
    assert result.summary.frames == 20


def test_a_header_of_1000_fps_is_refused_and_fps_counts_it(tmp_path: Path) -> None:
    # a header saying 1000 fps (a container's time base) made 60 frames 0.06 s long: nobody stayed
    # long enough to count, and the run said 0 entered with exit 0
    video = write_video(tmp_path / "cam.avi", frames=60, fps=1000)
    with pytest.raises(VideoError, match=r"cam.avi: the header says 1000 frames a second.*; pass fps with the rate"):
        run(request(video, tmp_path / "data"))
    with pytest.raises(VideoError, match=r"cam.avi: the header says 1000 frames a second.*; pass --fps with the rate"):
        run(request(video, tmp_path / "data", names={"fps": "--fps"}))
    assert movement_files(tmp_path / "data") == []
    result, _ = run(request(video, tmp_path / "data", fps=10))
    assert (result.summary.entered, result.summary.passed) == (1, 1)


def test_a_raw_h264_stream_needs_its_frame_rate_given(tmp_path: Path) -> None:
    # a raw .h264 stream recorded at 10 fps was timed at the 25 fps OpenCV reports for every raw
    # stream: 60 frames became 2.4 s instead of 6 s, and dwell and "entered" with them, without a word
    import subprocess

    imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")
    source = write_video(tmp_path / "cam.avi", frames=60, fps=10)
    video = tmp_path / "cam.h264"
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-y", "-i", str(source)]
    subprocess.run([*command, "-c:v", "libx264", "-pix_fmt", "yuv420p", "-f", "h264", str(video)], check=True)
    with pytest.raises(VideoError, match=r"cam.h264: a raw .h264 stream has no container .*; pass fps with"):
        run(request(video, tmp_path / "data"))
    assert movement_files(tmp_path / "data") == []
    result, _ = run(request(video, tmp_path / "data", fps=10))
    assert result.summary.frames == 60
    assert (result.summary.entered, result.summary.passed) == (1, 1)  # as the AVI it was made from
    # a container that merely has a raw stream's name keeps the rate it stores
    named = tmp_path / "named.mjpeg"
    named.write_bytes(source.read_bytes())
    result, _ = run(request(named, tmp_path / "data2"))
    assert (result.summary.fps, result.summary.frames) == (10.0, 60)


def _as_raw_mjpeg(source: Path, target: Path) -> Path:
    """``source``'s frames as JPEGs one after another: an MJPEG stream with no container."""
    import cv2

    capture = cv2.VideoCapture(str(source))
    data = b""
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        data += cv2.imencode(".jpg", frame)[1].tobytes()
    capture.release()
    target.write_bytes(data)
    return target


@pytest.mark.parametrize("name", ["cam.mp4", "cam.avc", "cam.bin"])
def test_a_raw_stream_under_another_name_needs_its_frame_rate_given(tmp_path: Path, name: str) -> None:
    # only the names .h264, .mjpeg, ... counted as raw: the same 10 fps stream saved as cam.mp4 (an
    # NVR export) or cam.avc was timed at the 25 fps OpenCV makes up for it, 60 frames as 2.4 s
    source = write_video(tmp_path / "source.avi", frames=60, fps=10)
    video = _as_raw_mjpeg(source, tmp_path / name)
    with pytest.raises(VideoError, match=rf"{name}: a raw video stream has no container .*; pass fps with"):
        run(request(video, tmp_path / "data"))
    assert movement_files(tmp_path / "data") == []
    result, _ = run(request(video, tmp_path / "data", fps=10))
    assert (result.summary.fps, result.summary.frames) == (10.0, 60)
    assert (result.summary.entered, result.summary.passed) == (1, 1)  # as the AVI it was made from


@pytest.mark.parametrize(
    ("roi", "message"),
    [("100,80,400,200", "outside the 320x240 frame"), ("220,80,100,200", "x1 < x2"), ("100,80,100,200", "x1 < x2")],
)
def test_bad_roi_is_refused(tmp_path: Path, roi: str, message: str) -> None:
    video = write_video(tmp_path / "cam.avi", frames=5)
    with pytest.raises(InputError, match=message):
        run(request(video, tmp_path / "data", roi=roi))
    assert movement_files(tmp_path / "data") == []


def test_save_video_writes_an_annotated_copy(tmp_path: Path) -> None:
    video = write_video(tmp_path / "cam.avi", frames=20)
    out = tmp_path / "annotated.mp4"
    run(request(video, tmp_path / "data", save_video=out))
    import cv2

    capture = cv2.VideoCapture(str(out))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 20
    capture.release()
    assert not list(tmp_path.glob(".annotated*"))


@pytest.mark.parametrize("spelled", ["same", "relative", "link"])
def test_save_video_onto_the_video_being_processed_is_refused_and_keeps_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spelled: str
) -> None:
    # the annotated copy replaces its target when complete: over the input, the recording was lost
    video = write_video(tmp_path / "cam.avi", frames=20)
    before = video.read_bytes()
    monkeypatch.chdir(tmp_path)
    if spelled == "link":
        (tmp_path / "link.avi").symlink_to(video)
    out = {"same": video, "relative": Path("sub/../cam.avi"), "link": tmp_path / "link.avi"}[spelled]
    (tmp_path / "sub").mkdir()

    with pytest.raises(InputError, match="that is the video being processed"):
        run(request(video, tmp_path / "data", save_video=out, max_frames=5))
    assert video.read_bytes() == before
    assert movement_files(tmp_path / "data") == [] and not list(tmp_path.glob(".cam*"))


@pytest.mark.parametrize(
    ("target", "message"),
    [("folder.mp4", "folder.mp4: that is a folder"), ("cam.avi/out.mp4", "cannot make its folder")],
)
def test_save_video_into_a_folder_or_under_a_file_is_refused_before_the_run(
    tmp_path: Path, target: str, message: str
) -> None:
    # a folder named like a video was found out only after the whole run (its data written, then
    # "error: .folder.partial.mp4: Is a directory"); a file as the folder said "cam.avi: File exists"
    video = write_video(tmp_path / "cam.avi", frames=20)
    (tmp_path / "folder.mp4").mkdir()
    detector = ScriptedDetector(two_people)
    plan = make_plan(request(video, tmp_path / "data", save_video=tmp_path / target))

    with pytest.raises(InputError, match=f"^save_video .*{message}"):
        process_video(plan, detector_factory=lambda plan: detector)
    named = make_plan(
        request(video, tmp_path / "data", save_video=tmp_path / target, names={"save_video": "--save-video"})
    )
    with pytest.raises(InputError, match=f"^--save-video .*{message}"):
        process_video(named, detector_factory=lambda plan: detector)
    assert detector.calls == [] and movement_files(tmp_path / "data") == []


@pytest.mark.parametrize("fails", ["detector", "writing"])
def test_a_run_that_fails_leaves_no_half_written_annotated_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fails: str
) -> None:
    # the copy is opened before the detector is built and closed after the last write: a failure
    # anywhere in between (a missing model, a full disk) must not leave an unplayable partial file
    import retail_intel.pipeline.run as run_module

    video = write_video(tmp_path / "cam.avi", frames=20)
    out = tmp_path / "annotated.mp4"
    plan = make_plan(request(video, tmp_path / "data", save_video=out))

    def factory(plan: object) -> ScriptedDetector:
        if fails == "detector":
            raise InputError("model missing")
        return ScriptedDetector(two_people)

    def full_disk(*args: object, **kw: object) -> Path:
        raise OSError(28, "No space left on device")

    if fails == "writing":
        monkeypatch.setattr(run_module, "write_movements", full_disk)
    with pytest.raises((InputError, OSError)):
        process_video(plan, detector_factory=factory)
    assert not list(tmp_path.glob(".annotated*")) and not out.exists()


def test_written_file_is_plain_parquet(tmp_path: Path) -> None:
    video = write_video(tmp_path / "cam.avi")
    result, _ = run(request(video, tmp_path / "data"))
    assert pq.read_schema(result.output).names == MOVEMENT_SCHEMA.names
    assert not [p for p in result.output.parent.iterdir() if p.name.startswith(".")]


def test_trajectories_are_kept_beside_the_movements(tmp_path: Path) -> None:
    from retail_intel.movements.schema import TRAJECTORY_SCHEMA
    from retail_intel.movements.store import read_trajectories

    video = write_video(tmp_path / "cam.avi", frames=60)
    run(request(video, tmp_path / "data"))
    paths = read_trajectories(tmp_path / "data", "b1")
    assert paths.schema == TRAJECTORY_SCHEMA
    movements = read_movements(tmp_path / "data")
    assert set(paths.column("customer_id").to_pylist()) == set(movements.column("customer_id").to_pylist())
    # sampled every 0.5 s: person A (6 s in view) has about 13 samples, not 60
    per_person: dict[str, int] = {}
    for cid in paths.column("customer_id").to_pylist():
        per_person[cid] = per_person.get(cid, 0) + 1
    assert max(per_person.values()) <= 14
    rows = paths.to_pylist()
    assert any(r["inside_roi"] for r in rows) and not all(r["inside_roi"] for r in rows)
    assert all(r["time"] >= START for r in rows)


def test_still_frames_cost_only_their_decode(tmp_path: Path) -> None:
    # person A walks in over frames 0-20 and then stands still, as does the whole picture
    from .fakes import person_box

    video = write_video(tmp_path / "cam.avi", frames=40, still_from=20)
    result, detector = run(request(video, tmp_path / "data"), script=lambda i: [person_box(20 + min(i, 20) * 6, 150)])
    assert detector.calls == list(range(21))
    assert result.summary.frames_skipped_still == 19
    # the last detections are reused for still frames, so tracking goes on: person A stays inside
    entered = [r for r in read_movements(tmp_path / "data").to_pylist() if r["action_type"] == "entered"]
    assert len(entered) == 1 and entered[0]["exit_time"] == START + dt.timedelta(seconds=3.9)


def test_motion_gate_off_runs_every_frame(tmp_path: Path) -> None:
    video = write_video(tmp_path / "cam.avi", frames=20, still_from=5)
    _, detector = run(request(video, tmp_path / "data", motion_threshold=0.0))
    assert detector.calls == list(range(20))


def test_camera_picture_is_kept_for_heatmaps(tmp_path: Path) -> None:
    import cv2

    from retail_intel.storage import camera_frame_path

    video = write_video(tmp_path / "cam.avi", frames=10)
    run(request(video, tmp_path / "data"))
    image = cv2.imread(str(camera_frame_path(tmp_path / "data", "b1", "cam1")))
    assert image.shape == (240, 320, 3)


def test_snapshot_and_the_setup_picture_refuse_a_header_of_1000_fps_as_process_does(tmp_path: Path) -> None:
    # snapshot --at 2s asked for frame 2000 of 300 ("0.3s at 1000 fps"); setup took the same rate
    from retail_intel.camsetup.frame import frame_from_video
    from retail_intel.pipeline.snapshot import take_snapshot

    video = write_video(tmp_path / "cam.avi", frames=30, fps=1000)
    out = tmp_path / "f.png"
    with pytest.raises(
        VideoError, match=r"the header says 1000 frames a second.*; pass fps with the rate the camera records at$"
    ):
        take_snapshot(video, 2.0, out, fps=None, grid=100, roi=None)
    with pytest.raises(
        VideoError, match=r"the header says 1000 frames a second.*; pass --fps with the rate the camera records at$"
    ):
        take_snapshot(video, 2.0, out, fps=None, grid=100, roi=None, names={"fps": "--fps"})
    assert not out.exists()
    with pytest.raises(VideoError, match=r"the header says 1000 frames a second.*set the camera's fps"):
        frame_from_video(video, 2.0, None)
    # the true rate given, both show the frame
    assert take_snapshot(video, 2.0, out, fps=10, grid=100, roi=None)[1] == 20
    assert frame_from_video(video, 2.0, 10).width == 320


class _OnOpenVino(ScriptedDetector):
    backend = "openvino"  # as OpenVinoDetector says


def test_the_summary_records_the_backend_that_ran_where_it_was_auto(tmp_path: Path) -> None:
    # said "auto", which does not say how the numbers were made
    from retail_intel.vision.crop import CroppedDetector
    from retail_intel.vision.detector import UltralyticsDetector
    from retail_intel.vision.openvino_backend import OpenVinoDetector

    assert (OpenVinoDetector.backend, UltralyticsDetector.backend) == ("openvino", "torch")
    assert CroppedDetector(_OnOpenVino(two_people), (0, 0, 320, 240), 640).backend == "openvino"
    video = write_video(tmp_path / "cam.avi")
    plan = make_plan(request(video, tmp_path / "data"))
    assert plan.settings.backend == "auto"
    result = process_video(plan, detector_factory=lambda plan: _OnOpenVino(two_people))
    assert result.summary.settings["backend"] == "openvino"
    assert json.loads(result.summary_path.read_text())["settings"]["backend"] == "openvino"
    # judged again from the stored tracks: still the engine that made them
    again = process_video(plan, detector_factory=lambda plan: ScriptedDetector(two_people))
    assert again.summary.tracks.startswith("reused") and again.summary.settings["backend"] == "openvino"
    # a detector that does not say which engine it runs on leaves the setting as it was
    unsaid, _ = run(request(video, tmp_path / "other"))
    assert unsaid.summary.settings["backend"] == "auto"
