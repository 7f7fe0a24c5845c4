"""The data and config directory messages name what a Python caller passed (data_dir, config_dir); the
CLI words them as the flag or variable that gave the directory. They said --data-dir and --config to both."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from retail_intel.batch.request import BatchRequest
from retail_intel.batch.runner import run_batch
from retail_intel.cli.app import main
from retail_intel.config.loader import MissingConfigError, load_config, validate_config
from retail_intel.datadir import NoRetailDataError, require_retail_data
from retail_intel.errors import InputError
from retail_intel.naming import DIRECTORY_NAMES
from retail_intel.pipeline.plan import ProcessRequest, make_plan
from retail_intel.pipeline.run import process_video

from .fakes import ScriptedDetector, two_people, write_video

START = "2026-02-08T10:00:00+00:00"


def test_a_missing_or_empty_data_directory_names_data_dir(tmp_path: Path) -> None:
    with pytest.raises(NoRetailDataError, match=r"nothing: no such directory; check data_dir$") as missing:
        require_retail_data(tmp_path / "nothing")
    assert missing.value.worded_for(DIRECTORY_NAMES).endswith("check --data-dir (or RETAIL_INTEL_DATA_DIR)")
    (tmp_path / "empty").mkdir()
    with pytest.raises(NoRetailDataError, match=r"; check data_dir, or write data first") as empty:
        require_retail_data(tmp_path / "empty")
    assert "; check --data-dir (or RETAIL_INTEL_DATA_DIR), or write data first" in empty.value.worded_for(
        DIRECTORY_NAMES
    )


def test_a_missing_config_directory_names_config_dir(tmp_path: Path) -> None:
    expected = f"config directory {tmp_path / 'nowhere'} does not exist; point config_dir at a directory"
    with pytest.raises(MissingConfigError, match=f"^{expected}"):
        load_config(tmp_path / "nowhere")
    assert validate_config(tmp_path / "nowhere")[0].startswith(expected)
    assert (
        "point --config DIR (or the RETAIL_INTEL_CONFIG environment variable) at"
        in validate_config(tmp_path / "nowhere", DIRECTORY_NAMES)[0]
    )


def test_a_data_dir_that_is_a_file_names_data_dir(tmp_path: Path) -> None:
    video = write_video(tmp_path / "cam.avi", frames=5)
    (tmp_path / "data").write_text("notes")
    detector = ScriptedDetector(two_people)
    request = ProcessRequest.create(video, "b1", tmp_path / "data", roi="100,80,220,200", start_time=START)
    with pytest.raises(InputError, match=r"^data_dir .*data: expected the data directory, found a file$"):
        process_video(make_plan(request), detector_factory=lambda plan: detector)
    batch = BatchRequest(source=str(tmp_path / "cam.avi"), config_dir=tmp_path / "config", data_dir=tmp_path / "data")
    with pytest.raises(InputError, match=r"^request.data_dir .*data: expected the data directory, found a file$"):
        run_batch(batch)


def _cli_error(args: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> str:
    """The console entry point's error line for ``args``: main() is the edge that words the messages."""
    monkeypatch.setattr(sys, "argv", ["retail-intel", *args])
    monkeypatch.setenv("COLUMNS", "200")
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 1
    return capsys.readouterr().err.strip()


def test_the_cli_still_names_its_flags_and_variables(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert _cli_error(["sql", "select 1", "--data-dir", "nothing"], capsys, monkeypatch) == (
        "error: nothing: no such directory; check --data-dir (or RETAIL_INTEL_DATA_DIR)"
    )
    assert _cli_error(["tasks", "b1", "--config", "nowhere"], capsys, monkeypatch) == (
        "error: config directory nowhere does not exist; point --config DIR (or the RETAIL_INTEL_CONFIG "
        "environment variable) at a directory holding branches.yaml"
    )


def test_serve_names_the_flags_and_variables_its_operator_gave_the_directories(tmp_path: Path) -> None:
    # serve is started with --data-dir/--config (or their variables, in its workers): its /health
    # and 503 answers name those, as the CLI's messages do, not the library's parameters
    import shutil

    from retail_intel.serve import create_app
    from tests.test_serve_support import Api, make_site

    site = make_site(tmp_path)
    api = Api(create_app(site.config_dir, site.data_dir))
    assert api.ok("/health")["status"] == "ok"
    shutil.rmtree(site.data_dir)
    health = api.get("/health").json()
    assert health["data"]["problem"].endswith("no such directory; check --data-dir (or RETAIL_INTEL_DATA_DIR)")
    refused = api.get("/report/b1")  # the report's own refusal, a 503
    assert refused.status_code == 503
    assert refused.json()["detail"] == health["data"]["problem"]
    shutil.rmtree(site.config_dir)
    problem = api.get("/health").json()["config"]["problem"]
    assert "does not exist; point --config DIR (or the RETAIL_INTEL_CONFIG environment variable) at" in problem
