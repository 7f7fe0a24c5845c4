"""``retail-intel etl``: exit codes, the summary, holidays.yaml validation and the branch_features view."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from retail_intel.config import load_config, validate_config
from retail_intel.errors import ConfigError
from retail_intel.etl import read_features
from retail_intel.kpis.compute import compute_kpis
from retail_intel.sqlviews import open_database, run_query
from tests.cli_helpers import run_cli
from tests.etl_fixtures import make_dirs, write_config


def _etl(
    config: Path, data: Path, *args: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> tuple[int, str, str]:
    result = run_cli(["etl", "--config", str(config), "--data-dir", str(data), *args], capsys, monkeypatch)
    return result.exit_code, result.stdout, result.stderr


def test_json_summary_and_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config, data = make_dirs(tmp_path)
    code, stdout, _ = _etl(config, data, "--format", "json", capsys=capsys, monkeypatch=monkeypatch)
    assert code == 0
    summary = json.loads(stdout)
    assert (summary["branches"], summary["kpi_windows"], summary["feature_rows"]) == (2, 217, 217)
    assert (summary["kpi_files"], summary["feature_files"]) == (2, 2)
    assert summary["from"] is None and summary["engine"] == "duckdb"
    assert read_features(data).num_rows == 217


def test_range_and_branch_csv(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config, data = make_dirs(tmp_path)
    assert _etl(config, data, "-f", "json", capsys=capsys, monkeypatch=monkeypatch)[0] == 0  # history first
    code, stdout, _ = _etl(
        config,
        data,
        "--from",
        "2026-03-06T10:00:00Z",
        "--to",
        "2026-03-06T12:00:00+00:00",
        "--branch",
        "b1",
        "--engine",
        "polars",
        "-f",
        "csv",
        capsys=capsys,
        monkeypatch=monkeypatch,
    )
    assert code == 0
    (row,) = list(csv.DictReader(io.StringIO(stdout)))
    assert (row["branches"], row["kpi_windows"], row["engine"]) == ("1", "2", "polars")
    # 10:00 and 11:00, the hour before, and up to 168 h after 11:00: Fri 09:00 .. Sat 10:00 (the data's end).
    assert row["feature_rows"] == "26"
    assert read_features(data, "b1").num_rows == 193  # replaced in place


def test_a_range_without_movements_says_what_it_still_wrote(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # hourly KPIs stored by `kpis --window 60m` only: a range run with no movements still writes their features
    config, data = make_dirs(tmp_path)
    compute_kpis(load_config(config), data, window_minutes=60)
    code, stdout, stderr = _etl(config, data, "--from", "2026-04-01T00:00:00Z", capsys=capsys, monkeypatch=monkeypatch)

    assert code == 0 and "kpi_windows    0" in stdout and "feature_rows   217" in stdout
    assert read_features(data).num_rows == 217
    assert stderr.strip() == "no movements in the range: 217 feature row(s) of stored hours written"


def test_table_output(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    config, data = make_dirs(tmp_path)
    code, stdout, _ = _etl(config, data, capsys=capsys, monkeypatch=monkeypatch)
    assert code == 0
    assert "feature_rows" in stdout and "217" in stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2026-03-06T10:00:00"], "--from: expected a time with a timezone"),
        (["--from", "2026-03-06T10:00:00Z", "--to", "2026-03-06T09:00:00Z"], "--to must be after --from"),
        (["--branch", "nope"], 'unknown branch "nope"'),
    ],
)
def test_bad_input_exits_1_with_one_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    message: str,
) -> None:
    config, data = make_dirs(tmp_path)
    code, stdout, stderr = _etl(config, data, *args, capsys=capsys, monkeypatch=monkeypatch)
    assert code == 1
    assert message in stderr
    assert stdout == ""


def test_bad_engine_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config, data = make_dirs(tmp_path)
    code, _, _ = _etl(config, data, "--engine", "pandas", capsys=capsys, monkeypatch=monkeypatch)
    assert code == 2


BAD_HOLIDAYS = """\
holidays:
  - {date: 2026-13-01, name: Bad month}
  - {date: "2026-12-25T00:00:00Z", name: With a time}
  - {date: 2026-12-26, name: Unknown branch, branches: [zz]}
  - {date: 2026-12-27}
  - {date: 2026-12-28, name: Typo, branches: al}
"""


def test_bad_holidays_yaml_lists_every_problem(tmp_path: Path) -> None:
    directory = write_config(tmp_path / "config", holidays=BAD_HOLIDAYS)
    problems = validate_config(directory)
    assert problems == [
        "holidays.yaml: entry #1: date must be a date such as 2026-03-01, got '2026-13-01'",
        "holidays.yaml: entry #2: date must be a date such as 2026-12-25 (no time of day), got 2026-12-25T00:00:00Z",
        "holidays.yaml: entry #4: name is required",
        "holidays.yaml: entry #5: branches must be a list of branch ids or 'all', got 'al'",
        'holidays.yaml: entry #3: branches: unknown branch "zz" (known: b1, b2, b3)',
    ]
    (directory / "holidays.yaml").write_text("holidays: {date: 2026-12-25}\n")
    with pytest.raises(ConfigError, match=r"holidays.yaml: 'holidays:' must hold a list"):
        load_config(directory)


def test_bad_holidays_yaml_fails_the_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config, data = make_dirs(tmp_path)
    (config / "holidays.yaml").write_text(BAD_HOLIDAYS)
    code, _, stderr = _etl(config, data, capsys=capsys, monkeypatch=monkeypatch)
    assert code == 1
    assert "holidays.yaml" in stderr


def test_holidays_are_optional_and_apply_to_all_by_default(tmp_path: Path) -> None:
    absent = load_config(write_config(tmp_path / "none", holidays=None))
    assert absent.holidays == ()
    loaded = load_config(write_config(tmp_path / "some"))
    assert [h.name for h in loaded.holidays_for("b2")] == ["Christmas Day"]
    assert [h.name for h in loaded.holidays_for("b1")] == ["Town fair", "Christmas Day"]


def test_branch_features_sql_view(tmp_path: Path) -> None:
    from retail_intel.etl import run_etl

    config, data = make_dirs(tmp_path)
    run_etl(load_config(config), data)
    con = open_database(config, data)
    rows = run_query(
        con,
        "SELECT branch_id, count(*) AS n, sum(visitors)::BIGINT AS visitors FROM branch_features GROUP BY ALL ORDER BY 1",
    ).to_pylist()
    assert rows == [{"branch_id": "b1", "n": 193, "visitors": 10}, {"branch_id": "b2", "n": 24, "visitors": 7}]
