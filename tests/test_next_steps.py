"""Library messages name functions and parameters, never commands; the CLI's edge words their next step as one."""

from __future__ import annotations

from pathlib import Path

import pytest

from retail_intel.config import load_config
from retail_intel.errors import ConfigError, DataError, InputError, NextStep, RetailIntelError, Step
from retail_intel.naming import COMMAND_STEPS, DIRECTORY_NAMES
from tests.cli_helpers import run_cli

BAD_BRANCHES = """\
branches:
  - {id: b1, name: One, capacity: -5}
  - {id: b2, name: Two, capacity: 3, timezone: Mars/Base}
"""


def as_the_cli_words_it(exc: RetailIntelError) -> str:
    return exc.worded_for(DIRECTORY_NAMES, COMMAND_STEPS)


def assert_no_command(message: str) -> None:
    assert "retail-intel " not in message and " --" not in message and "`" not in message, message


def test_every_step_has_a_command_line() -> None:
    assert set(COMMAND_STEPS) == set(Step)


def test_a_config_with_many_problems_names_the_function_that_lists_them(tmp_path: Path) -> None:
    (tmp_path / "branches.yaml").write_text(BAD_BRANCHES)
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path)
    assert str(caught.value) == f"2 problems in config directory {tmp_path} (validate_config lists them)"
    assert_no_command(str(caught.value))
    assert as_the_cli_words_it(caught.value) == (
        f"2 problems in config directory {tmp_path} (run retail-intel validate to list them)"
    )


def test_the_cli_still_says_to_run_validate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "branches.yaml").write_text(BAD_BRANCHES)
    result = run_cli(["branches", "list", "--config", str(tmp_path)], capsys, monkeypatch)
    assert result.exit_code == 1
    assert f"error: 2 problems in config directory {tmp_path} (run retail-intel validate to list them)" in (
        result.stderr
    )


def test_a_report_of_a_branch_without_movements_names_no_command(tmp_path: Path) -> None:
    from retail_intel.report import write_report
    from tests.report_fixtures import DAY, make_report_site

    site = make_report_site(tmp_path / "site")
    with pytest.raises(DataError) as caught:
        write_report(load_config(site.config_dir), site.data_dir, "b3", tmp_path / "r.html", first_day=DAY)
    assert str(caught.value).endswith("there are no movements for b3 at all; process_video or ingest_file writes them")
    assert_no_command(str(caught.value))
    assert as_the_cli_words_it(caught.value).endswith(
        "there are no movements for b3 at all; run retail-intel process or ingest first"
    )


def test_unreadable_owed_kpi_spans_name_no_command(tmp_path: Path) -> None:
    from retail_intel.batch.pending import load_pending, pending_path

    pending_path(tmp_path).parent.mkdir(parents=True)
    pending_path(tmp_path).write_text("[1, 2]")
    with pytest.raises(DataError) as caught:
        load_pending(tmp_path)
    assert str(caught.value).endswith("; delete it and run compute_kpis over the days the last batch changed")
    assert_no_command(str(caught.value))
    assert as_the_cli_words_it(caught.value).endswith(
        "; delete it and run `retail-intel kpis` over the days the last batch changed"
    )


def test_tracks_of_an_unprocessed_video_name_no_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from retail_intel.config.camera_settings import CameraSettings
    from retail_intel.pipeline.tracks_out import person_boxes
    from tests.fakes import write_video

    video = write_video(tmp_path / "cam.avi", frames=5)
    roi = CameraSettings(roi=(100, 80, 220, 200))
    with pytest.raises(InputError) as caught:
        person_boxes(video, data_dir=tmp_path, branch="b1", settings=roi)
    assert str(caught.value).endswith(f"in {tmp_path}: run process_video on it first")
    assert_no_command(str(caught.value))
    args = ["tracks", str(video), "--branch", "b1", "--roi", "100,80,220,200", "--data-dir", str(tmp_path)]
    result = run_cli([*args, "-o", str(tmp_path / "x.csv")], capsys, monkeypatch)
    assert result.exit_code == 1
    assert result.stderr.rstrip().endswith(f"in {tmp_path}: run `retail-intel process` on it first")


