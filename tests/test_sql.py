"""``retail-intel sql``: the views, the read-only lock, output formats, print-views and export-db."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from retail_intel.errors import InputError
from retail_intel.kpis.schema import KPI_SCHEMA
from retail_intel.movements.schema import MOVEMENT_SCHEMA
from retail_intel.movements.store import write_movements
from retail_intel.sqlviews import check_read_only, export_database, open_database, run_query, view_statements
from tests.cli_helpers import CliResult, run_cli

CONFIG = {
    "branches.yaml": """\
branches:
  - id: b1
    name: One
    capacity: 40
    timezone: Europe/Berlin
    opening_hours: {mon: "09:00-18:00", sat: "10:00-16:00"}
    cameras:
      - {id: door, roi: [0, 0, 640, 480]}
      - {id: aisle, zone: [[0, 0], [10, 0], [10, 10]]}
  - {id: b2, name: Two, capacity: 60, neighbors: [b1]}
""",
    "employees.yaml": """\
employees:
  - id: e1
    branch: b1
    name: Ann
    shifts:
      weekly:
        - {day: mon, start: "09:00", end: "13:00"}
        - {day: sat, start: "10:00", end: "16:00"}
      exceptions:
        - {date: 2026-02-09, off: true}
""",
    "tasks.yaml": """\
tasks:
  - {id: t1, branch: b1, assignee: e1, title: Restock, due: "2026-02-10T17:00:00+01:00"}
""",
    "events.yaml": """\
events:
  - {id: ev1, name: Market, branch: b2, start: "2026-02-07T09:00:00Z", end: "2026-02-07T14:00:00Z"}
""",
    "promotions.yaml": """\
promotions:
  - {id: p1, name: Sale, branches: all, start: "2026-02-01T00:00:00Z", end: "2026-02-15T00:00:00Z"}
  - {id: p2, name: Local, branches: [b2], start: "2026-02-01T00:00:00Z", end: "2026-02-03T00:00:00Z"}
