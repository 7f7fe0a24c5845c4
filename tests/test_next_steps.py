"""Library messages name functions and parameters, never commands; the CLI's edge words their next step as one."""

from __future__ import annotations

from pathlib import Path

import pytest

from retail_intel.config import load_config
from retail_intel.errors import ConfigError, DataError, RetailIntelError, Step
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
