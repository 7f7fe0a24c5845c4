"""``retail-intel sql`` output: every cell under its own column, in csv, json and table, whatever the types."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from retail_intel.cli.tables import arrow_csv, arrow_json, unique_names
from retail_intel.movements.store import write_movements
from tests.cli_helpers import CliResult, run_cli
from tests.test_sql import CONFIG, T0, movements

SqlCli = Callable[..., CliResult]


@pytest.fixture
def sql_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> SqlCli:
    config = tmp_path / "config"
    config.mkdir()
    for name, text in CONFIG.items():
        (config / name).write_text(text)
    data = tmp_path / "data"
    write_movements(movements("b1", [(1, "entered", 0)]), data, branch_id="b1", day=T0.date(), source_key="v1")

    def run(*args: str) -> CliResult:
        return run_cli(["sql", *args, "--config", str(config), "--data-dir", str(data)], capsys, monkeypatch)

    return run


def test_repeated_names_get_a_free_suffix_in_order() -> None:
    assert unique_names(["a", "a", "b", "a"]) == ["a", "a_1", "b", "a_2"]
    # a suffix the result already holds is skipped, and no two names end up equal
    assert unique_names(["a", "a", "a_1"]) == ["a", "a_2", "a_1"]
    assert unique_names(["x", "y"]) == ["x", "y"]


def test_duplicate_columns_keep_their_own_values_in_every_format(sql_cli: SqlCli) -> None:
    statement = "SELECT 1 AS a, 2 AS a, 3 AS b"
    rows = list(csv.reader(io.StringIO(sql_cli(statement, "-f", "csv").stdout)))
    assert rows == [["a", "a", "b"], ["1", "2", "3"]]
    assert json.loads(sql_cli(statement, "-f", "json").stdout) == [{"a": 1, "a_1": 2, "b": 3}]
    shown = sql_cli(statement).stdout
    assert shown.splitlines()[-1].split() == ["1", "2", "3"]


def test_a_join_of_two_stars_writes_as_many_cells_as_names(sql_cli: SqlCli) -> None:
    statement = "SELECT m.*, n.* FROM customer_branch_movement m JOIN customer_branch_movement n USING (customer_id)"
    header, row = list(csv.reader(io.StringIO(sql_cli(statement, "-f", "csv").stdout)))
    assert len(header) == len(row) and header.count("branch_id") == 2
    (record,) = json.loads(sql_cli(statement, "-f", "json").stdout)
    assert len(record) == len(header) and record["branch_id"] == record["branch_id_1"] == "b1"


def test_decimals_keep_their_exact_digits_in_json_and_csv(sql_cli: SqlCli) -> None:
    # json and csv went through a float: 12345678901234567.891 came out as 1.2345678901234568e+16
    # and DECIMAL(18,3) 0.3 as 0.3, while the table showed 0.300
    statement = (
        "SELECT 0.1::DECIMAL(18,3) + 0.2::DECIMAL(18,3) AS a, 12345678901234567.891::DECIMAL(38,3) AS big, "
        "0.0000001::DECIMAL(18,9) AS tiny, -2::DECIMAL(10,2) AS neg, NULL::DECIMAL(5,2) AS none, "
        "[1.5::DECIMAL(4,1)] AS listed, sum(2) AS total, 'x' AS text"
    )
    text = sql_cli(statement, "-f", "json").stdout
    assert '"a": 0.300,' in text and '"big": 12345678901234567.891,' in text and '"tiny": 0.000000100,' in text
    (row,) = json.loads(text, parse_float=Decimal)
    assert row == {
        "a": Decimal("0.300"),
        "big": Decimal("12345678901234567.891"),
        "tiny": Decimal("0.000000100"),
        "neg": Decimal("-2.00"),
        "none": None,
        "listed": [Decimal("1.5")],
        "total": 2,
        "text": "x",
    }
    header, cells = list(csv.reader(io.StringIO(sql_cli(statement, "-f", "csv").stdout)))
    assert dict(zip(header, cells, strict=True)) == {
        "a": "0.300",
        "big": "12345678901234567.891",
        "tiny": "0.000000100",
        "neg": "-2.00",
        "none": "",
        "listed": "[1.5]",
        "total": "2",
        "text": "x",
    }
    shown = sql_cli(statement).stdout
    assert "0.300" in shown and "12345678901234567.891" in shown


def test_a_cell_that_looks_like_a_decimal_placeholder_stays_text() -> None:
    table = pa.table({"d": pa.array([Decimal("1.10")], pa.decimal128(5, 2)), "s": ["@decimal-0"]})
    assert json.loads(arrow_json(table)) == [{"d": 1.1, "s": "@decimal-0"}]


def test_arrow_writers_follow_column_positions() -> None:
    table = pa.Table.from_arrays([pa.array([1, 4]), pa.array(["x", None]), pa.array([3.5, 6.0])], names=["v", "v", "w"])
    assert arrow_csv(table) == "v,v,w\n1,x,3.5\n4,,6.0\n"
    assert json.loads(arrow_json(table)) == [{"v": 1, "v_1": "x", "w": 3.5}, {"v": 4, "v_1": None, "w": 6.0}]


def test_a_parquet_result_with_a_repeated_name_reads_back_in_polars(sql_cli: SqlCli, tmp_path: Path) -> None:
    target = tmp_path / "out.parquet"
    assert sql_cli("SELECT 1 AS a, 2 AS a", "-f", "parquet", "-o", str(target)).exit_code == 0
    assert pl.read_parquet(target).to_dicts() == [{"a": 1, "a_1": 2}]


def test_intervals_are_seconds_in_every_format(sql_cli: SqlCli) -> None:
    # exit_time - enter_time of the one movement is 5 minutes; a month counts 30 days, as in DuckDB's epoch()
    statement = (
        "SELECT exit_time - enter_time AS stay, INTERVAL '1 month 2 days 0.5 seconds' AS long, "
        "[INTERVAL 90 SECONDS] AS listed, epoch(INTERVAL '1 month 2 days 0.5 seconds') AS duckdb_epoch "
        "FROM customer_branch_movement"
    )
    expected = 32 * 86_400 + 0.5
    (record,) = json.loads(sql_cli(statement, "-f", "json").stdout)
    assert record == {"stay": 300.0, "long": expected, "listed": [90.0], "duckdb_epoch": expected}
    _, row = list(csv.reader(io.StringIO(sql_cli(statement, "-f", "csv").stdout)))
    assert row[:3] == ["300.0", str(expected), "[90.0]"]
    cells = sql_cli(statement).stdout.splitlines()[-1].split()
    assert cells == ["300.000", "2,764,800", "90.000", "2,764,800"]


def test_a_parquet_result_holds_intervals_as_durations(sql_cli: SqlCli, tmp_path: Path) -> None:
    # pyarrow cannot write Arrow's month-day-nano interval to Parquet: the command used to end in a traceback
    target = tmp_path / "out.parquet"
    statement = (
        "SELECT exit_time - enter_time AS stay, INTERVAL '-1 month 2 days 0.5 seconds' AS odd, NULL::INTERVAL AS none, "
        "[INTERVAL 90 SECONDS, NULL] AS listed, {'x': INTERVAL 1 HOUR} AS nested FROM customer_branch_movement"
    )
    result = sql_cli(statement, "-f", "parquet", "-o", str(target))
    assert result.exit_code == 0, result.stderr
    table = pq.read_table(target)
    assert table.schema.field("stay").type == pa.duration("us")
    assert table.to_pylist() == [
        {
            "stay": dt.timedelta(minutes=5),
            "odd": dt.timedelta(days=-28, seconds=0.5),
            "none": None,
            "listed": [dt.timedelta(seconds=90), None],
            "nested": {"x": dt.timedelta(hours=1)},
        }
    ]


def test_a_type_parquet_cannot_hold_is_one_error_line(sql_cli: SqlCli, tmp_path: Path) -> None:
    target = tmp_path / "out.parquet"
    result = sql_cli("SELECT union_value(k := 1) AS u", "-f", "parquet", "-o", str(target))
    assert result.exit_code == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: --format parquet: ") and "union" in line and line.endswith("--format csv or json")
    assert not target.exists() and list(tmp_path.glob(".out.parquet.*")) == []


def test_infinite_and_far_future_dates_are_text_not_a_traceback(sql_cli: SqlCli) -> None:
    # coalesce(until, DATE 'infinity') is the usual way to write an open end; Python's dates stop at 9999
    statement = (
        "SELECT DATE 'infinity' AS open_end, '-infinity'::TIMESTAMPTZ AS open_start, "
        "TIMESTAMP '294247-01-10 04:00:54' AS far, DATE '2026-02-08' AS plain"
    )
    (record,) = json.loads(sql_cli(statement, "-f", "json").stdout)
    assert record == {
        "open_end": "infinity",
        "open_start": "-infinity",
        "far": "294247-01-10T04:00:54.000000",
        "plain": "2026-02-08",
    }
    _, row = list(csv.reader(io.StringIO(sql_cli(statement, "-f", "csv").stdout)))
    assert row == ["infinity", "-infinity", "294247-01-10T04:00:54.000000", "2026-02-08"]
    assert sql_cli(statement).exit_code == 0
    nested = sql_cli("SELECT [DATE 'infinity'] AS ends", "-f", "json")
    assert nested.exit_code == 1
    assert nested.stderr.strip().splitlines() == [
        "error: column 'ends' holds a date or time outside the years 1-9999 (such as DuckDB's 'infinity'), "
        "which cannot be written; cast it to VARCHAR in the query"
    ]


def test_infinite_and_nan_values_are_null_in_strict_json(sql_cli: SqlCli) -> None:
    statement = "SELECT 5 / 0 AS up, -5 / 0 AS down, 'NaN'::DOUBLE AS nan, [1.5, 'inf'::DOUBLE] AS listed, 2.5 AS fine"
    text = sql_cli(statement, "-f", "json").stdout

    def refuse(token: str) -> float:
        raise AssertionError(f"not JSON: {token}")

    assert json.loads(text, parse_constant=refuse) == [
        {"up": None, "down": None, "nan": None, "listed": [1.5, None], "fine": 2.5}
    ]
    _, row = list(csv.reader(io.StringIO(sql_cli(statement, "-f", "csv").stdout)))
    assert row == ["", "", "", "[1.5, null]", "2.5"]


@pytest.mark.parametrize(
    ("statement", "first_line"),
    [
        ("SELEC 1", 'error: the query does not parse: Parser Error: syntax error at or near "SELEC"'),
        ("SELECT nocol FROM branches", 'error: the query failed: Binder Error: Referenced column "nocol" not found'),
    ],
)
def test_a_bad_statement_is_one_line_with_duckdbs_first_line(sql_cli: SqlCli, statement: str, first_line: str) -> None:
    # `sql "SELEC 1"` printed three lines: DuckDB's message, then its `LINE 1:` excerpt and a caret line
    result = sql_cli(statement)
    assert result.exit_code == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(first_line)


def test_csv_cells_of_every_kind_with_nulls_and_nested_decimals_row_after_row() -> None:
    # text, whole numbers and booleans go out as Arrow gives them; the rest through the checks,
    # each nested decimal restored in its own cell (the placeholders are shared by the table)
    nested = pa.list_(pa.decimal128(6, 3))
    table = pa.table(
        {
            "s": pa.array(["a,b", None, ""]),
            "i": pa.array([1, None, -3], pa.int16()),
            "b": pa.array([True, None, False]),
            "f": pa.array([0.5, float("nan"), None]),
            "t": pa.array([dt.datetime(2026, 2, 8, 10, tzinfo=dt.UTC), None, None], pa.timestamp("us", tz="UTC")),
            "l": pa.array([[Decimal("1.100")], None, [Decimal("2.000"), Decimal("0.300")]], nested),
        }
    )
    rows = list(csv.reader(io.StringIO(arrow_csv(table))))
    assert rows == [
        ["s", "i", "b", "f", "t", "l"],
        ["a,b", "1", "True", "0.5", "2026-02-08T10:00:00+00:00", "[1.100]"],
        ["", "", "", "", "", ""],
        ["", "-3", "False", "", "", "[2.000, 0.300]"],
    ]