""",
}
T0 = dt.datetime(2026, 2, 8, 9, 0, tzinfo=dt.UTC)
VIEWS = (
    "customers",
    "customer_branch_movement",
    "branches",
    "employees",
    "tasks",
    "events",
    "promotions",
    "branch_kpi_timeseries",
)


def movements(branch: str, customers: list[tuple[int, str, float]], source: str = "cam.mp4") -> pa.Table:
    """Movement rows for (customer number, action, minutes after T0)."""
    rows = []
    for number, action, minutes in customers:
        enter = T0 + dt.timedelta(minutes=minutes)
        exit_ = enter + dt.timedelta(minutes=5)
        rows.append(
            {
                "customer_id": str(uuid.UUID(int=number)),
                "branch_id": branch,
                "camera_id": "door",
                "action_type": action,
                "enter_time": enter,
                "exit_time": exit_,
                "exit_observed": True,
                "dwell_seconds": 300.0,
                "first_seen": enter,
                "last_seen": exit_,
                "track_id": number,
                "n_frames": 10,
                "mean_confidence": 0.8,
                "source_video": source,
                "video_fingerprint": "f" * 64,
                "model": "yolo",
                "processed_at": T0,
            }
        )
    return pa.Table.from_pylist(rows, schema=MOVEMENT_SCHEMA)


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "config"
    directory.mkdir()
    for name, text in CONFIG.items():
        (directory / name).write_text(text)
    return directory


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "data"
    day = T0.date()
    write_movements(
        movements("b1", [(1, "entered", 0), (2, "passed", 1), (3, "entered", 2)]),
        directory,
        branch_id="b1",
        day=day,
        source_key="v1",
    )
    # customer 1 shows up again at b2: one customer, two branches
    write_movements(
        movements("b2", [(1, "entered", 60), (4, "entered", 61)]), directory, branch_id="b2", day=day, source_key="v2"
    )
    kpis = KPI_SCHEMA.empty_table().to_pylist()
    kpis.append(
        {name: None for name in KPI_SCHEMA.names}
        | {
            "branch_id": "b1",
            "window_start": T0,
            "window_end": T0 + dt.timedelta(hours=1),
            "window_minutes": 60,
            "visitors": 2,
            "passed": 1,
            "peak_occupancy": 2,
            "avg_occupancy": 0.5,
            "staff_on_duty": 1.0,
            "required_staff": 1,
            "promotion_active": True,
            "event_active": False,
            "computed_at": T0,
        }
    )
    (directory / "kpis" / "60m").mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(kpis, schema=KPI_SCHEMA), directory / "kpis" / "60m" / "b1.parquet")
    return directory


@pytest.fixture
def con(config_dir: Path, data_dir: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = open_database(config_dir, data_dir)
    yield connection
    connection.close()


@pytest.mark.parametrize("view", VIEWS)
def test_every_view_is_queryable(con: duckdb.DuckDBPyConnection, view: str) -> None:
    table = run_query(con, f"SELECT * FROM {view}")
    expected_rows = {
        "customers": 4,
        "customer_branch_movement": 5,
        "branches": 2,
        "employees": 1,
        "tasks": 1,
        "events": 1,
        "promotions": 2,
        "branch_kpi_timeseries": 1,
    }
    assert table.num_rows == expected_rows[view]


def test_movement_and_kpi_views_have_the_store_schemas(con: duckdb.DuckDBPyConnection) -> None:
    assert run_query(con, "SELECT * FROM customer_branch_movement").column_names == MOVEMENT_SCHEMA.names
    assert run_query(con, "SELECT * FROM branch_kpi_timeseries").column_names == KPI_SCHEMA.names


def test_customers_aggregate_movements_per_person(con: duckdb.DuckDBPyConnection) -> None:
    rows = {r["customer_id"]: r for r in run_query(con, "SELECT * FROM customers").to_pylist()}
    twice = rows[str(uuid.UUID(int=1))]
    assert twice["branches"] == ["b1", "b2"]
    assert twice["n_branches"] == 2
    assert twice["visits"] == 2 and twice["passes"] == 0 and twice["movements"] == 2
    assert twice["first_seen"] == T0
    assert twice["last_seen"] == T0 + dt.timedelta(minutes=65)
    assert twice["total_dwell_seconds"] == 600.0
    passer = rows[str(uuid.UUID(int=2))]
    assert (passer["visits"], passer["passes"], passer["total_dwell_seconds"]) == (0, 1, 0.0)


def test_metadata_tables_expose_nested_config(con: duckdb.DuckDBPyConnection) -> None:
    branch = run_query(
        con,
        "SELECT camera_ids, cameras->>'$[1].id' AS second, opening_hours->>'sat' AS sat, neighbors "
        "FROM branches WHERE id = 'b1'",
    ).to_pylist()[0]
    assert branch == {"camera_ids": ["door", "aisle"], "second": "aisle", "sat": "10:00-16:00", "neighbors": []}
    shifts = run_query(con, "SELECT s.day, s.start FROM employees, UNNEST(weekly_shifts) AS t(s) ORDER BY 1")
    assert shifts.to_pylist() == [{"day": "mon", "start": "09:00"}, {"day": "sat", "start": "10:00"}]
    assert run_query(con, "SELECT weekly_hours FROM employees").to_pylist() == [{"weekly_hours": 10.0}]
    promo = run_query(con, "SELECT id, all_branches, branch_ids FROM promotions ORDER BY id").to_pylist()
    assert promo == [
        {"id": "p1", "all_branches": True, "branch_ids": ["b1", "b2"]},
        {"id": "p2", "all_branches": False, "branch_ids": ["b2"]},
    ]
    due = run_query(con, "SELECT due FROM tasks").column("due")[0].as_py()
    assert due == dt.datetime(2026, 2, 10, 16, 0, tzinfo=dt.UTC)


def test_joins_across_views_work(con: duckdb.DuckDBPyConnection) -> None:
    table = run_query(
        con,
        "SELECT b.name, count(*) AS visits FROM customer_branch_movement m JOIN branches b ON b.id = m.branch_id "
        "WHERE m.action_type = 'entered' GROUP BY ALL ORDER BY 1",
    )
    assert table.to_pylist() == [{"name": "One", "visits": 2}, {"name": "Two", "visits": 2}]


def test_files_written_after_opening_show_up(con: duckdb.DuckDBPyConnection, data_dir: Path) -> None:
    write_movements(movements("b2", [(9, "passed", 5)]), data_dir, branch_id="b2", day=T0.date(), source_key="late")
    assert run_query(con, "SELECT count(*) AS n FROM customer_branch_movement").to_pylist() == [{"n": 6}]


def test_an_empty_data_dir_is_queryable_and_picks_up_the_first_file(config_dir: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    connection = open_database(config_dir, empty)
    try:
        for view in VIEWS:
            run_query(connection, f"SELECT * FROM {view}")
        assert run_query(connection, "SELECT count(*) AS n FROM customers").to_pylist() == [{"n": 0}]
        write_movements(movements("b1", [(5, "entered", 0)]), empty, branch_id="b1", day=T0.date(), source_key="x")
        assert run_query(connection, "SELECT count(*) AS n FROM customers").to_pylist() == [{"n": 1}]
    finally:
        connection.close()


def test_a_query_on_a_closed_connection_or_not_given_as_text_is_an_input_error(
    config_dir: Path, data_dir: Path
) -> None:
    # were duckdb's ConnectionException and pybind11's TypeError from extract_statements
    connection = open_database(config_dir, data_dir)
    with pytest.raises(InputError, match=r"^sql must be a str holding one SQL statement, got None \(NoneType\)"):
        run_query(connection, None)  # type: ignore[arg-type]
    connection.close()
    with pytest.raises(InputError, match=r"^con: the connection is closed .*; open another with open_database"):
        run_query(connection, "SELECT 1")


def test_closed_sessions_leave_the_session_table(config_dir: Path, tmp_path: Path) -> None:
    # Each connection's session stayed in the table for as long as anything held the closed
    # connection (a server's state kept after close, a caller's list): a long-running process grew.
    from retail_intel.sqlviews import database

    empty = tmp_path / "empty"
    held = []
    for _ in range(20):
        connection = open_database(config_dir, empty)
        run_query(connection, "SELECT 1")
        connection.close()
        held.append(connection)
    assert sum(1 for con in held if con in database._sessions) <= 1  # the last one, until the next opens
    run_query(live := open_database(config_dir, empty), "SELECT 1")
    assert [con for con in held if con in database._sessions] == [] and live in database._sessions
    live.close()
    with pytest.raises(InputError, match="the connection is closed"):
        run_query(live, "SELECT 1")
    assert live not in database._sessions


def test_files_with_different_columns_are_lined_up_by_name(con: duckdb.DuckDBPyConnection, data_dir: Path) -> None:
    older = movements("b1", [(7, "entered", 3)]).drop_columns(["model", "n_frames"])
    pq.write_table(older, data_dir / "movements" / "b1" / T0.date().isoformat() / "old-version.parquet")

    table = run_query(con, "SELECT customer_id, model FROM customer_branch_movement WHERE track_id = 7")

    assert table.to_pylist() == [{"customer_id": str(uuid.UUID(int=7)), "model": None}]


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO branches SELECT * FROM branches",
        "UPDATE branches SET capacity = 1",
        "DELETE FROM tasks",
        "DROP TABLE branches",
        "CREATE TABLE x AS SELECT 1",
        "CREATE VIEW v AS SELECT 1",
        "ALTER TABLE branches ADD COLUMN x INT",
        "COPY branches TO 'out.csv'",
        "ATTACH 'other.duckdb'",
        "SET enable_external_access = true",
        "RESET lock_configuration",
        "INSTALL httpfs",
        "LOAD httpfs",
        "PRAGMA enable_profiling",
        "CHECKPOINT",
        "EXPLAIN ANALYZE CREATE TABLE x AS SELECT 1",
        "SELECT 1; DROP TABLE branches",
        "SELECT 1; SELECT 2",
        "",
    ],
)
def test_anything_but_one_read_only_statement_is_refused(con: duckdb.DuckDBPyConnection, statement: str) -> None:
    with pytest.raises(InputError):
        run_query(con, statement)
    assert run_query(con, "SELECT count(*) AS n FROM branches").to_pylist() == [{"n": 2}]


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT 1",
        "  with a as (select 1 as x) select * from a",
        "FROM branches",
        "DESCRIBE branches",
        "SHOW TABLES",
        "SUMMARIZE customer_branch_movement",
        "EXPLAIN SELECT * FROM customers",
        "PRAGMA table_info('branches')",
        "SELECT 1;",
    ],
)
def test_read_only_statements_are_accepted(con: duckdb.DuckDBPyConnection, statement: str) -> None:
    assert check_read_only(statement)
    assert run_query(con, statement).num_rows >= 1


@pytest.mark.parametrize(
    "reader",
    [
        "read_csv('/etc/passwd')",
        "read_text('/etc/passwd')",
        "read_csv_auto('/etc/hostname')",
        "read_json('/etc/passwd')",
        "glob('/etc/*')",
    ],
)
def test_files_outside_the_data_directory_cannot_be_read(con: duckdb.DuckDBPyConnection, reader: str) -> None:
    with pytest.raises(InputError, match=r"(?i)permission|disabled"):
        run_query(con, f"SELECT * FROM {reader}")


def test_the_lock_holds_even_without_the_statement_check(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    secret = tmp_path / "secret.csv"
    secret.write_text("a\n1\n")
    with pytest.raises(duckdb.Error):
        con.execute("SET enable_external_access = true")
    with pytest.raises(duckdb.Error):
        con.execute(f"SELECT * FROM read_csv('{secret}')").fetchall()
    with pytest.raises(duckdb.Error):
        con.execute(f"COPY (SELECT 1) TO '{tmp_path / 'out.csv'}'")
    assert not (tmp_path / "out.csv").exists()


def test_a_failing_query_names_duckdbs_reason(con: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(InputError, match="no_such_column"):
        run_query(con, "SELECT no_such_column FROM branches")


def test_threads_can_share_one_connection(con: duckdb.DuckDBPyConnection) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(4) as pool:
        counts = list(pool.map(lambda _: run_query(con, "SELECT count(*) AS n FROM customers").to_pylist(), range(8)))
    assert counts == [[{"n": 4}]] * 8


# ---------------------------------------------------------------- CLI formats


SqlCli = Callable[..., CliResult]


@pytest.fixture
def sql_cli(
    config_dir: Path, data_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> SqlCli:
    def run(*args: str) -> CliResult:
        return run_cli(["sql", *args, "--config", str(config_dir), "--data-dir", str(data_dir)], capsys, monkeypatch)

    return run


QUERY = "SELECT customer_id, branches, first_seen, visits FROM customers ORDER BY customer_id"


def test_cli_table(sql_cli: SqlCli) -> None:
    result = sql_cli(QUERY)
    assert result.exit_code == 0
    assert str(uuid.UUID(int=1)) in result.stdout and "b1, b2" in result.stdout


def test_cli_table_shows_at_most_max_rows(sql_cli: SqlCli) -> None:
    result = sql_cli(QUERY, "--max-rows", "2")
    assert result.exit_code == 0
    assert str(uuid.UUID(int=3)) not in result.stdout
    assert "showing 2 of 4 rows" in result.stderr


def test_cli_csv(sql_cli: SqlCli) -> None:
    result = sql_cli(QUERY, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 4
    assert rows[0]["customer_id"] == str(uuid.UUID(int=1))
    assert json.loads(rows[0]["branches"]) == ["b1", "b2"]
    assert dt.datetime.fromisoformat(rows[0]["first_seen"]) == T0
    assert rows[0]["visits"] == "2"


def test_cli_json(sql_cli: SqlCli) -> None:
    result = sql_cli(QUERY, "-f", "json")
    rows = json.loads(result.stdout)
    assert [r["visits"] for r in rows] == [2, 0, 1, 1]
    # sums come back from DuckDB as decimals; JSON gets their exact digits, a whole number here
    total = json.loads(sql_cli("SELECT sum(visits) AS s FROM customers", "-f", "json").stdout)
    assert total == [{"s": 4}]


def test_cli_parquet_needs_an_output_file(sql_cli: SqlCli, tmp_path: Path) -> None:
    refused = sql_cli(QUERY, "-f", "parquet")
    assert refused.exit_code == 1
    assert "-o FILE" in refused.stderr

    target = tmp_path / "out" / "customers.parquet"
    written = sql_cli(QUERY, "-f", "parquet", "-o", str(target))
    assert written.exit_code == 0
    table = pq.read_table(target)
    assert table.num_rows == 4
    assert table.column("branches").to_pylist()[0] == ["b1", "b2"]


def test_cli_dash_output_is_stdout(sql_cli: SqlCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # -o - wrote a file literally named "-" (and printed nothing), as no other Unix tool does
    monkeypatch.chdir(tmp_path)
    for fmt in ("csv", "json"):
        piped, plain = sql_cli(QUERY, "-f", fmt, "-o", "-"), sql_cli(QUERY, "-f", fmt)
        assert piped.exit_code == 0, piped.stderr
        assert piped.stdout == plain.stdout and piped.stdout
    refused = sql_cli(QUERY, "-f", "parquet", "-o", "-")
    assert refused.exit_code == 1 and "--format parquet needs -o FILE.parquet" in refused.stderr
    assert not (tmp_path / "-").exists()


def test_cli_reads_the_statement_from_stdin(sql_cli: SqlCli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("SELECT count(*) AS n FROM branches"))
    result = sql_cli("-", "-f", "json")
    assert json.loads(result.stdout) == [{"n": 2}]


def test_cli_refuses_a_write_with_exit_1(sql_cli: SqlCli) -> None:
    result = sql_cli("DELETE FROM branches")
    assert result.exit_code == 1
    assert "only read-only queries" in result.stderr


# ------------------------------------------------- the views in your own DuckDB


def test_printed_views_work_in_a_plain_duckdb_session(data_dir: Path) -> None:
    statements, empty = view_statements(data_dir)
    # the fixture writes no feature or zone files
    assert empty == ["branch_features", "zone_visits", "queue_visits", "queue_lengths"]
    session = duckdb.connect()
    for statement in statements:
        session.execute(statement)
    assert session.execute("SELECT count(*) FROM customer_branch_movement").fetchone() == (5,)
    assert session.execute("SELECT count(*) FROM customers").fetchone() == (4,)
    assert session.execute("SELECT count(*) FROM branch_kpi_timeseries").fetchone() == (1,)
    assert str(data_dir.resolve()) in statements[0]


def test_print_views_cli(sql_cli: SqlCli) -> None:
    result = sql_cli("--print-views")
    assert result.exit_code == 0
    # movements, KPIs, features, customers and the three zone tables
    assert result.stdout.count("CREATE OR REPLACE VIEW") == 7


def test_print_views_and_export_db_refuse_what_they_would_drop(sql_cli: SqlCli, tmp_path: Path) -> None:
    # --print-views -o views.sql wrote nothing to views.sql, and --print-views --export-db x (or a
    # statement with --export-db) silently did only one of the two, exit 0
    target = tmp_path / "x.duckdb"
    views = tmp_path / "views.sql"
    for args, named in (
        (["--print-views", "-o", str(views)], f"-o {views} goes with a SQL statement"),
        (["--print-views", "--export-db", str(target)], "got --print-views and --export-db"),
        (["SELECT 1", "--export-db", str(target)], "got a SQL statement and --export-db"),
        (["--export-db", str(target), "-o", str(views)], "goes with a SQL statement"),
    ):
        result = sql_cli(*args)
        assert result.exit_code == 1 and result.stdout == "", args
        assert result.stderr.startswith("error: ") and named in result.stderr, args
    assert not target.exists() and not views.exists()


def test_print_views_of_an_empty_store_gives_typed_empty_views(tmp_path: Path) -> None:
    statements, empty = view_statements(tmp_path / "nothing")
    assert empty == [
        "customer_branch_movement",
        "branch_kpi_timeseries",
        "branch_features",
        "zone_visits",
        "queue_visits",
        "queue_lengths",
    ]
    session = duckdb.connect()
    for statement in statements:
        session.execute(statement)
    columns = [row[0] for row in session.execute("DESCRIBE customer_branch_movement").fetchall()]
    assert columns == MOVEMENT_SCHEMA.names


def test_export_db_opens_with_views_and_metadata(config_dir: Path, data_dir: Path, tmp_path: Path) -> None:
    target = tmp_path / "export" / "retail.duckdb"
    result = export_database(config_dir, data_dir, target)

    assert result.tables == {"branches": 2, "employees": 1, "tasks": 1, "events": 1, "promotions": 2, "zones": 0}
    session = duckdb.connect(str(target), read_only=True)
    try:
        assert session.execute("SELECT count(*) FROM customers").fetchone() == (4,)
        assert session.execute("SELECT count(*) FROM branches").fetchone() == (2,)
        names = {row[0] for row in session.execute("SHOW TABLES").fetchall()}
        assert set(VIEWS) <= names
        # the views follow the Parquet files: a new file shows up without exporting again
        write_movements(movements("b1", [(8, "passed", 9)]), data_dir, branch_id="b1", day=T0.date(), source_key="n")
        assert session.execute("SELECT count(*) FROM customer_branch_movement").fetchone() == (6,)
    finally:
        session.close()

    # export_database said "pass --force" to a caller who wrote force=; the sql command passes its flag
    with pytest.raises(InputError, match=r"already exists; pass force to replace it$"):
        export_database(config_dir, data_dir, target)
    with pytest.raises(InputError, match=r"already exists; pass --force to replace it$"):
        export_database(config_dir, data_dir, target, force_name="--force")
    assert export_database(config_dir, data_dir, target, force=True).path == target


def test_export_db_cli(sql_cli: SqlCli, tmp_path: Path) -> None:
    target = tmp_path / "x.duckdb"
    result = sql_cli("--export-db", str(target))
    assert result.exit_code == 0
    assert target.is_file()
    again = sql_cli("--export-db", str(target))
    assert again.exit_code == 1 and "--force" in again.stderr