@pytest.mark.parametrize("by", ["video", "summary"])
def test_tracks_of_a_preview_name_no_command_or_flag(tmp_path: Path, by: str) -> None:
    import datetime as dt

    from retail_intel.cli.settings_flags import PROCESS_FLAGS
    from retail_intel.pipeline.plan import ProcessRequest, make_plan
    from retail_intel.pipeline.run import process_video
    from retail_intel.pipeline.tracks_out import person_boxes
    from retail_intel.pipeline.video_tracks import source_key
    from retail_intel.vision.video import fingerprint
    from tests.fakes import ScriptedDetector, two_people, write_video

    video = write_video(tmp_path / "cam.avi")
    data = tmp_path / "data"
    start = dt.datetime(2026, 2, 8, 10, tzinfo=dt.UTC)
    plan = make_plan(ProcessRequest.create(video, "b1", data, start_time=start, roi="100,80,220,200", max_frames=15))
    process_video(plan, detector_factory=lambda plan: ScriptedDetector(two_people))
    preview = data / "previews" / "runs" / f"{source_key('cam1', fingerprint(video))}.json"
    # the preview's summary where the full run's would be: "no such run summary", pointing at the preview's
    source = video if by == "video" else data / "runs" / preview.name
    with pytest.raises(InputError) as caught:
        person_boxes(source, data_dir=data, settings=None)
    assert_no_command(str(caught.value))
    with pytest.raises(InputError) as by_the_cli:  # named as the CLI's tracks names its flags
        person_boxes(source, data_dir=data, settings=None, names=PROCESS_FLAGS)
    cli = as_the_cli_words_it(by_the_cli.value)
    if by == "video":
        assert str(caught.value).endswith(
            f"only a preview (max_frames) of cam.avi was processed into {data}: pass its run summary, {preview}, "
            "or run process_video on it without max_frames"
        )
        assert cli.endswith(
            f"only a preview (--max-frames) of cam.avi was processed into {data}: pass its run summary, "
            f"`retail-intel tracks {preview}`, or run `retail-intel process` on it without --max-frames"
        )
    else:
        assert "only a preview (max_frames) of that video was processed" in str(caught.value)
        assert "only a preview (--max-frames) of that video was processed" in cli


def test_no_region_names_no_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from retail_intel.cli.settings_flags import PROCESS_FLAGS
    from retail_intel.config.camera_settings import CameraSettings
    from retail_intel.pipeline.plan import counting_rules
    from tests.fakes import write_video

    with pytest.raises(InputError) as caught:
        counting_rules(CameraSettings(), "b1")
    assert str(caught.value).endswith("an roi in branches.yaml (see take_snapshot to draw one)")
    assert_no_command(str(caught.value))
    # named when raised, as the caller names it: a batch records the message of each file it refuses
    with pytest.raises(InputError) as by_the_cli:
        counting_rules(CameraSettings(), "b1", PROCESS_FLAGS)
    assert str(by_the_cli.value).endswith("an roi in branches.yaml (see `retail-intel snapshot` to draw one)")
    video = write_video(tmp_path / "cam.avi", frames=5)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RETAIL_INTEL_CONFIG", raising=False)
    args = ["process", str(video), "--branch", "b1", "--start-time", "2026-02-08T10:00:00+00:00"]
    result = run_cli([*args, "--data-dir", str(tmp_path / "data")], capsys, monkeypatch)
    assert result.exit_code == 1
    assert result.stderr.rstrip().endswith(
        "pass --roi x1,y1,x2,y2 or --zone, or give the branch a camera with an roi in branches.yaml "
        "(see `retail-intel snapshot` to draw one)"
    )


def test_too_many_lookup_cells_name_no_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    from zoneinfo import ZoneInfo

    from retail_intel.kpis import windows

    monkeypatch.setattr(windows, "_MAX_CELLS_PER_BRANCH", 1)  # the real ceiling takes years of one-minute windows
    day_us = 86_400_000_000
    with pytest.raises(DataError) as caught:
        windows.build_series(
            ZoneInfo("UTC"), 60, data_first_us=0, data_last_us=day_us, out_start_us=None, out_end_us=None, history_us=0
        )
    assert str(caught.value).endswith("(at most 1); use a shorter start/end range")
    assert_no_command(str(caught.value))
    assert as_the_cli_words_it(caught.value).endswith("(at most 1); use a shorter --from/--to range")


