"""``retail-intel process FOLDER|GLOB|MANIFEST``: dispatch, options, summary and exit codes."""

from __future__ import annotations

import errno
import json
import os
import sys
from pathlib import Path

import pytest

import retail_intel.pipeline.run as run_module
from retail_intel.batch import runner
from retail_intel.storage import write_error

from .batch_fakes import stayer_and_passers, write_scene
from .batch_helpers import RUNTIME, make_archive, make_config
from .cli_helpers import CliResult, run_cli
from .fakes import write_video


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(runner, "DEFAULT_RUNTIME", RUNTIME)  # the blob detector, no weights
    monkeypatch.chdir(tmp_path)
    make_config(tmp_path)
    make_archive(tmp_path)
    return tmp_path


def cli(args: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> CliResult:
    return run_cli(["process", *args, "--config", "config", "--data-dir", "data", "-q"], capsys, monkeypatch)


def test_folder_batch_prints_a_summary_and_exits_0(
    root: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    result = cli(["archive", "--no-kpis"], capsys, monkeypatch)
    assert result.exit_code == 0, result.stderr
    assert "files done" in result.stdout and "6" in result.stdout
    # it said "local, 1 workers"
    assert "local, 1 worker" in result.stdout and "1 workers" not in result.stdout
    # the door's stayer and passers size it once; the till's lone shopper is too few to size on
    assert "input size b1/door: 640 (auto, once for the camera:" in result.stderr
    assert "input size b1/till: 640 (auto, each file probed, none sized on: only 2 people found" in result.stderr
    again = cli(["archive", "--no-kpis"], capsys, monkeypatch)
    assert again.exit_code == 0 and "skipped (already done)" in again.stdout


def test_a_bad_file_makes_exit_code_3_and_is_listed(
    root: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (root / "archive" / "b1" / "door" / "door_20260208_130000.avi").write_bytes(b"junk" * 100)
    result = cli(["archive", "--no-kpis", "--format", "json"], capsys, monkeypatch)
    assert result.exit_code == 3
    summary = json.loads(result.stdout)
    assert (summary["done"], summary["failed"], summary["exit_code"]) == (6, 1, 3)
    (failed,) = [f for f in summary["files"] if f["status"] == "failed"]
    assert failed["video"].endswith("door_20260208_130000.avi") and failed["reason"]


def test_quoted_glob_and_kpis(root: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    result = cli(["archive/*/till/*.avi", "--format", "json"], capsys, monkeypatch)
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["done"] == 3 and {f["camera"] for f in summary["files"]} == {"till"}
    assert [(k["branch"], k["window_minutes"]) for k in summary["kpis"]] == [("b1", 60)]
    assert (root / "data" / "kpis" / "60m" / "b1.parquet").is_file()


def test_batch_refuses_single_video_options(
    root: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    result = cli(["archive", "--branch", "b1"], capsys, monkeypatch)
    assert result.exit_code == 1 and "--branch is for one video" in result.stderr


def test_single_video_still_needs_branch_and_refuses_batch_options(
    root: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    video = write_video(root / "cam.avi", frames=5)
    missing = cli([str(video), "--roi", "1,1,50,50"], capsys, monkeypatch)
    assert missing.exit_code == 2 and "one video needs --branch" in missing.stderr
    workers = cli([str(video), "--branch", "b1", "--roi", "1,1,50,50", "--workers", "2"], capsys, monkeypatch)
    assert workers.exit_code == 1 and "--workers is for a batch" in workers.stderr


def test_a_stream_url_without_branch_is_not_called_one_video(
    root: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # `process http://127.0.0.1:8090/cam` said "one video needs --branch ID" of a live stream
    missing = cli(["http://127.0.0.1:8090/cam"], capsys, monkeypatch)
    assert missing.exit_code == 2 and "a live stream needs --branch ID" in missing.stderr
    assert "one video" not in missing.stderr


def test_ray_missing_says_how_to_install_it(
    root: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    result = cli(["archive", "--executor", "ray"], capsys, monkeypatch)
    assert result.exit_code == 1
    assert "pip install 'retail-intel[distributed]'" in result.stderr
    assert not (root / "data").exists()


def test_help_shows_the_batch_form(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    result = run_cli(["process", "--help"], capsys, monkeypatch)
    assert result.exit_code == 0
    assert "retail-intel process archive/" in result.stdout and "--workers" in result.stdout


def test_an_empty_video_argument_is_refused_not_a_batch_of_the_folder(
    root: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # `process "$VIDEO"` with VIDEO unset processed every video below the working directory as a batch
    result = cli([""], capsys, monkeypatch)
    assert result.exit_code == 1 and "VIDEO: expected a video file" in result.stderr
    assert not (root / "data").exists()


def test_the_saved_batch_summary_is_where_the_docs_say(
    root: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # every batch saved its summary as DATA_DIR/runs/batch-<time>.json, which neither README.md nor docs/batch.md named
    docs = Path(__file__).resolve().parents[1]
    assert "`DATA_DIR/runs/batch-<UTC start>.json`" in (docs / "docs" / "batch.md").read_text(encoding="utf-8")
    assert "runs/batch-<UTC time>.json" in (docs / "README.md").read_text(encoding="utf-8")
    result = cli(["archive", "--no-kpis", "--format", "json"], capsys, monkeypatch)
    assert result.exit_code == 0, result.stderr
    saved = sorted((root / "data" / "runs").glob("batch-*Z.json"))
    assert len(saved) == 1 and json.loads(saved[0].read_text()) == json.loads(result.stdout)


def test_a_skipped_file_reports_what_its_first_run_found(
    root: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # a rerun skipped every file, and the JSON said taken_over 0 for the files whose first run took
    # 2 people over from the file before; the same video twice said joined_previous false, unknown
    copy = root / "archive" / "b1" / "z-copy"
    copy.mkdir()
    (copy / "door_20260208_100005.avi").write_bytes((root / "archive/b1/door/door_20260208_100005.avi").read_bytes())

    def found(result: CliResult) -> dict[str, tuple[str, bool | None, int | None]]:
        assert result.exit_code == 0, result.stderr
        files = json.loads(result.stdout)["files"]
        return {
            str(Path(f["video"]).relative_to(root / "archive")): (f["status"], f["joined_previous"], f["taken_over"])
            for f in files
        }

    first = found(cli(["archive", "--no-kpis", "--format", "json"], capsys, monkeypatch))
    again = found(cli(["archive", "--no-kpis", "--format", "json"], capsys, monkeypatch))
    assert first["b1/door/door_20260208_100005.avi"] == ("done", True, 2)
    assert first["b1/door/door_20260208_100000.avi"] == ("done", False, 0)
    assert first["b1/z-copy/door_20260208_100005.avi"] == ("skipped", None, None)
    assert {name: status for name, (status, _, _) in again.items()} == dict.fromkeys(again, "skipped")
    assert {name: rest for name, (_, *rest) in again.items()} == {
        name: list(rest) for name, (_, *rest) in first.items()
    }


def test_a_data_dir_that_is_a_file_is_refused_in_one_line(
    root: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # said "data/.locks/batch.lock: cannot create the batch lock file (Not a directory)"
    (root / "data").write_text("notes")
    result = cli(["archive", "--no-kpis"], capsys, monkeypatch)
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    assert "--data-dir data: expected the data directory, found a file" in result.stderr
    assert "lock" not in result.stderr
    below = run_cli(
        ["process", "archive", "--config", "config", "--data-dir", "data/sub", "-q", "--no-kpis"], capsys, monkeypatch
    )
    assert (
        below.exit_code == 1 and "--data-dir data/sub: cannot be created, data is a file, not a folder" in below.stderr
    )
    assert (root / "data").read_text() == "notes"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--executor", "spark"], "--executor must be one of local, ray, got 'spark'"),
        (["--address", "auto"], "--address is for --executor ray"),
        (["--executor", "ray"], "--executor ray needs Ray, which is not installed"),
    ],
)
def test_batch_messages_name_the_flags(
    root: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    # the library names the request's fields (tests/test_batch_runner.py); the command shows its flags
    monkeypatch.setitem(sys.modules, "ray", None)
    result = cli(["archive", *args], capsys, monkeypatch)
    assert result.exit_code == 1 and message in result.stderr, result.stderr


def test_a_file_that_failed_before_names_the_retry_flag(
    root: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # a segment that breaks off half way: found only while decoding, so the ledger remembers it
    whole = write_scene(root / "tmp.avi", stayer_and_passers, frames=80)
    data = whole.read_bytes()
    (root / "archive" / "b1" / "door" / "door_20260208_120000.avi").write_bytes(data[: len(data) // 2])
    args = ["archive", "--no-kpis", "--format", "json"]
    assert cli(args, capsys, monkeypatch).exit_code == 3
    again = json.loads(cli(args, capsys, monkeypatch).stdout)
    (failed,) = [f for f in again["files"] if f["status"] == "failed"]
    assert "failed earlier (same file and settings; --retry-failed tries again)" in failed["reason"]


def test_a_batch_logged_to_a_file_has_its_file_lines_and_no_bar(
    root: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # with stderr going to a log (no terminal) and no --quiet, the bar's frames were written into the log
    # beside the per-file lines, which are what a log needs; the bar is off there, as process's is for one video
    args = ["process", "archive/*/till/*.avi", "--no-kpis", "--config", "config", "--data-dir", "data"]
    result = run_cli(args, capsys, monkeypatch)
    assert result.exit_code == 0, result.stderr
    lines = result.stderr.splitlines()
    done = [line for line in lines if line.startswith("done ")]
    assert len(done) == 3 and all("till_" in line for line in done)
    assert not [line for line in lines if "batch" in line or "━" in line or not line.strip()], lines


def test_a_full_disk_lists_the_files_it_kept_from_starting_as_not_run(
    root: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def full_disk(path: Path, image: object) -> Path:
        raise write_error(path, OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)))

    monkeypatch.setattr(run_module, "write_image", full_disk)
    args = ["process", "archive", "--no-kpis", "--config", "config", "--data-dir", "data"]
    result = run_cli(args, capsys, monkeypatch)
    assert result.exit_code == 3
    lines = result.stderr.splitlines()
    assert len([line for line in lines if line.startswith("failed ")]) == 1
    assert len([line for line in lines if line.startswith("not run ")]) == 5
    assert any(line.startswith("5 files not run: not started: the disk of the data directory") for line in lines)
    assert "not run" in result.stdout
