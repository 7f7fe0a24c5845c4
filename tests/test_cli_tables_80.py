"""Tables read well in an 80-column terminal: ids, times and time zones are never split, and what does not
fit is named instead of being squeezed into unreadable pieces."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from retail_intel.cli import common
from retail_intel.cli.common import compact_time
from retail_intel.cli.fitted_table import fitted_table, header_lines
from retail_intel.config import load_config
from tests.cli_helpers import CliResult, run_cli
from tests.kpi_fixtures import make_config_dir, make_data_dir

SAMPLE_CONFIG = Path(__file__).resolve().parents[1] / "config"
WIDTH = 80


Invoke = Callable[..., CliResult]


@pytest.fixture
def at_80(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Invoke:
    monkeypatch.setattr(common.out, "_width", WIDTH)
    monkeypatch.setattr(common.err, "_width", WIDTH)

    def invoke(*args: str) -> CliResult:
        return run_cli(list(args), capsys, monkeypatch)

    return invoke


def lines_of(text: str) -> list[str]:
    return [line.rstrip() for line in text.splitlines()]


def assert_whole(text: str, values: list[str]) -> None:
    """Each value appears unbroken on one line, and no line is wider than the terminal."""
    assert all(len(line) <= WIDTH for line in lines_of(text)), text
    for value in values:
        assert any(value in line for line in lines_of(text)), f"{value!r} is split in:\n{text}"


def test_branches_list(at_80: Invoke) -> None:
    result = at_80("branches", "list", "--config", str(SAMPLE_CONFIG))
    assert result.exit_code == 0, result.stderr
    config = load_config(SAMPLE_CONFIG)
    assert_whole(result.stdout, [b.id for b in config.branches] + [b.timezone for b in config.branches])
    assert_whole(result.stdout, [b.name for b in config.branches if len(b.name) <= 24])
    note = " ".join(result.stderr.split())
    assert re.search(r"\d+ more columns? not shown at 80 characters wide \(.*neighbors\)", note), note
    assert "--format json or csv" in note
    every = json.loads(at_80("branches", "list", "--config", str(SAMPLE_CONFIG), "--format", "json").stdout)
    assert "neighbors" in every[0]  # nothing hidden there


def test_promotions(at_80: Invoke) -> None:
    result = at_80("promotions", "--config", str(SAMPLE_CONFIG))
    assert result.exit_code == 0, result.stderr
    promotions = load_config(SAMPLE_CONFIG).promotions
    assert_whole(result.stdout, [p.id for p in promotions])
    assert_whole(result.stdout, [compact_time(p.start) for p in promotions] + [compact_time(p.end) for p in promotions])


def test_kpis(at_80: Invoke, tmp_path: Path) -> None:
    config, data = make_config_dir(tmp_path), make_data_dir(tmp_path)
    result = at_80("kpis", "--config", str(config), "--data-dir", str(data), "--window", "60m")
    assert result.exit_code == 0, result.stderr
    assert_whole(result.stdout, ["b1", "b2", "Mon 02 Mar 2026 09:00", "visitors", "passed"])
    assert "not shown" in result.stderr


def test_wide_sql_results(at_80: Invoke, tmp_path: Path) -> None:
    config, data = make_config_dir(tmp_path), make_data_dir(tmp_path)
    query = (
        "SELECT customer_id, branch_id, enter_time, exit_time, dwell_seconds, source_video "
        "FROM customer_branch_movement ORDER BY enter_time"
    )
    result = at_80("sql", "--config", str(config), "--data-dir", str(data), query)
    assert result.exit_code == 0, result.stderr
    rows = json.loads(at_80("sql", "--config", str(config), "--data-dir", str(data), "--format", "json", query).stdout)
    ids = [row["customer_id"] for row in rows]
    times = [compact_time(dt.datetime.fromisoformat(row["enter_time"])) for row in rows]
    assert_whole(result.stdout, ids + times)
    # Whatever did not fit is named, never dropped silently.
    shown_header = " ".join(lines_of(result.stdout)[:3])
    hidden = re.search(r"not shown at 80 characters wide \(([^)]*)\)", " ".join(result.stderr.split()))
    assert hidden is not None
    for column in ("customer_id", "branch_id", "enter_time", "exit_time", "dwell_seconds", "source_video"):
        assert column in hidden.group(1) or column.split("_")[0] in shown_header


def test_headers_wrap_at_underscores_and_keep_their_names() -> None:
    assert header_lines("customers_per_staff", 10) == "customers_\nper_staff"
    assert header_lines("visitors", 3) == "visitors"
    assert header_lines("a_b_c", 5) == "a_b_c"


def test_compact_times_keep_their_offset() -> None:
    utc = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    assert compact_time(utc) == "2026-03-02 09:00Z"
    assert compact_time(utc.replace(second=5, microsecond=250)) == "2026-03-02 09:00:05.000250Z"
    assert compact_time(utc.astimezone(dt.timezone(dt.timedelta(hours=1)))) == "2026-03-02 10:00+01:00"


atoms = st.text(alphabet="abcdefghij-/:0123456789", min_size=1, max_size=30)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(atoms, atoms, atoms, st.integers(-(10**6), 10**6)), min_size=1, max_size=6),
    st.integers(min_value=40, max_value=120),
)
def test_no_short_value_is_ever_split(rows: list[tuple[str, str, str, int]], width: int) -> None:
    columns = ["first_column", "second", "third_one", "count"]
    records = [dict(zip(columns, row, strict=True)) for row in rows]
    fitted = fitted_table(records, columns, str, width=width)
    console = Console(width=width, record=True, file=io.StringIO())
    console.print(fitted.table)
    text = console.export_text()
    shown = [c for c in columns if c not in fitted.hidden]
    assert shown and shown == columns[: len(shown)]
    for record in records:
        for column in shown:
            if len(str(record[column])) <= width:
                assert any(str(record[column]) in line for line in text.splitlines()), (record, text)
    assert all(len(line.rstrip()) <= width for line in text.splitlines())
