"""``retail-intel tracks``: per-frame boxes and person ids from the stored tracks."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from retail_intel.accuracy.metrics import score_tracking
from retail_intel.accuracy.mot import read_mot, tracks_to_boxes
from retail_intel.cli.app import _register, app
from retail_intel.errors import InputError, VideoError
from retail_intel.movements.events import judge
from retail_intel.movements.schema import PERSON_BOX_SCHEMA
from retail_intel.movements.store import read_movements, read_tracks, source_files
from retail_intel.movements.tracks import TrackAccumulator
from retail_intel.naming import COMMAND_STEPS
from retail_intel.pipeline.plan import ProcessRequest, make_plan
from retail_intel.pipeline.run import process_video
from retail_intel.pipeline.tracks_out import check_output_name, person_boxes, person_boxes_text, write_person_boxes
from retail_intel.pipeline.video_tracks import source_key
from retail_intel.vision.video import fingerprint

from .cli_helpers import run_cli
from .fakes import ScriptedDetector, two_people, write_video

START = dt.datetime(2026, 2, 8, 10, 0, tzinfo=dt.UTC)
ROI = "100,80,220,200"


@pytest.fixture
def processed(tmp_path: Path) -> tuple[Path, Path]:
    video = write_video(tmp_path / "cam.avi")
    plan = make_plan(ProcessRequest.create(video, "b1", tmp_path / "data", start_time=START, roi=ROI))
    process_video(plan, detector_factory=lambda plan: ScriptedDetector(two_people))
    return video, tmp_path / "data"


def test_every_box_carries_the_person_id_of_the_movements(processed: tuple[Path, Path]) -> None:
    video, data = processed
    boxes = person_boxes(video, data_dir=data, branch="b1", settings=None)
    table = boxes.table
    assert table.schema == PERSON_BOX_SCHEMA and boxes.people == 2
    movements = {r["customer_id"]: r["action_type"] for r in read_movements(data).to_pylist()}
    assert {r["customer_id"]: r["action_type"] for r in table.to_pylist()} == movements
    frames = table.column("frame").to_pylist()
    assert frames == sorted(frames)
    # person 1 (A) appears first, in frame 0; B arrives at frame 10 (confirmed a frame later)
    first = table.filter(table.column("person").to_numpy() == 2).column("frame").to_pylist()
    assert table.column("frame")[0].as_py() == 0 and 10 <= first[0] <= 12
    # the box is the tracker's: its bottom centre is the foot point the movements were judged by
    row = table.slice(0, 1).to_pylist()[0]
    assert row["y2"] - row["y1"] == pytest.approx(60, abs=2)


def test_mot_csv_and_parquet_hold_the_same_boxes(processed: tuple[Path, Path], tmp_path: Path) -> None:
    video, data = processed
    _register()
    runner = CliRunner()
    for fmt in ("mot", "csv", "parquet"):
        out = tmp_path / f"boxes.{fmt}"
        result = runner.invoke(
            app,
            ["tracks", str(video), "--branch", "b1", "--roi", ROI, "--data-dir", str(data), "-f", fmt, "-o", str(out)],
        )
        assert result.exit_code == 0, result.output
    parquet = pq.read_table(tmp_path / "boxes.parquet")
    csv = pacsv.read_csv(tmp_path / "boxes.csv")
    mot = read_mot(tmp_path / "boxes.mot")
    assert parquet.num_rows == csv.num_rows == len(mot)
    # MOT files count frames from 1; read_mot turns them back into decoded frame indices
    assert mot.frame.tolist() == parquet.column("frame").to_pylist()
    assert (tmp_path / "boxes.mot").read_text().startswith("1,1,")
    assert mot.ids.tolist() == parquet.column("person").to_pylist()
    assert csv.column("customer_id").to_pylist() == parquet.column("customer_id").to_pylist()
    # times as every other CSV writes them: ISO 8601 with a 'T' and an offset ("2026-02-08 10:00:00.000000Z" before)
    text_times = [line.split(",")[1] for line in (tmp_path / "boxes.csv").read_text().splitlines()[1:]]
    assert [dt.datetime.fromisoformat(t.strip('"')) for t in text_times] == parquet.column("time").to_pylist()
    assert all("T" in t and t.strip('"').endswith("+00:00") for t in text_times)


def test_the_csv_header_names_its_columns_unquoted_as_the_other_csv_files(processed: tuple[Path, Path]) -> None:
    # the header was written quoted ("frame","time",...), unlike kpis --format csv and the rejects files
    video, data = processed
    boxes = person_boxes(video, data_dir=data, branch="b1", settings=None)
    lines = person_boxes_text(boxes.table, "csv").splitlines()
    assert lines[0] == ",".join(PERSON_BOX_SCHEMA.names)
    assert len(lines) == boxes.table.num_rows + 1 and lines[1].startswith("0,")
    assert person_boxes_text(boxes.table.slice(0, 0), "csv") == ",".join(PERSON_BOX_SCHEMA.names) + "\n"


@pytest.mark.parametrize("fmt", ["mot", "csv"])
def test_dash_writes_the_export_to_stdout_alone(
    fmt: str,
    processed: tuple[Path, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    video, data = processed
    monkeypatch.chdir(tmp_path)
    common = ["tracks", str(video), "--branch", "b1", "--roi", ROI, "--data-dir", str(data), "-f", fmt]
    piped = run_cli([*common, "-o", "-"], capsys, monkeypatch)
    assert piped.exit_code == 0, piped.stderr
    assert not (tmp_path / "-").exists()  # no file named '-'
    assert run_cli([*common, "-o", str(tmp_path / f"boxes.{fmt}")], capsys, monkeypatch).exit_code == 0
    # stdout holds the export and nothing else (the line saying what was written is on stderr)
    assert piped.stdout == (tmp_path / f"boxes.{fmt}").read_text()
    assert "wrote stdout" in piped.stderr


def test_dash_refuses_parquet(
    processed: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    video, data = processed
    monkeypatch.chdir(tmp_path)
    args = ["tracks", str(video), "--branch", "b1", "--roi", ROI, "--data-dir", str(data), "-f", "parquet", "-o", "-"]
    result = run_cli(args, capsys, monkeypatch)
    assert result.exit_code != 0 and result.stdout == ""
    assert "-o -" in result.stderr and "--format parquet" in result.stderr
    assert not (tmp_path / "-").exists()


def test_the_run_summary_names_the_video(processed: tuple[Path, Path]) -> None:
    video, data = processed
    summary = data / "runs" / f"{source_key('cam1', fingerprint(video))}.json"
    by_run = person_boxes(summary, data_dir=data, settings=None)
    by_video = person_boxes(video, data_dir=data, branch="b1", settings=None)
    assert by_run.table.drop_columns(["time"]).equals(by_video.table.drop_columns(["time"]))


def test_no_stored_tracks_says_to_process_first(tmp_path: Path) -> None:
    video = write_video(tmp_path / "cam.avi", frames=5)
    _register()
    result = CliRunner().invoke(
        app,
        ["tracks", str(video), "--branch", "b1", "--roi", ROI, "--data-dir", str(tmp_path), "-o", str(tmp_path / "x")],
    )
    assert isinstance(result.exception, InputError)  # the CLI's edge prints it as one line, exit 1
    assert str(result.exception).endswith("run process_video on it first")  # the library names no command
    assert result.exception.worded_for({}, COMMAND_STEPS).endswith("run `retail-intel process` on it first")


@pytest.mark.parametrize("branch", [[], ["--branch", "b1"]], ids=["no-branch", "branch"])
def test_an_empty_video_says_it_is_empty(tmp_path: Path, branch: list[str]) -> None:
    # tracks of a 0-byte file said "a video that was not processed into this --data-dir needs --branch",
    # and with --branch "run `retail-intel process` on it first", which then says the file is empty
    video = tmp_path / "cam.mp4"
    video.write_bytes(b"")
    _register()
    args = ["tracks", str(video), *branch, "--roi", ROI, "--data-dir", str(tmp_path), "-o", str(tmp_path / "x")]
    result = CliRunner().invoke(app, args)
    assert isinstance(result.exception, VideoError)
    assert str(result.exception) == f"{video}: the file is empty (0 bytes)"


@pytest.mark.slow
def test_the_exported_mot_file_scores_as_the_accuracy_harness(
    sample_run: tuple[dict[str, object], Path], tmp_path: Path
) -> None:
    summary, data = sample_run
    run_file = data / "runs" / f"{source_key(str(summary['camera_id']), str(summary['video_fingerprint']))}.json"
    boxes = person_boxes(run_file, data_dir=data, config_dir=Path(__file__).parents[1] / "config")
    exported = write_person_boxes(boxes.table, tmp_path / "vtest.txt", "mot")
    truth = read_mot(Path(__file__).parents[2] / "shared" / "data" / "PETS09-S2L1" / "gt.txt")
    # what the accuracy harness scores: the judged people of the same run
    stored = read_tracks(data, run_file.stem)
    assert stored is not None
    plan = make_plan(
        ProcessRequest(Path("vtest.avi"), "b1", data, config_dir=Path(__file__).parents[1] / "config", camera="vtest")
    )
    import dataclasses

    judged = judge(
        TrackAccumulator.from_table(stored.table).tracks(),
        plan.rules,
        min_track_s=plan.min_track_s,
        stitch_settings=dataclasses.replace(plan.stitch, frame_size=(768, 576)),
    )
    harness = score_tracking(truth, tracks_to_boxes(judged.people))
    ours = score_tracking(truth, read_mot(exported))
    assert ours.mota == pytest.approx(harness.mota, abs=1e-3) and ours.idf1 == pytest.approx(harness.idf1, abs=1e-3)
    assert ours.mota > 0.85 and ours.predicted_ids == summary["people"]


def test_a_device_or_pipe_is_never_replaced_by_a_file(processed: tuple[Path, Path], tmp_path: Path) -> None:
    import os
    import stat

    video, data = processed
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    boxes = person_boxes(video, data_dir=data, branch="b1", settings=None)
    for fmt in ("mot", "parquet"):
        with pytest.raises(InputError, match="not a regular file"):
            write_person_boxes(boxes.table, pipe, fmt)  # type: ignore[arg-type]
    assert stat.S_ISFIFO(pipe.stat().st_mode)


def test_a_branch_or_camera_the_run_was_not_processed_for_is_refused(processed: tuple[Path, Path]) -> None:
    video, data = processed
    summary = data / "runs" / f"{source_key('cam1', fingerprint(video))}.json"
    # b1's boxes were written labelled as b2 (and a camera b2 may not have)
    # named as a Python caller wrote them (the tracks command passes its flags: the test below)
    with pytest.raises(InputError, match=r"^branch b2: cam\.avi was processed as branch b1 .*; leave branch out"):
        person_boxes(video, data_dir=data, branch="b2", settings=None)
    with pytest.raises(InputError, match=r"^branch b2: .* was processed as branch b1"):
        person_boxes(summary, data_dir=data, branch="b2", settings=None)
    with pytest.raises(InputError, match=r"^camera cam9: .* was processed as camera cam1"):
        person_boxes(summary, data_dir=data, camera="cam9", settings=None)
    # without the summary the tracks are still found by camera and video: their folder names the branch
    summary.unlink()
    with pytest.raises(InputError, match=r"^branch b2: .* are branch b1's .*; pass branch b1$"):
        person_boxes(video, data_dir=data, branch="b2", camera="cam1", settings=None)
    with pytest.raises(InputError, match="no recording start time") as untimed:  # b1's own: found, then timed
        person_boxes(video, data_dir=data, branch="b1", camera="cam1", settings=None)
    # tracks takes no --start-time: it said "pass --start-time ..." all the same
    assert "run summary" in str(untimed.value) and "process it again with start_time" in str(untimed.value)
    assert not str(untimed.value).split(": ", 2)[-1].startswith("pass start_time")
    with pytest.raises(InputError, match="process it again with --start-time"):  # the CLI's flag, where it names it
        person_boxes(
            video, data_dir=data, branch="b1", camera="cam1", settings=None, names={"start_time": "--start-time"}
        )


def test_the_tracks_command_names_its_flags(
    processed: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # person_boxes, check_output_name and person_boxes_text name their parameters (branch, camera,
    # data_dir, fmt); the command passes its flags, so its user still reads them
    video, data = processed
    args = ["tracks", str(video), "--roi", ROI, "--data-dir", str(data), "-o", str(tmp_path / "x")]
    result = run_cli([*args, "--branch", "b2"], capsys, monkeypatch)
    said = result.stderr.replace("\n", "")
    assert result.exit_code == 1 and "--branch b2: cam.avi was processed as branch b1" in said
    assert "leave --branch out or pass --branch b1" in said
    stranger = write_video(tmp_path / "other.avi", frames=3)
    result = run_cli(["tracks", str(stranger), "--data-dir", str(data), "-o", str(tmp_path / "y")], capsys, monkeypatch)
    assert result.exit_code == 1 and "not processed into this --data-dir needs --branch" in result.stderr
    with pytest.raises(InputError, match=r"^a video that was not processed into this data_dir needs branch$"):
        person_boxes(stranger, data_dir=data, settings=None)
    with pytest.raises(InputError, match=r"boxes\.parquet: fmt mot writes text, not a Parquet file; add fmt parquet"):
        check_output_name(tmp_path / "boxes.parquet", "mot")
    with pytest.raises(InputError, match=r"^fmt parquet is binary and has no text form"):
        person_boxes_text(pa.table({"x": [1]}), "parquet")
    with pytest.raises(InputError, match=r"^--format parquet is binary and has no text form"):
        person_boxes_text(pa.table({"x": [1]}), "parquet", "--format")


def test_a_previews_run_summary_reads_the_previews_tracks(tmp_path: Path) -> None:
    video = write_video(tmp_path / "cam.avi")
    data = tmp_path / "data"
    plan = make_plan(ProcessRequest.create(video, "b1", data, start_time=START, roi=ROI, max_frames=15))
    process_video(plan, detector_factory=lambda plan: ScriptedDetector(two_people))
    summary = data / "previews" / "runs" / f"{source_key('cam1', fingerprint(video))}.json"
    assert not (data / "tracks").exists()  # a preview writes only under previews/
    boxes = person_boxes(summary, data_dir=data, settings=None)
    assert boxes.frames == 15 and boxes.table.num_rows > 0
    assert max(boxes.table.column("frame").to_pylist()) < 15


def test_a_video_with_only_a_preview_points_at_the_previews_summary(tmp_path: Path) -> None:
    # `process --max-frames` then `tracks VIDEO` said "run `retail-intel process` on it first", although it had been
    video = write_video(tmp_path / "cam.avi")
    data = tmp_path / "data"
    plan = make_plan(ProcessRequest.create(video, "b1", data, start_time=START, roi=ROI, max_frames=15))
    process_video(plan, detector_factory=lambda plan: ScriptedDetector(two_people))
    summary = data / "previews" / "runs" / f"{source_key('cam1', fingerprint(video))}.json"
    with pytest.raises(InputError, match="only a preview") as raised:
        person_boxes(video, data_dir=data, branch="b1", settings=None)
    assert str(summary) in str(raised.value) and "on it first" not in str(raised.value)
    # the summary it names is the way in
    assert person_boxes(summary, data_dir=data, settings=None).frames == 15
    # without --branch it said "a video that was not processed into this --data-dir needs --branch"
    with pytest.raises(InputError, match="only a preview") as raised:
        person_boxes(video, data_dir=data, settings=None)
    assert str(summary) in str(raised.value) and "not processed" not in str(raised.value)


def test_an_roi_reaching_outside_the_frame_is_refused_as_process_refuses_it(processed: tuple[Path, Path]) -> None:
    from retail_intel.config.camera_settings import CameraSettings

    video, data = processed
    # --roi 0,0,5000,5000 was judged and exported without a word, where process (judging the same
    # tracks the same way) refuses it before reading a frame
    outside = CameraSettings(roi=(0, 0, 5000, 5000))
    with pytest.raises(InputError, match=r"ROI .* reaches outside the 320x240 frame"):
        person_boxes(video, data_dir=data, branch="b1", settings=outside)
    with pytest.raises(InputError, match=r"ROI .* reaches outside the 320x240 frame"):
        process_video(
            make_plan(ProcessRequest.create(video, "b1", data, start_time=START, roi="0,0,5000,5000")),
            detector_factory=lambda plan: ScriptedDetector(two_people),
        )
    # the whole frame is still fine
    whole = person_boxes(video, data_dir=data, branch="b1", settings=CameraSettings(roi=(0, 0, 320, 240)))
    assert whole.people == 2


@pytest.mark.parametrize(
    ("fmt", "name"), [("mot", "boxes.parquet"), ("csv", "boxes.PARQUET"), ("parquet", "boxes.csv")]
)
def test_a_file_name_of_the_other_kind_is_refused(
    fmt: str,
    name: str,
    processed: tuple[Path, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    video, data = processed
    # -o vtest.parquet without --format wrote MOT text into a file named .parquet, which no Parquet
    # reader opens; Parquet into boxes.csv likewise
    out = tmp_path / name
    args = ["tracks", str(video), "--branch", "b1", "--roi", ROI, "--data-dir", str(data), "-f", fmt, "-o", str(out)]
    result = run_cli(args, capsys, monkeypatch)
    assert result.exit_code == 1
    assert f"--format {fmt}" in result.stderr and name in result.stderr
    assert not out.exists()
    # a name that says nothing of the kind is taken as given
    for given in ("boxes.out", "boxes"):
        args[-1] = str(tmp_path / f"{fmt}-{given}")
        assert run_cli(args, capsys, monkeypatch).exit_code == 0


def test_a_rerun_with_a_corrected_start_moves_the_tracks_to_the_movements_day(tmp_path: Path) -> None:
    # the rerun reused the stored tracks and left them under 2026-02-08 while its movements
    # moved to 2026-02-09: the tracks sat under a day the video no longer belongs to
    video = write_video(tmp_path / "cam.avi")
    data = tmp_path / "data"
    for start in (START.replace(hour=9), START.replace(day=9, hour=13)):
        plan = make_plan(ProcessRequest.create(video, "b1", data, start_time=start, roi=ROI))
        result = process_video(plan, detector_factory=lambda plan: ScriptedDetector(two_people))
    assert result.summary.tracks.startswith("reused")  # nothing detected again: the stored tracks moved
    key = source_key("cam1", fingerprint(video))
    day_of = {kind: [p.parent.name for p in source_files(data, key, kind)] for kind in ("movements", "tracks")}
    assert day_of == {"movements": ["2026-02-09"], "tracks": ["2026-02-09"]}
    stored = read_tracks(data, key)
    assert stored is not None and stored.metadata["identity"]  # the file moved with its description
    assert person_boxes(video, data_dir=data, branch="b1").people == 2


def test_a_run_summary_that_does_not_exist_is_named_missing(tmp_path: Path) -> None:
    # `tracks retail_data/runs/<key>.json` after only `process --max-frames` said
    # "not a run summary of retail-intel process ([Errno 2] No such file or directory: ...)"
    video = write_video(tmp_path / "cam.avi")
    data = tmp_path / "data"
    plan = make_plan(ProcessRequest.create(video, "b1", data, start_time=START, roi=ROI, max_frames=15))
    process_video(plan, detector_factory=lambda plan: ScriptedDetector(two_people))
    name = f"{source_key('cam1', fingerprint(video))}.json"
    with pytest.raises(InputError) as raised:
        person_boxes(data / "runs" / name, data_dir=data, settings=None)
    message = str(raised.value)
    assert message.startswith(f"{data / 'runs' / name}: no such run summary")
    assert str(data / "previews" / "runs" / name) in message and "Errno" not in message
    with pytest.raises(InputError) as raised:
        person_boxes(tmp_path / "elsewhere.json", data_dir=data, settings=None)
    assert str(raised.value).startswith(f"{tmp_path / 'elsewhere.json'}: no such run summary (process writes")