def test_a_camera_without_a_picture_names_no_command(tmp_path: Path) -> None:
    from retail_intel.camsetup import latest_picture

    with pytest.raises(InputError) as caught:
        latest_picture(tmp_path, "b1", "vtest")
    picture = tmp_path / "frames" / "b1" / "vtest.jpg"
    assert str(caught.value) == (
        f"no picture of camera vtest at {picture}: give a video of the camera, or process one first"
    )
    assert_no_command(str(caught.value))
    # the CLI's words: tests/test_setup_shapes.py::test_cli_help_and_a_missing_picture
    assert as_the_cli_words_it(caught.value) == (
        f"no picture of camera vtest at {picture}: give a VIDEO of the camera "
        "(retail-intel setup --branch b1 --camera vtest VIDEO), or process one first"
    )


def test_a_stream_url_as_a_video_names_no_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from retail_intel.errors import VideoError
    from retail_intel.vision.video import probe

    with pytest.raises(VideoError) as caught:
        probe(Path("rtsp://10.0.0.7:554/s1"))
    assert str(caught.value) == (
        "rtsp://10.0.0.7:554/s1: a stream URL, not a video file; this needs a recording "
        "(for example ffmpeg -i URL -t 10 -c copy clip.mp4)."
    )
    result = run_cli(["snapshot", "rtsp://10.0.0.7:554/s1", "-o", str(tmp_path / "f.png")], capsys, monkeypatch)
    assert result.exit_code == 1
    assert " ".join(result.stderr.split()).endswith(
        "clip.mp4). For setup, `retail-intel process URL --branch ID --max-frames 25` keeps the camera's picture, "
        "which `retail-intel setup --branch ID` without VIDEO draws on"
    )


def test_a_data_dir_of_previews_only_names_no_flag(tmp_path: Path) -> None:
    from retail_intel.datadir import describe_data_dir, require_retail_data

    (tmp_path / "previews" / "movements").mkdir(parents=True)
    with pytest.raises(DataError) as caught:
        require_retail_data(tmp_path)
    assert str(caught.value) == (
        f"{tmp_path}: holds only previews (process_video with max_frames writes them under previews/), which sql, "
        "kpis, report and serve do not read; process the video without max_frames"
    )
    assert_no_command(str(caught.value))
    cli = (
        f"{tmp_path}: holds only previews (process --max-frames writes them under previews/), which sql, "
        "kpis, report and serve do not read; process the video without --max-frames"
    )
    assert as_the_cli_words_it(caught.value) == cli
    # serve's /health words it as the CLI does
    assert describe_data_dir(tmp_path).problem(DIRECTORY_NAMES, COMMAND_STEPS) == cli


def test_a_batch_words_a_files_next_step_as_its_caller_does(tmp_path: Path) -> None:
    # a batch keeps each file's reason as text: a file refused because branches.yaml broke while the
    # batch planned it (make_plan reads the config again) read "(validate_config lists them)" in the
    # CLI's failed-files table; run_batch's steps word it as the caller does
    from retail_intel.batch.discover import discover
    from retail_intel.batch.ledger import Ledger
    from retail_intel.batch.segments import Rejected, prepare
    from retail_intel.batch.work import failure_reason
    from retail_intel.config.camera_settings import CameraSettings

    from .batch_fakes import walker
    from .batch_helpers import make_config, write_segments

    make_config(tmp_path)
    config = load_config(tmp_path / "config")
    write_segments(tmp_path / "archive" / "b1" / "door", "door", walker, count=1, frames=5)
    (job,) = discover(str(tmp_path / "archive"), config).jobs
    (tmp_path / "config" / "branches.yaml").write_text(BAD_BRANCHES)
    reasons = []
    for steps in (None, COMMAND_STEPS):
        refused = prepare(job, config, tmp_path / "data", CameraSettings(), Ledger(tmp_path / "data"), steps=steps)
        assert isinstance(refused, Rejected)
        reasons.append(refused.reason)
    assert reasons[0].endswith(
        "2 problems in config directory " + str(tmp_path / "config") + " (validate_config lists them)"
    )
    assert reasons[1].endswith(" (run retail-intel validate to list them)")
    # a worker's failure and the KPI step's error are worded by the same function
    error = ConfigError("2 problems in config directory c", next_step=NextStep(Step.LIST_CONFIG_PROBLEMS))
    assert failure_reason(error) == "2 problems in config directory c (validate_config lists them)"
    assert (
        failure_reason(error, COMMAND_STEPS)
        == "2 problems in config directory c (run retail-intel validate to list them)"
    )
    assert failure_reason(ValueError("x"), COMMAND_STEPS) == "ValueError: x"
