"""``retail-intel kpis`` through the real console entry point."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from retail_intel.kpis import KPI_SCHEMA, read_kpis
from tests.cli_helpers import CliResult, run_cli
from tests.kpi_fixtures import make_config_dir, make_data_dir

Invoke = Callable[..., CliResult]


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    return make_config_dir(tmp_path)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return make_data_dir(tmp_path)


@pytest.fixture
def kpis(
    config_dir: Path,
    data_dir: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Invoke:
    def invoke(*args: str) -> CliResult:
        return run_cli(["kpis", "--config", str(config_dir), "--data-dir", str(data_dir), *args], capsys, monkeypatch)

    return invoke


def test_table_output_shows_local_windows_and_stores_parquet(kpis: Invoke, data_dir: Path) -> None:
    result = kpis("--window", "60m", "--branch", "b1")
    assert result.exit_code == 0, result.stderr
    assert "KPIs per 60-minute window" in result.stdout
    assert "Mon 02 Mar 2026 09:00" in result.stdout and "promo" in result.stdout
    assert "3 windows of 60 min for 1 branch in" in result.stderr
    assert read_kpis(data_dir, branch_id="b1", window_minutes=60).num_rows == 3


def test_one_window_is_counted_in_the_singular(kpis: Invoke) -> None:
    # the summary said "1 windows of 60 min for 1 branch(es)"
    result = kpis("--window", "60m", "--branch", "b1", "--from", "2026-03-02T09:00:00Z", "--to", "2026-03-02T10:00:00Z")
    assert result.exit_code == 0, result.stderr
    assert "1 window of 60 min for 1 branch in" in result.stderr


def test_an_empty_range_is_one_line_without_an_empty_table(kpis: Invoke) -> None:
    # it printed "no rows for ...", the empty table's header, and a note on the columns that did not fit
    result = kpis("--window", "60m", "--branch", "b1", "--from", "2030-01-01T00:00:00Z")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert result.stderr.splitlines()[-1] == "no rows for KPIs per 60-minute window"


def test_json_and_csv_carry_every_column(kpis: Invoke) -> None:
    result = kpis("--window", "1h", "--format", "json", "--engine", "polars")
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert len(rows) == 4 and list(rows[0]) == KPI_SCHEMA.names
    assert rows[0]["window_start"] == "2026-03-02T09:00:00+00:00" and rows[0]["staff_on_duty"] == 1.5
    assert "skipped movements of branch zz" in result.stderr
    result = kpis("-w", "30m", "-f", "csv", "--from", "2026-03-02T09:30:00Z", "--to", "2026-03-02T10:00:00Z")
    assert result.exit_code == 0, result.stderr
    table = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(r["branch_id"], r["window_start"]) for r in table] == [("b1", "2026-03-02T09:30:00+00:00")]
    assert table[0]["baseline"] == ""  # null as an empty cell


def test_parquet_output_needs_a_file(kpis: Invoke, tmp_path: Path) -> None:
    result = kpis("--format", "parquet")
    assert result.exit_code == 1 and "--format parquet needs -o FILE.parquet" in result.stderr
    target = tmp_path / "out.parquet"
    result = kpis("--format", "parquet", "-o", str(target), "--window", "1d")
    assert result.exit_code == 0, result.stderr
    table = pq.read_table(target)
    assert table.schema.names == KPI_SCHEMA.names
    assert table["window_minutes"].to_pylist() == [1440, 1440]


def test_dash_output_is_stdout(kpis: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # -o - wrote the KPIs to a file literally named "-" ("wrote -") and nothing to stdout
    monkeypatch.chdir(tmp_path)
    piped, plain = kpis("-f", "csv", "-o", "-"), kpis("-f", "csv")
    assert piped.exit_code == 0, piped.stderr
    rows = [
        [{k: v for k, v in r.items() if k != "computed_at"} for r in csv.DictReader(io.StringIO(out.stdout))]
        for out in (piped, plain)
    ]
    assert rows[0] == rows[1] and rows[0]
    assert json.loads(kpis("-f", "json", "-o", "-").stdout)[0]["branch_id"] == rows[0][0]["branch_id"]
    refused = kpis("-f", "parquet", "-o", "-")
    assert refused.exit_code == 1 and "--format parquet needs -o FILE.parquet" in refused.stderr
    assert not (tmp_path / "-").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--window", "7m"], "--window must be a whole number of minutes that divides a day"),
        (["--branch", "b9"], 'unknown branch "b9"'),
        (["--from", "2026-03-02T09:00:00"], "--from: expected a time with a timezone"),
        (["--from", "2026-03-03T00:00:00Z", "--to", "2026-03-02T00:00:00Z"], "--to must be after --from"),
        (["--zones", "--from", "2026-03-03T00:00:00Z", "--to", "2026-03-02T00:00:00Z"], "--to must be after --from"),
    ],
)
def test_bad_options_are_one_line_errors(kpis: Invoke, args: list[str], message: str) -> None:
    result = kpis(*args)
    assert result.exit_code == 1
    assert message in result.stderr.replace("\n", " ")


@pytest.mark.parametrize(("option", "most"), [("--baseline-weeks", "520"), ("--momentum-windows", "10000")])
def test_a_huge_look_back_is_a_usage_error_not_an_overflow(kpis: Invoke, option: str, most: str) -> None:
    # 99999999999 weeks back was an OverflowError traceback from the window arithmetic
    result = kpis(option, "99999999999")
    assert result.exit_code == 2
    assert f"Invalid value for '{option}': expected a whole number >= " in result.stderr
    assert f"<= {most}, got 99999999999" in result.stderr
    assert "Traceback" not in result.stderr


def test_to_reports_the_window_it_falls_in_as_its_help_says(kpis: Invoke) -> None:
    # --to 09:30 cuts the 09:00-10:00 window: it overlaps [from, to), so it is reported (docs/kpis.md)
    result = kpis("--window", "60m", "--branch", "b1", "--from", "2026-03-02T09:00:00Z", "--to", "2026-03-02T09:30:00Z",
                  "--format", "csv")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(r["window_start"], r["window_end"]) for r in rows] == [
        ("2026-03-02T09:00:00+00:00", "2026-03-02T10:00:00+00:00")
    ]
    import typer.main

    from retail_intel.cli.app import app

    command = typer.main.get_command(app)
    assert isinstance(command, typer.main.TyperGroup)
    (to,) = [p for p in command.commands["kpis"].params if "--to" in getattr(p, "opts", [])]
    assert "ending before" not in str(getattr(to, "help", "")), "the window holding --to is reported, not left out"


def test_help_has_an_example(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    result = run_cli(["kpis", "--help"], capsys, monkeypatch)
    assert result.exit_code == 0
    assert "Example: retail-intel kpis --window 60m" in result.stdout
    for option in ("--window", "--branch", "--from", "--to", "--format", "--engine", "--output"):
        assert option in result.stdout


def test_the_two_windows_of_a_repeated_hour_are_told_apart_in_a_table() -> None:
    # Berlin, 25 Oct 2026: 02:00-03:00 happens twice (+02:00, then +01:00). The table showed two
    # rows labelled 02:00; each now carries its offset, and no other window does
    import datetime as dt
    from zoneinfo import ZoneInfo

    from retail_intel.cli.common import window_label

    berlin = ZoneInfo("Europe/Berlin")
    starts = [dt.datetime(2026, 10, 24, 22, tzinfo=dt.UTC) + dt.timedelta(hours=h) for h in range(4)]
    assert [window_label(s, berlin) for s in starts] == [
        "Sun 25 Oct 2026 00:00",
        "Sun 25 Oct 2026 01:00",
        "Sun 25 Oct 2026 02:00 +02:00",
        "Sun 25 Oct 2026 02:00 +01:00",
    ]
    # the day after: one 02:00, no offset; a branch without a timezone: the UTC time as it is
    assert window_label(dt.datetime(2026, 10, 26, 1, tzinfo=dt.UTC), berlin) == "Mon 26 Oct 2026 02:00"
    assert window_label(starts[0], None) == "Sat 24 Oct 2026 22:00"
