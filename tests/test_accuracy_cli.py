"""``retail-intel calibrate`` and ``retail-intel audit``, with a scripted detector in place of the model."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from retail_intel.config.loader import load_config
from retail_intel.pipeline.plan import ProcessPlan
from retail_intel.vision.detections import Detections

from .cli_helpers import run_cli
from .fakes import ScriptedDetector, two_people, write_video

ROOT = Path(__file__).resolve().parents[1]


class SmallPeopleDetector:
    """Finds the far (40 px) person only at imgsz 960 and above."""

    name = "fake"

    def __init__(self, plan: ProcessPlan) -> None:
        self.imgsz = plan.detector.imgsz * plan.detector.tiles

    def detect(self, frame: npt.NDArray[np.uint8], frame_index: int) -> Detections:
        boxes = [(10.0, 20.0, 50.0, 140.0, 0.9)]
        if self.imgsz >= 960:
            boxes.append((200.0, 100.0, 215.0, 140.0, 0.6))
        return Detections.from_boxes(boxes)


@pytest.mark.parametrize("command", [["calibrate"], ["audit", "check"], ["audit", "sample"]])
def test_help_has_an_example(
    command: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    result = run_cli([*command, "--help"], capsys, monkeypatch)
    assert result.exit_code == 0
    assert "Example" in result.stdout


def test_calibrate_recommends_and_writes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("retail_intel.pipeline.run.default_detector_factory", SmallPeopleDetector)
    config = tmp_path / "config"
    shutil.copytree(ROOT / "config", config)
    video = write_video(tmp_path / "cam.avi", frames=30)
    args = [
        "calibrate",
        str(video),
        "--branch",
        "b1",
        "--try",
        "640,960",
        "--frames",
        "6",
        "--config",
        str(config),
    ]
    result = run_cli([*args, "--format", "json"], capsys, monkeypatch)
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["recommended"] == {"imgsz": 960, "tiles": 1}
    assert [c["recommended"] for c in report["candidates"]] == ["", "yes"]
    # 40 px people in a 320 px wide frame: the size rule asks for 320 * 120 / 40 = 960, already tried
    assert {c["setting"]: c["people_found"] for c in report["candidates"]} == {"imgsz 640": 6, "imgsz 960": 12}
    assert report["written"] is None
    assert load_config(config).camera("b1", "vtest").imgsz == 1280  # unchanged without --write

    result = run_cli([*args, "--write"], capsys, monkeypatch)
    assert result.exit_code == 0, result.stderr
    assert "recommended" in result.stderr and "written to" in result.stderr
    camera = load_config(config).camera("b1", "vtest")
    assert camera.imgsz == 960
    assert "# detector input size" in (config / "branches.yaml").read_text()


def test_calibrate_write_needs_a_branch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    video = write_video(tmp_path / "cam.avi", frames=5)
    result = run_cli(["calibrate", str(video), "--write"], capsys, monkeypatch)
    assert result.exit_code == 1
    assert "--write needs --branch" in result.stderr


def test_calibrate_camera_needs_a_branch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # --camera without --branch was dropped unseen: the whole frame and the bundled model were
    # calibrated, not the camera's ROI and weights
    monkeypatch.setattr("retail_intel.pipeline.run.default_detector_factory", SmallPeopleDetector)
    video = write_video(tmp_path / "cam.avi", frames=5)
    result = run_cli(
        ["calibrate", str(video), "--camera", "vtest", "--try", "640", "--frames", "2"], capsys, monkeypatch
    )
    assert result.exit_code == 1
    assert "--camera vtest needs --branch" in result.stderr


def test_calibrate_and_audit_messages_name_the_flags(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # the library names its parameters (tests/test_accuracy_calibrate.py); the commands show their flags
    video = write_video(tmp_path / "cam.avi", frames=5)
    result = run_cli(["calibrate", str(video), "--try", "abc"], capsys, monkeypatch)
    assert result.exit_code == 1 and "--try: expected sizes like 640,960,1280,640x2, got 'abc'" in result.stderr
    (tmp_path / "notes.txt").write_text("mine\n")
    out = tmp_path / "notes.txt"
    result = run_cli(["audit", "sample", str(video), "--out", str(out), "--length", "1s"], capsys, monkeypatch)
    assert result.exit_code == 1 and f"--out {out}: expected a folder" in result.stderr.replace("\n", "")
    counts = tmp_path / "counts.csv"
    counts.write_text("start,end,entered\n0,2,1\n")
    args = ["audit", "check", str(video), "--truth", str(counts), "--branch", "b1", "--slice", "10s"]
    result = run_cli([*args, "--config", str(ROOT / "config")], capsys, monkeypatch)
    assert result.exit_code == 1 and "--slice 10s: cuts a MOTChallenge gt.txt" in result.stderr


@pytest.mark.parametrize(
    ("flag", "value", "says"),
    [("--device", "gpu", "cuda or cuda:N"), ("--backend", "tf", "'openvino'")],
)
def test_calibrate_refuses_a_bad_detector_flag_in_one_line(
    flag: str,
    value: str,
    says: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # --device gpu and --backend tf ended in pydantic's ValidationError and a traceback, after
    # "sampling 24 frames"; process refuses the same values as a usage error naming the flag
    monkeypatch.setattr("retail_intel.pipeline.run.default_detector_factory", SmallPeopleDetector)
    video = write_video(tmp_path / "cam.avi", frames=5)
    result = run_cli(["calibrate", str(video), flag, value, "--try", "640", "--frames", "2"], capsys, monkeypatch)
    assert result.exit_code == 2, result.stderr
    assert flag in result.stderr and says in result.stderr
    assert "Traceback" not in result.stderr and "sampling" not in result.stderr


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["nope.avi"], "error: nope.avi: no such video file"),
        (["cam.avi", "--try", "640,abc"], "error: --try: expected sizes like 640,960,1280,640x2, got 'abc'"),
        (["cam.avi", "--branch", "b9"], 'error: unknown branch "b9": config/branches.yaml defines b1, b2, b3'),
        (["cam.avi", "--model", "nope.pt"], "error: model 'nope.pt' not found (tried "),
    ],
)
def test_calibrate_refuses_bad_input_in_its_one_line(
    args: list[str], says: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # a missing video, a bad --try, an unknown branch or missing weights was refused after "sampling 24
    # frames of ... ...", a line saying it was at work on frames it never read
    monkeypatch.setattr("retail_intel.pipeline.run.default_detector_factory", SmallPeopleDetector)
    monkeypatch.chdir(tmp_path)
    shutil.copytree(ROOT / "config", tmp_path / "config")
    write_video(tmp_path / "cam.avi", frames=5)
    result = run_cli(["calibrate", *args], capsys, monkeypatch)
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(says), result.stderr


def test_calibrate_camera_refuses_a_bad_detector_setting() -> None:
    from retail_intel.accuracy.calibrate import calibrate_camera
    from retail_intel.errors import InputError

    # from Python too: the library's own error, naming the setting, not pydantic's
    with pytest.raises(InputError, match=r"device: .*got 'gpu'"):
        calibrate_camera(ROOT / "sample_videos" / "vtest.avi", device="gpu", frames=1)


def test_calibrate_write_refuses_a_recommendation_that_found_nobody(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # frames where no setting finds anybody "recommended" the fastest size, and --write put it
    # into branches.yaml (imgsz 1280 became 320) with exit 0 beside the note that nobody was found
    monkeypatch.setattr(
        "retail_intel.pipeline.run.default_detector_factory", lambda plan: ScriptedDetector(lambda i: [])
    )
    config = tmp_path / "config"
    shutil.copytree(ROOT / "config", config)
    before = (config / "branches.yaml").read_text()
    video = write_video(tmp_path / "cam.avi", frames=10)
    args = ["calibrate", str(video), "--branch", "b1", "--try", "640,960", "--frames", "4", "--config", str(config)]
    result = run_cli([*args, "--write"], capsys, monkeypatch)
    assert result.exit_code == 1
    assert "nothing written" in result.stderr and "found nobody in the 4 sampled frames of cam.avi" in result.stderr
    assert (config / "branches.yaml").read_text() == before
    # without --write the table and its note are still shown
    result = run_cli(args, capsys, monkeypatch)
    assert result.exit_code == 0 and "no setting found anybody" in result.stderr


def test_audit_check_with_hand_counts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("retail_intel.pipeline.run.default_detector_factory", lambda plan: ScriptedDetector(two_people))
    config = tmp_path / "config"
    config.mkdir()
    (config / "branches.yaml").write_text(
        "branches:\n  - id: b1\n    name: Test\n    capacity: 10\n    cameras:\n"
        "      - id: cam1\n        roi: [100, 80, 220, 200]\n        fps: 10\n"
    )
    video = write_video(tmp_path / "cam.avi", frames=60)
    counts = tmp_path / "counts.csv"
    counts.write_text("start,end,entered,passed\n0,3,1,2\n3,6,0,0\n")
    args = ["audit", "check", str(video), "--truth", str(counts), "--branch", "b1", "--config", str(config), "-q"]
    result = run_cli([*args, "--format", "json"], capsys, monkeypatch)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""  # -q: nothing on stderr (stopping the bar wrote a blank line)
    report = json.loads(result.stdout)
    measures = {m["measure"]: m for m in report["measures"]}
    assert measures["entered"]["accuracy"] == 1.0
    assert (measures["passed"]["true"], measures["passed"]["counted"], measures["passed"]["bias"]) == (2, 1, -0.5)
    assert [s["counted"]["entered"] for s in report["slices"]] == [1, 0]
    result = run_cli(args, capsys, monkeypatch)
    assert result.exit_code == 0 and "passed" in result.stdout and "bias interval" in result.stderr


def test_audit_check_missing_truth_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    video = write_video(tmp_path / "cam.avi", frames=5)
    result = run_cli(
        [
            "audit",
            "check",
            str(video),
            "--truth",
            str(tmp_path / "none.csv"),
            "--branch",
            "b1",
            "--roi",
            "1,1,50,50",
            "-q",
        ],
        capsys,
        monkeypatch,
    )
    assert result.exit_code == 1
    assert "none.csv: no such hand-count file" in result.stderr
    # -q: no progress bar, and no blank line from stopping one before the error's one line
    assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith("error: ")


def test_audit_sample_writes_clips(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    video = write_video(tmp_path / "cam.avi", frames=80)
    out = tmp_path / "audit"
    result = run_cli(
        ["audit", "sample", str(video), "--out", str(out), "--clips", "4", "--length", "1s"], capsys, monkeypatch
    )
    assert result.exit_code == 0, result.stderr
    assert len(list(out.glob("clip*.mp4"))) == 4
    assert (out / "counts.csv").read_text().startswith("clip,start,end,entered,passed\n")
    assert "audit check" in result.stderr


def test_audit_sample_suggests_the_check_with_its_camera_rate_and_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # the suggested `audit check` dropped --camera, --fps and --config: run as shown, it judged
    # another camera's ROI, or timed the frames at the header's rate, not the rate the clips were cut at
    config = tmp_path / "my config"
    shutil.copytree(ROOT / "config", config)
    video = write_video(tmp_path / "cam.avi", frames=30, size=(768, 576), fps=10)  # b1's camera's frame
    out = tmp_path / "audit"
    args = ["audit", "sample", str(video), "--out", str(out), "--clips", "2", "--length", "1s", "--fps", "7"]
    result = run_cli([*args, "--branch", "b1", "--camera", "vtest", "--config", str(config)], capsys, monkeypatch)
    assert result.exit_code == 0, result.stderr
    suggested = next(line for line in result.stderr.splitlines() if "audit check" in line).split()
    assert suggested[suggested.index("--camera") + 1] == "vtest"
    assert float(suggested[suggested.index("--fps") + 1]) == 7.0
    assert "--config" in suggested and "'" in " ".join(suggested)  # the path with a space, quoted
    # with no branch: no --camera nor --config, but the rate the clips were cut at
    result = run_cli([*args, "--force"], capsys, monkeypatch)
    assert result.exit_code == 0, result.stderr
    suggested = next(line for line in result.stderr.splitlines() if "audit check" in line).split()
    assert "--fps" in suggested and "--camera" not in suggested and "--config" not in suggested


def test_audit_sample_refuses_a_camera_whose_named_zone_audit_check_would_refuse(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # the clips were cut (to be counted by hand), then audit check refused the camera's zone
    config = tmp_path / "config"
    shutil.copytree(ROOT / "config", config)
    branches = config / "branches.yaml"
    east = "[[560, 190], [700, 190], [700, 340], [560, 340]]"
    branches.write_text(branches.read_text().replace(east, "[[560, 190], [900, 190], [900, 340], [560, 340]]"))
    video = write_video(tmp_path / "cam.avi", frames=30, size=(768, 576), fps=10)
    out = tmp_path / "audit"
    args = ["audit", "sample", str(video), "--out", str(out), "--clips", "2", "--length", "1s"]
    result = run_cli([*args, "--branch", "b1", "--config", str(config)], capsys, monkeypatch)
    assert result.exit_code == 1
    assert 'branches.yaml: camera "vtest": zone "east_path"' in result.stderr
    assert "reaches outside the 768x576 frame" in result.stderr
    assert not out.exists()


def test_audit_sample_refuses_a_staff_polygon_audit_check_would_refuse(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # a staff polygon drawn at another resolution: sample cut the clips, audit check then refused it
    config = tmp_path / "config"
    shutil.copytree(ROOT / "config", config)
    branches = config / "branches.yaml"
    staff = "      min_presence_minutes: 45  # in view this long\n"
    outside = staff + "      zones:\n        vtest: [[[600, 0], [1900, 0], [1900, 60]]]\n"
    branches.write_text(branches.read_text().replace(staff, outside, 1))
    video = write_video(tmp_path / "cam.avi", frames=30, size=(768, 576), fps=10)
    out = tmp_path / "audit"
    args = ["audit", "sample", str(video), "--out", str(out), "--clips", "2", "--length", "1s"]
    result = run_cli([*args, "--branch", "b1", "--config", str(config)], capsys, monkeypatch)
    assert result.exit_code == 1, result.stderr
    assert 'branches.yaml: camera "vtest": staff.zones polygon #1' in result.stderr
    assert "reaches outside the 768x576 frame" in result.stderr
    assert not out.exists()


def test_audit_sample_says_when_clips_do_not_fit_and_clears_the_earlier_clips(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # 10 clips of 30 s asked of a 6 s video: each clip gets 0.6 s, and the summary says so
    video = write_video(tmp_path / "cam.avi", frames=60, fps=10)
    out = tmp_path / "audit"
    out.mkdir()
    (out / "notes.mp4").write_bytes(b"not ours")  # a file we did not name is left alone
    args = ["audit", "sample", str(video), "--out", str(out), "--format", "json"]
    result = run_cli([*args, "--clips", "10", "--length", "30s"], capsys, monkeypatch)
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert len(rows) == 10
    assert {(row["asked_s"], row["length_s"]) for row in rows} == {(30.0, 0.6)}
    assert "warning: asked for 10 clips of 30 s (300 s)" in " ".join(result.stderr.split())
    assert "10 of the 10 clips got only 0.60 s" in " ".join(result.stderr.split())
    # a second run into the same --out: only the clips counts.csv lists are left
    result = run_cli([*args, "--clips", "2", "--length", "1s"], capsys, monkeypatch)
    assert result.exit_code == 0, result.stderr
    assert "warning" not in result.stderr
    listed = [line.split(",")[0] for line in (out / "counts.csv").read_text().splitlines()[1:]]
    assert len(listed) == 2
    assert sorted(p.name for p in out.glob("clip*.mp4")) == sorted(listed)
    assert (out / "notes.mp4").exists()


@pytest.mark.parametrize("fps", ["0", "-5", "nan"])
def test_audit_sample_refuses_a_frame_rate_that_is_no_rate(
    fps: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # --fps 0 cut the clips at the header's rate, -5 said "the header has no frame rate; pass --fps"
    video = write_video(tmp_path / "cam.avi", frames=60, fps=10)
    out = tmp_path / "audit"
    args = ["audit", "sample", str(video), "--out", str(out), "--clips", "2", "--length", "1s", "--fps", fps]
    result = run_cli(args, capsys, monkeypatch)
    assert result.exit_code == 2
    assert "Invalid value for '--fps'" in result.stderr
    assert not out.exists()


def test_audit_sample_refuses_to_replace_hand_counts_without_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # a second `audit sample` into the same --out replaced a counts.csv already filled in by hand
    video = write_video(tmp_path / "cam.avi", frames=60, fps=10)
    out = tmp_path / "audit"
    args = ["audit", "sample", str(video), "--out", str(out), "--clips", "2", "--length", "1s", "--format", "json"]
    assert run_cli(args, capsys, monkeypatch).exit_code == 0
    counts = out / "counts.csv"
    header, *rows = counts.read_text().splitlines()
    counted = "\n".join([header, *(row.replace(",,", ",3,", 1) for row in rows)]) + "\n"
    counts.write_text(counted)
    clips = sorted(p.name for p in out.glob("clip*.mp4"))
    result = run_cli([*args, "--seed", "7"], capsys, monkeypatch)
    assert result.exit_code == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "holds hand counts (2 filled cell(s))" in lines[0] and "--force" in lines[0]
    assert counts.read_text() == counted
    assert sorted(p.name for p in out.glob("clip*.mp4")) == clips
    # an empty template is no work to lose; --force starts over
    assert run_cli([*args, "--seed", "7", "--force"], capsys, monkeypatch).exit_code == 0
    assert counts.read_text() != counted


class InterruptedDetector:
    """Finds nobody, and the user presses Ctrl-C at frame 10."""

    name = "interrupted"

    def detect(self, frame: npt.NDArray[np.uint8], frame_index: int) -> Detections:
        if frame_index >= 10:
            raise KeyboardInterrupt
        return Detections.from_boxes([])


def test_audit_check_stopped_with_ctrl_c_is_one_line_exit_130(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # audit check stopped with Ctrl-C exited 130 with no message at all
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("retail_intel.pipeline.run.default_detector_factory", lambda plan: InterruptedDetector())
    config = tmp_path / "config"
    config.mkdir()
    (config / "branches.yaml").write_text(
        "branches:\n  - id: b1\n    name: Test\n    capacity: 10\n    cameras:\n"
        "      - id: cam1\n        roi: [100, 80, 220, 200]\n        fps: 10\n"
    )
    video = write_video(tmp_path / "cam.avi", frames=40)
    counts = tmp_path / "counts.csv"
    counts.write_text("start,end,entered,passed\n0,3,1,2\n")
    args = ["audit", "check", str(video), "--truth", str(counts), "--branch", "b1", "-q"]
    result = run_cli(args, capsys, monkeypatch)
    assert result.exit_code == 130
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == ["interrupted; nothing written (run the same command again to audit the video)"]
    assert result.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cam.avi", "config", "counts.csv"]


def test_calibrate_stopped_with_ctrl_c_is_one_line_exit_130(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # calibrate stopped with Ctrl-C exited 130 with no line of its own (its last word was "sampling 12 frames of cam.avi ...")
    monkeypatch.setattr("retail_intel.pipeline.run.default_detector_factory", lambda plan: InterruptedDetector())
    config = tmp_path / "config"
    shutil.copytree(ROOT / "config", config)
    before = (config / "branches.yaml").read_text()
    video = write_video(tmp_path / "cam.avi", frames=30)
    args = ["calibrate", str(video), "--branch", "b1", "--try", "640", "--frames", "12", "--write"]
    result = run_cli([*args, "--config", str(config)], capsys, monkeypatch)
    assert result.exit_code == 130
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == [
        "sampling 12 frames of cam.avi ...",
        "interrupted; nothing written (run the same command again to calibrate the camera)",
    ]
    assert result.stdout == ""
    assert (config / "branches.yaml").read_text() == before


def test_audit_sample_stopped_with_ctrl_c_is_one_line_exit_130_and_leaves_no_clips(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # audit sample stopped with Ctrl-C in its third clip exited 130 without a word, and left two whole
    # clips and a cut-off third in --out with no counts.csv listing them
    import cv2

    stamped: list[int] = []
    put_text = cv2.putText

    def ctrl_c_in_the_third_clip(*args: Any, **kwargs: Any) -> Any:
        stamped.append(1)
        if len(stamped) > 25:  # clips of 1 s at 10 fps: frame 6 of the third
            raise KeyboardInterrupt
        return put_text(*args, **kwargs)

    video = write_video(tmp_path / "cam.avi", frames=80)
    monkeypatch.setattr(cv2, "putText", ctrl_c_in_the_third_clip)
    out = tmp_path / "audit"
    args = ["audit", "sample", str(video), "--out", str(out), "--clips", "4", "--length", "1s"]
    result = run_cli(args, capsys, monkeypatch)
    assert result.exit_code == 130
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == [
        "interrupted; nothing written, --out left as it was (no new clips, no new counts.csv; "
        "run the same command again to sample the video)"
    ]
    assert result.stdout == ""
    assert not out.exists()  # as it was: this run created it
