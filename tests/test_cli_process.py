"""The CLI edge of process/snapshot: one red line and exit 1 on bad input, --help with examples."""

from __future__ import annotations

import functools
import shlex
import sys
from pathlib import Path

import pytest

from retail_intel import __version__
from retail_intel.pipeline import run as pipeline_run
from retail_intel.vision.detections import Detections

from .cli_helpers import run_cli
from .fakes import write_video

START = "2026-02-08T10:00:00+00:00"


def test_version(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    result = run_cli(["--version"], capsys, monkeypatch)
    assert result.exit_code == 0 and __version__ in result.stdout


@pytest.mark.parametrize("command", ["process", "snapshot"])
def test_help_has_an_example(command: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    result = run_cli([command, "--help"], capsys, monkeypatch)
    assert result.exit_code == 0
    assert "retail-intel " + command in result.stdout
    assert "Example" in result.stdout


def test_missing_video_is_one_line_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = run_cli(["process", "nope.mp4", "--branch", "b1", "--roi", "1,1,50,50", "-q"], capsys, monkeypatch)
    assert result.exit_code == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == ["error: nope.mp4: no such video file"]
    assert not (tmp_path / "retail_data").exists()


def test_missing_video_without_quiet_is_one_line_in_a_log(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # with stderr going to a log or a pipe (no terminal), stopping the progress bar that never started
    # wrote a blank line before the error
    monkeypatch.chdir(tmp_path)
    result = run_cli(["process", "nope.mp4", "--branch", "b1", "--roi", "1,1,50,50"], capsys, monkeypatch)
    assert result.exit_code == 1
    assert result.stderr == "error: nope.mp4: no such video file\n"


def test_debug_shows_the_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    from retail_intel.errors import VideoError

    with pytest.raises(VideoError):
        run_cli(["--debug", "process", "nope.mp4", "--branch", "b1", "--roi", "1,1,50,50", "-q"], capsys, monkeypatch)


def test_usage_error_exits_2(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    result = run_cli(["process", "--bogus"], capsys, monkeypatch)
    assert result.exit_code == 2


def test_time_without_timezone_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    video = write_video(tmp_path / "cam.avi", frames=5)
    args = ["process", str(video), "--branch", "b1", "--roi", "1,1,50,50", "--start-time", "2026-02-08T10:00", "-q"]
    result = run_cli(args, capsys, monkeypatch)
    assert result.exit_code == 1
    assert "--start-time" in result.stderr and "timezone" in result.stderr


def test_unknown_branch_in_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    video = write_video(tmp_path / "cam.avi", frames=5)
    config = Path(__file__).resolve().parents[1] / "config"
    args = ["process", str(video), "--branch", "nope", "--config", str(config), "--start-time", START, "-q"]
    result = run_cli(args, capsys, monkeypatch)
    assert result.exit_code == 1
    assert "nope" in result.stderr


def test_explicit_missing_config_dir_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    video = write_video(tmp_path / "cam.avi", frames=5)
    args = ["process", str(video), "--branch", "b1", "--config", str(tmp_path / "none"), "--roi", "1,1,50,50", "-q"]
    result = run_cli(args, capsys, monkeypatch)
    assert result.exit_code == 1
    assert str(tmp_path / "none") in result.stderr


def test_snapshot_writes_a_png(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    video = write_video(tmp_path / "cam.avi", frames=30)
    out = tmp_path / "frame.png"
    result = run_cli(
        ["snapshot", str(video), "--at", "2s", "-o", str(out), "--roi", "10,10,100,100"], capsys, monkeypatch
    )
    assert result.exit_code == 0, result.stderr
    import cv2

    image = cv2.imread(str(out))
    assert image.shape == (240, 320, 3)
    assert "frame 20" in result.stderr


@pytest.mark.parametrize("at", ["0", "0s", "0m", "0.0s", "0ms"])
def test_snapshot_at_zero_in_any_unit_is_the_first_frame(
    at: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # only "0" and "0s" were taken; "0m" or "0.0s" said "--at: expected a positive duration"
    video = write_video(tmp_path / "cam.avi", frames=10)
    out = tmp_path / "f.png"
    result = run_cli(["snapshot", str(video), "--at", at, "-o", str(out)], capsys, monkeypatch)
    assert result.exit_code == 0, result.stderr
    assert "frame 0," in result.stderr and out.is_file()


def test_snapshot_of_a_stream_url_says_so_without_the_password(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "f.png"
    result = run_cli(["snapshot", "rtsp://admin:secret@10.0.0.7:554/s1", "-o", str(out)], capsys, monkeypatch)
    assert result.exit_code == 1
    assert "rtsp://10.0.0.7:554/s1: a stream URL, not a video file" in " ".join(result.stderr.split())
    assert "secret" not in result.stderr and not out.exists()
    # a missing file that only looks like a drive letter is no URL
    drive = run_cli(["snapshot", "C:/videos/cam.mp4", "-o", str(out)], capsys, monkeypatch)
    assert drive.exit_code == 1 and "C:/videos/cam.mp4: no such video file" in drive.stderr


def test_snapshot_camera_without_a_branch_is_refused_not_ignored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # the frame was written without the camera's shapes, and nothing said --camera was ignored
    video = write_video(tmp_path / "cam.avi", frames=10)
    out = tmp_path / "f.png"
    result = run_cli(["snapshot", str(video), "--camera", "vtest", "-o", str(out)], capsys, monkeypatch)
    assert result.exit_code == 1 and "--camera vtest needs --branch" in result.stderr
    assert not out.exists()


def test_snapshot_past_the_end(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    video = write_video(tmp_path / "cam.avi", frames=10)
    result = run_cli(["snapshot", str(video), "--at", "1m", "-o", str(tmp_path / "f.png")], capsys, monkeypatch)
    assert result.exit_code == 1
    assert "10 frames" in result.stderr


@pytest.mark.parametrize("fps", ["0", "-5", "nan"])
def test_snapshot_refuses_a_frame_rate_that_is_no_rate(
    fps: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # --fps 0 took the header's rate, -5 frame 0 whatever --at said, nan a traceback
    video = write_video(tmp_path / "cam.avi", frames=30)
    out = tmp_path / "f.png"
    result = run_cli(["snapshot", str(video), "--at", "2s", "--fps", fps, "-o", str(out)], capsys, monkeypatch)
    assert result.exit_code == 2
    assert "Invalid value for '--fps'" in result.stderr and "Traceback" not in result.stderr
    assert not out.exists()


def test_the_help_examples_of_one_video_run_as_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # `process --help` showed `process cam1_20260208_100000.mp4 --branch b1 --camera cam1 --roi ...`, which
    # stopped with "no recording start time" (no config: no filename_pattern) or "no camera cam1" (the sample's)
    import shlex

    from retail_intel.cli import process as process_cli
    from retail_intel.pipeline.plan import make_plan
    from retail_intel.pipeline.run import process_video

    from .fakes import ScriptedDetector, two_people

    examples = [
        shlex.split(line.strip())[2:]
        for line in run_cli(["process", "--help"], capsys, monkeypatch).stdout.splitlines()
        if line.strip().startswith("retail-intel process ")
    ]
    # one video each, not a sample shipped with the repository (the repository's own config runs those)
    own = [args for args in examples if Path(args[0]).suffix == ".mp4" and "/" not in args[0]]
    assert own
    monkeypatch.chdir(tmp_path)  # no ./config: what a user with only a video has
    monkeypatch.setattr(
        process_cli,
        "process_file",
        lambda request, progress=None: process_video(
            make_plan(request), detector_factory=lambda plan: ScriptedDetector(two_people), progress=progress
        ),
    )
    for args in own:
        write_video(tmp_path / args[0], size=(640, 480))
        result = run_cli(["process", *args, "-q"], capsys, monkeypatch)
        assert result.exit_code == 0, (args, result.stderr)


@pytest.mark.parametrize(
    "command", [["process"], ["calibrate"], ["audit", "sample"], ["audit", "check"], ["setup"], ["tracks"]]
)
def test_help_examples_name_cameras_the_sample_config_has(
    command: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # `audit check --help` showed `--branch b1 --camera door` and `process --help` `--branch b1 --camera cam1`:
    # run in the repository they stopped with 'branch "b1" has no camera ...'
    import shlex

    from retail_intel.config.loader import load_config

    config = load_config(Path(__file__).parents[1] / "config")
    cameras = {(b.id, c.id) for b in config.branches for c in b.cameras}
    help_text = run_cli([*command, "--help"], capsys, monkeypatch).stdout
    for line in help_text.splitlines():
        text = line.strip().removeprefix("Example:").strip()
        if not text.startswith("retail-intel ") or "--camera" not in text:
            continue
        args = shlex.split(text)
        pair = (args[args.index("--branch") + 1], args[args.index("--camera") + 1])
        assert pair in cameras, text


def test_a_model_that_is_no_weights_file_is_one_line_before_any_frame(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # --model pointing at a video (a slip of the shell) was a TypeError traceback from Ultralytics at frame 0
    monkeypatch.chdir(tmp_path)
    video = write_video(tmp_path / "cam.avi", frames=5)
    args = ["process", str(video), "--branch", "b1", "--roi", "1,1,50,50", "--start-time", START, "-q"]
    result = run_cli([*args, "--model", str(video)], capsys, monkeypatch)
    assert result.exit_code == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == [
        f"error: model '{video}': expected Ultralytics weights (.pt), an ONNX file (.onnx) or an OpenVINO export "
        f"folder, got a .avi file ({video})"
    ]
    assert not (tmp_path / "retail_data").exists()


def test_an_onnx_model_without_onnxruntime_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # was a ModuleNotFoundError traceback from inside Ultralytics at the first frame
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # not installed, whatever this machine has
    monkeypatch.chdir(tmp_path)
    video = write_video(tmp_path / "cam.avi", frames=5)
    model = tmp_path / "people.onnx"
    model.write_bytes(b"an onnx graph")
    args = ["process", str(video), "--branch", "b1", "--roi", "1,1,50,50", "--start-time", START, "-q"]
    result = run_cli([*args, "--model", str(model)], capsys, monkeypatch)
    assert result.exit_code == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"error: model {model}: an ONNX model needs the onnxruntime package")
    assert not (tmp_path / "retail_data").exists()


class _NobodyDetector:
    name = "nobody"

    def detect(self, frame: object, frame_index: int) -> Detections:
        return Detections.from_boxes([])


def test_the_example_of_retail_intel_help_runs_as_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # it lacked --start-time, and the sample video has no time in its name: it stopped at
    # "no recording start time" for anyone who copied it
    root = Path(__file__).resolve().parents[1]
    (tmp_path / "sample_videos").mkdir()
    (tmp_path / "sample_videos" / "vtest.avi").symlink_to(root / "sample_videos" / "vtest.avi")
    (tmp_path / "config").symlink_to(root / "config")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(
        pipeline_run,
        "process_video",
        functools.partial(pipeline_run.process_video, detector_factory=lambda plan: _NobodyDetector()),
    )
    help_text = run_cli(["--help"], capsys, monkeypatch).stdout
    [example] = [line.split("Example: ", 1)[1].strip(" │") for line in help_text.splitlines() if "Example: " in line]
    args = shlex.split(example)[1:]
    result = run_cli([*args, "--max-frames", "3", "-q"], capsys, monkeypatch)
    assert result.exit_code == 0, result.stderr


@pytest.mark.parametrize("given", ["", "  "])
def test_an_empty_video_argument_is_one_line_not_a_batch_of_the_current_folder(
    given: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # `retail-intel process "$VIDEO"` with VIDEO unset ran a batch over every video in the current folder
    monkeypatch.chdir(tmp_path)
    write_video(tmp_path / "cam.avi", frames=5)
    result = run_cli(["process", given, "--data-dir", str(tmp_path / "data"), "-q"], capsys, monkeypatch)
    assert result.exit_code == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: VIDEO: expected a video file, a folder, a glob pattern")
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (
            [
                "process",
                "cam.avi",
                "-b",
                "b1",
                "--roi",
                "1,1,50,50",
                "--start-time",
                START,
                "--max-frames",
                "3",
                "--data-dir",
                "",
            ],
            "--data-dir",
        ),
        (["process", "cam.avi", "--branch", "b1", "--start-time", START, "--config", " "], "--config"),
        (["validate", "--config", ""], "--config"),
        (["sql", "SELECT 1", "--data-dir", ""], "--data-dir"),
    ],
)
def test_an_empty_config_or_data_dir_is_one_line_naming_the_flag(
    args: list[str], flag: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # `--data-dir "$DATA"` with DATA unset read as '.', and process wrote previews/ into the current folder
    monkeypatch.chdir(tmp_path)
    write_video(tmp_path / "cam.avi", frames=5)
    result = run_cli(args, capsys, monkeypatch)
    assert result.exit_code == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"error: {flag}: expected a directory, got ")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cam.avi"]


def test_the_progress_rate_waits_until_there_is_enough_to_measure() -> None:
    # --max-frames 3 showed tens of thousands of frames/s: three frames over the microseconds
    # between the bar's start and its last update
    from retail_intel.cli.common import MIN_RATE_SECONDS, frame_rate, rate_text

    assert frame_rate(3, 0.00004) is None
    assert frame_rate(3, MIN_RATE_SECONDS / 2) is None
    assert frame_rate(0, 5.0) is None  # no frame done since the clock started
    assert frame_rate(30, 2.0) == 15.0
    # the column keeps its width with no rate, so the bar does not jump when one appears
    assert rate_text(None, 6) == " " * len(rate_text(15.0, 6)) and rate_text(15.0, 6) == "  15.0 fps"
