"""``retail-intel export --to postgresql://...`` against a real PostgreSQL server.

The session starts one server (tests/pg_server.py: Debian's ``postgresql``
package, a random password made at start-up); each test gets a fresh
database. Without the server binaries the tests skip, unless
RETAIL_INTEL_REQUIRE_POSTGRES=1 (``.ci/run``), where they fail.
"""

from __future__ import annotations

import datetime as dt
import math
import socket
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from retail_intel.config.loader import load_config
from retail_intel.demo import generate_demo
from retail_intel.errors import DatabaseError, DataError, InputError
from retail_intel.kpis.compute import compute_kpis
from retail_intel.kpis.schema import KPI_SCHEMA
from retail_intel.movements.schema import MOVEMENT_SCHEMA
from retail_intel.pgexport import export_tables, export_to_postgres, redact_url
from retail_intel.pgexport.connect import check_url, scrub
from retail_intel.sqlviews import query
from tests import pg_server as pg_server_module
from tests.cli_helpers import run_cli
from tests.pg_server import PostgresServer, remove, require_postgres, start_postgres

START = dt.date(2026, 2, 2)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    bindir = require_postgres()
    # Not under pytest's tmp folder: that is private to root, and the server may run as nobody.
    root = Path(tempfile.mkdtemp(prefix="retail-intel-pg-"))
    server = start_postgres(bindir, root)
    yield server
    remove(server)


def test_the_server_starts_on_another_port_when_the_one_it_found_is_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    # The port was looked up and let go before the server bound it: a process binding it in between
    # ended the start ("could not bind ... Address already in use") and with it every export test.
    import psycopg

    bindir = require_postgres()
    root = Path(tempfile.mkdtemp(prefix="retail-intel-pg-"))
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        taken = other.getsockname()[1]
        found = iter([taken])
        free = pg_server_module.free_port
        monkeypatch.setattr(pg_server_module, "free_port", lambda: next(found, None) or free())
        server = start_postgres(bindir, root)
        try:
            assert server.port != taken
            psycopg.connect(server.url()).close()
        finally:
            remove(server)


@pytest.fixture
def pg_url(pg_server: PostgresServer) -> str:
    """A URL to a fresh, empty database."""
    import psycopg

    name = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(pg_server.url(), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")  # a name made right here
    return pg_server.url(database=name)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two demo branches over three days, with 60-minute KPIs: (config dir, data dir)."""
    root = tmp_path_factory.mktemp("export-site")
    config_dir, data_dir = root / "config", root / "data"
    generate_demo(config_dir, data_dir, branches=2, days=3, seed=3, start=START)
    compute_kpis(load_config(config_dir), data_dir, window_minutes=60)
    return config_dir, data_dir


def _pg_rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchall()


def _parquet_rows(config_dir: Path, data_dir: Path, view: str, order: str, columns: list[str]) -> list[tuple[Any, ...]]:
    table = query(config_dir, data_dir, f"SELECT {', '.join(columns)} FROM {view} ORDER BY {order}")
    return [tuple(row[c] for c in columns) for row in table.to_pylist()]


def _same(left: list[tuple[Any, ...]], right: list[tuple[Any, ...]]) -> bool:
    def equal(a: Any, b: Any) -> bool:
        if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
            return True
        return bool(a == b)

    return len(left) == len(right) and all(
        len(x) == len(y) and all(equal(a, b) for a, b in zip(x, y, strict=True))
        for x, y in zip(left, right, strict=True)
    )


def test_export_copies_every_value_of_every_table(site: tuple[Path, Path], pg_url: str) -> None:
    config_dir, data_dir = site
    result = export_to_postgres(data_dir, pg_url)

    by_name = {t.name: t for t in result.tables}
    assert set(by_name) == {"customer_branch_movement", "branch_kpi_timeseries", "zone_visits"}
    for spec in export_tables():
        columns = spec.schema.names
        order = ", ".join(spec.key)
        sent = _parquet_rows(config_dir, data_dir, spec.name, order, columns)
        stored = _pg_rows(pg_url, f"SELECT {', '.join(columns)} FROM {spec.name} ORDER BY {order}")
        assert sent, spec.name
        assert by_name[spec.name].rows == by_name[spec.name].inserted == len(sent)
        assert _same(stored, sent), spec.name


def test_tables_get_the_schema_types_not_null_and_key(site: tuple[Path, Path], pg_url: str) -> None:
    export_to_postgres(site[1], pg_url)
    columns = dict(
        (name, (kind, nullable))
        for name, kind, nullable in _pg_rows(
            pg_url,
            "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
            "WHERE table_name = 'customer_branch_movement'",
        )
    )
    assert list(columns) and set(columns) == set(MOVEMENT_SCHEMA.names)
    assert columns["enter_time"] == ("timestamp with time zone", "NO")
    assert columns["camera_id"] == ("text", "YES")
    assert columns["dwell_seconds"][0] == "double precision"
    key = _pg_rows(
        pg_url,
        "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
        "WHERE i.indrelid = 'branch_kpi_timeseries'::regclass AND i.indisprimary ORDER BY a.attname",
    )
    assert [k for (k,) in key] == ["branch_id", "window_minutes", "window_start"]


def test_a_second_export_adds_and_changes_nothing(site: tuple[Path, Path], pg_url: str) -> None:
    first = export_to_postgres(site[1], pg_url)
    count = _pg_rows(pg_url, "SELECT count(*) FROM customer_branch_movement")[0][0]
    again = export_to_postgres(site[1], pg_url)

    assert [(t.inserted, t.updated, t.unchanged) for t in again.tables] == [(0, 0, t.rows) for t in first.tables]
    assert _pg_rows(pg_url, "SELECT count(*) FROM customer_branch_movement")[0][0] == count


def _rewrite(path: Path, change: dict[str, Any], row: int = 0) -> None:
    table = pq.read_table(path)
    for name, value in change.items():
        values = table.column(name).to_pylist()
        values[row] = value
        index = table.schema.get_field_index(name)
        table = table.set_column(index, table.schema.field(index), pa.array(values, table.schema.field(index).type))
    pq.write_table(table, path)


def test_a_changed_row_is_updated_in_place(tmp_path: Path, pg_url: str) -> None:
    config_dir, data_dir = tmp_path / "config", tmp_path / "data"
    generate_demo(config_dir, data_dir, branches=1, days=1, seed=4, start=START)
    compute_kpis(load_config(config_dir), data_dir, window_minutes=60)
    export_to_postgres(data_dir, pg_url)
    kpi_file = next((data_dir / "kpis" / "60m").glob("*.parquet"))
    key = pq.read_table(kpi_file).slice(5, 1).to_pylist()[0]

    _rewrite(kpi_file, {"visitors": 4242, "baseline": None}, row=5)
    result = export_to_postgres(data_dir, pg_url, tables=["branch_kpi_timeseries"])

    (kpis,) = result.tables
    assert (kpis.inserted, kpis.updated, kpis.unchanged) == (0, 1, kpis.rows - 1)
    stored = _pg_rows(
        pg_url,
        "SELECT visitors, baseline FROM branch_kpi_timeseries "
        f"WHERE branch_id = '{key['branch_id']}' AND window_start = '{key['window_start'].isoformat()}'",
    )
    assert stored == [(4242, None)]


def test_since_keeps_rows_from_that_time_on(site: tuple[Path, Path], pg_url: str) -> None:
    config_dir, data_dir = site
    since = dt.datetime(2026, 2, 3, 12, tzinfo=dt.UTC)
    result = export_to_postgres(data_dir, pg_url, since=since)

    expected = query(
        config_dir, data_dir, f"SELECT count(*) AS n FROM customer_branch_movement WHERE enter_time >= '{since}'"
    ).to_pylist()[0]["n"]
    total = query(config_dir, data_dir, "SELECT count(*) AS n FROM customer_branch_movement").to_pylist()[0]["n"]
    assert 0 < expected < total
    assert result.tables[0].inserted == expected
    earliest = _pg_rows(
        pg_url,
        "SELECT (SELECT min(enter_time) FROM customer_branch_movement), "
        "(SELECT min(window_start) FROM branch_kpi_timeseries)",
    )
    assert earliest[0][0] >= since and earliest[0][1] >= since


def test_zone_visits_are_keyed_by_person_zone_and_entry_and_follow_since(site: tuple[Path, Path], pg_url: str) -> None:
    config_dir, data_dir = site
    since = dt.datetime(2026, 2, 3, 12, tzinfo=dt.UTC)
    result = export_to_postgres(data_dir, pg_url, tables=["zone_visits"], since=since)
    expected = query(
        config_dir, data_dir, f"SELECT count(*) AS n FROM zone_visits WHERE enter_time >= '{since}'"
    ).to_pylist()[0]["n"]
    assert expected > 0 and [(t.name, t.inserted) for t in result.tables] == [("zone_visits", expected)]
    assert _pg_rows(pg_url, "SELECT min(enter_time) FROM zone_visits")[0][0] >= since
    key = _pg_rows(
        pg_url,
        "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
        "WHERE i.indrelid = 'zone_visits'::regclass AND i.indisprimary ORDER BY a.attname",
    )
    assert [k for (k,) in key] == ["customer_id", "enter_time", "zone_id"]


def test_an_older_table_gains_missing_columns(site: tuple[Path, Path], pg_url: str) -> None:
    import psycopg

    with psycopg.connect(pg_url) as conn:
        conn.execute("CREATE TABLE customer_branch_movement (customer_id text PRIMARY KEY, branch_id text NOT NULL)")
    result = export_to_postgres(site[1], pg_url, tables=["customer_branch_movement"])

    assert result.tables[0].inserted > 0
    assert _pg_rows(pg_url, "SELECT count(model) FROM customer_branch_movement")[0][0] == result.tables[0].rows


def test_a_repeated_key_fails_the_table_and_writes_nothing(tmp_path: Path, pg_url: str) -> None:
    config_dir, data_dir = tmp_path / "config", tmp_path / "data"
    generate_demo(config_dir, data_dir, branches=1, days=1, seed=4, start=START)
    first = export_to_postgres(data_dir, pg_url).tables[0]
    movement_file = next((data_dir / "movements").rglob("*.parquet"))
    copy = movement_file.with_name("copy-" + movement_file.name)
    copy.write_bytes(movement_file.read_bytes())
    _rewrite(copy, {"dwell_seconds": 1.0e6})

    with pytest.raises(DataError, match=r"customer_branch_movement: the same key \(customer_id\) appears"):
        export_to_postgres(data_dir, pg_url)
    assert _pg_rows(pg_url, "SELECT count(*), max(dwell_seconds) < 1e6 FROM customer_branch_movement") == [
        (first.rows, True)
    ]


@pytest.mark.parametrize("changed", [False, True], ids=["identical-copy", "changed-copy"])
def test_a_repeated_key_fails_however_the_files_are_ordered(tmp_path: Path, pg_url: str, changed: bool) -> None:
    # A copy read after the original, into a table that already holds the rows: the upsert alone
    # updates each row once at most, so PostgreSQL raised nothing and the summary counted the copy.
    config_dir, data_dir = tmp_path / "config", tmp_path / "data"
    generate_demo(config_dir, data_dir, branches=1, days=1, seed=4, start=START)
    first = export_to_postgres(data_dir, pg_url).tables[0]
    movement_file = next((data_dir / "movements").rglob("*.parquet"))
    copy = movement_file.with_name("zz-copy.parquet")
    copy.write_bytes(movement_file.read_bytes())
    if changed:
        _rewrite(copy, {"dwell_seconds": 1.0e6})
    customer_id = min(pq.read_table(copy).column("customer_id").to_pylist())  # the first repeat is named

    with pytest.raises(DataError) as raised:
        export_to_postgres(data_dir, pg_url)
    message = str(raised.value)
    assert "customer_branch_movement: the same key (customer_id) appears" in message
    assert customer_id in message and movement_file.name in message and copy.name in message
    assert _pg_rows(pg_url, "SELECT count(*), max(dwell_seconds) < 1e6 FROM customer_branch_movement") == [
        (first.rows, True)
    ]


def test_progress_reports_rows_sent_up_to_the_total(site: tuple[Path, Path], pg_url: str) -> None:
    seen: list[tuple[str, int, int]] = []
    result = export_to_postgres(site[1], pg_url, progress=lambda name, done, total: seen.append((name, done, total)))

    for table in result.tables:
        mine = [(done, total) for name, done, total in seen if name == table.name]
        assert mine and mine[-1] == (table.rows, table.rows)


def test_an_empty_data_directory_still_creates_the_tables(tmp_path: Path, pg_url: str) -> None:
    (tmp_path / "movements").mkdir()  # a data directory, no rows yet
    result = export_to_postgres(tmp_path, pg_url)

    assert [(t.name, t.rows) for t in result.tables] == [(t.name, 0) for t in export_tables()]
    names = {n for (n,) in _pg_rows(pg_url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert names == {t.name for t in export_tables()}


def test_kpi_schema_is_the_engines() -> None:
    assert next(t for t in export_tables() if t.name == "branch_kpi_timeseries").schema == KPI_SCHEMA


def test_redact_url_hides_the_password_wherever_it_is() -> None:
    assert redact_url("postgresql://bi:s3cr%40t@db:5432/x") == "postgresql://bi:***@db:5432/x"
    assert redact_url("postgresql://db/x?user=bi&password=s3cret") == "postgresql://db/x?user=bi&password=***"
    assert redact_url("postgresql://bi@db/x") == "postgresql://bi@db/x"


def test_redact_url_leaves_the_rest_of_the_url_as_written() -> None:
    # a URL without a host lost its '//' and the query was encoded again, so the socket URL the docs
    # suggest came back as postgresql:/footfall?host=%2Fvar%2Frun%2Fpostgresql, another URL
    socket = "postgresql:///footfall?host=/var/run/postgresql&user=bi&password=s3cret"
    assert redact_url(socket) == "postgresql:///footfall?host=/var/run/postgresql&user=bi&password=***"
    options = "postgresql://bi:pw@db/x?options=-c%20search_path%3Dbi&sslmode=require"
    assert redact_url(options) == "postgresql://bi:***@db/x?options=-c%20search_path%3Dbi&sslmode=require"
    assert redact_url("postgresql://db/x?Password=a&b=1") == "postgresql://db/x?Password=***&b=1"


@pytest.mark.parametrize("password", ["pa?ss", "pa#ss", "pa?ss#x"])
def test_redact_url_hides_a_password_holding_a_question_mark_or_hash(password: str) -> None:
    # libpq reads the whole of it as the password; urlsplit ended it there and showed it
    url = f"postgresql://bi:{password}@db:5432/x?sslmode=require"
    assert redact_url(url) == "postgresql://bi:***@db:5432/x?sslmode=require"
    assert scrub(f"could not connect with {password}", url) == "could not connect with ***"


def test_an_unencoded_at_sign_in_the_password_is_refused_without_showing_it() -> None:
    # libpq reads "p@ss@127.0.0.1" as password "p" and host "ss@127.0.0.1", and names that host in its error
    with pytest.raises(InputError) as refused:
        check_url("postgresql://bi:p@ss-word@127.0.0.1:1/db")
    message = str(refused.value)
    assert message == (
        "url: postgresql://bi:***@127.0.0.1:1/db has more than one '@' before the host; "
        "write an '@' in the user name or password as %40"
    )
    assert check_url("postgresql://bi:p%40ss-word@127.0.0.1:1/db?options=a@b") == (
        "postgresql://bi:p%40ss-word@127.0.0.1:1/db?options=a@b"
    )


def test_a_table_named_twice_is_exported_once(site: tuple[Path, Path], pg_url: str) -> None:
    result = export_to_postgres(site[1], pg_url, tables=["zone_visits", "branch_kpi_timeseries", "zone_visits"])

    assert [t.name for t in result.tables] == ["zone_visits", "branch_kpi_timeseries"]


def test_unknown_table_and_missing_data_dir_are_refused(tmp_path: Path, pg_url: str) -> None:
    with pytest.raises(DataError, match=r"^tables: expected one of customer_branch_movement, branch_kpi_timeseries"):
        export_to_postgres(tmp_path, pg_url, tables=["nope"])
    with pytest.raises(DataError, match=r"no such directory; check data_dir$"):  # the CLI says --data-dir
        export_to_postgres(tmp_path / "missing", pg_url)
    with pytest.raises(InputError, match=r"^url: expected a URL like postgresql://"):
        export_to_postgres(tmp_path, "mysql://x/y")


def test_the_library_names_parameters_and_the_cli_its_flags(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # export_to_postgres said "--to: ..." and "--table: ..." to a caller who wrote url= and tables=
    (tmp_path / "movements").mkdir()
    with pytest.raises(InputError, match=r"^url: expected a URL like postgresql://user@host:5432/dbname, got 'mysql"):
        export_to_postgres(tmp_path, "mysql://x/y")
    with pytest.raises(InputError, match=r"^url: postgresql://bi:\*\*\*@db/x has more than one '@'"):
        check_url("postgresql://bi:p@ss@db/x")
    with pytest.raises(DataError, match=r"^tables: expected one of customer_branch_movement, .* got nope$"):
        export_to_postgres(tmp_path, "postgresql://u@127.0.0.1:1/db", tables=["nope"])
    cli = ["export", "--data-dir", str(tmp_path), "--to"]
    result = run_cli([*cli, "mysql://x/y"], capsys, monkeypatch)
    assert result.exit_code == 1 and "--to: expected a URL like postgresql://" in result.stderr
    # no server is asked: the tables are checked before connecting
    result = run_cli([*cli, "postgresql://u@127.0.0.1:1/db", "--table", "nope"], capsys, monkeypatch)
    assert result.exit_code == 1 and "--table: expected one of customer_branch_movement" in result.stderr


# ---- the command line ----------------------------------------------------------------------------


def test_cli_exports_and_prints_a_summary(
    site: tuple[Path, Path], pg_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    args = ["export", "--to", pg_url, "--data-dir", str(site[1]), "--format", "json"]
    first = run_cli(args, capsys, monkeypatch)
    second = run_cli(args, capsys, monkeypatch)

    assert first.exit_code == 0 and second.exit_code == 0, first.stderr + second.stderr
    assert '"inserted": 0' not in first.stdout
    tables = len(export_tables())
    assert second.stdout.count('"inserted": 0') == tables and second.stdout.count('"updated": 0') == tables


@pytest.mark.parametrize(
    ("make_url", "expected"),
    [
        (lambda s: s.url(password="wrong-" + s.password[:4]), "password authentication failed"),
        (lambda s: f"postgresql://retail:{s.password}@127.0.0.1:1/postgres", "Connection refused"),
        (lambda s: s.url(database="no_such_db"), 'database "no_such_db" does not exist'),
        (lambda s: f"postgresql://retail:{s.password}@[::1/x", "is not a valid PostgreSQL URL"),
        (lambda s: f"mysql://retail:{s.password}@127.0.0.1/x", "--to: expected a URL like postgresql://"),
    ],
    ids=["wrong-password", "unreachable", "no-database", "malformed", "not-postgres"],
)
def test_cli_connection_problems_are_one_line_without_the_password(
    make_url: Any,
    expected: str,
    pg_server: PostgresServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = make_url(pg_server)
    secret = url.split("://", 1)[1].split("@", 1)[0].split(":", 1)[1]
    (tmp_path / "movements").mkdir()
    result = run_cli(["export", "--to", url, "--data-dir", str(tmp_path)], capsys, monkeypatch)

    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], result.stderr
    assert secret not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


def test_cli_a_directory_without_retail_data_is_refused_before_any_table_is_made(
    tmp_path: Path, pg_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # --data-dir swapped with --config: exporting 0 rows with exit 0 looks like a quiet day to a nightly job
    config_dir = tmp_path / "config"
    generate_demo(config_dir, tmp_path / "data", branches=1, days=1, seed=4, start=START)
    result = run_cli(["export", "--to", pg_url, "--data-dir", str(config_dir)], capsys, monkeypatch)

    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.strip() == (
        f"error: {config_dir}: holds no retail-intel data (no movements/, kpis/, features/ or ledger/ folder); "
        "check --data-dir (or RETAIL_INTEL_DATA_DIR), or write data first (process, ingest, demo-data)"
    )
    assert _pg_rows(pg_url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'") == []


def test_cli_a_corrupt_parquet_file_is_one_line_naming_it(
    tmp_path: Path, pg_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = tmp_path / "data"
    generate_demo(tmp_path / "config", data_dir, branches=1, days=1, seed=4, start=START)
    good = next((data_dir / "movements").rglob("*.parquet"))
    broken = good.with_name("broken.parquet")
    broken.write_bytes(good.read_bytes()[:300])  # cut short, as by a full disk

    result = run_cli(["export", "--to", pg_url, "--data-dir", str(data_dir)], capsys, monkeypatch)

    assert result.exit_code == 1 and result.stdout == ""
    [line] = result.stderr.strip().splitlines()  # DuckDB's "LINE 1:" excerpt of the query added three more
    assert line.startswith("error: customer_branch_movement: cannot read the files of movements/ (")
    assert line.endswith(f"{broken.resolve()}')")  # as sql says it


def test_cli_a_foreign_parquet_file_is_named_not_a_traceback(
    tmp_path: Path, pg_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = tmp_path / "data"
    generate_demo(tmp_path / "config", data_dir, branches=1, days=1, seed=4, start=START)
    foreign = next((data_dir / "movements").rglob("*.parquet")).with_name("sales.parquet")
    pq.write_table(pa.table({"till": [1, 2], "amount": [9.5, 3.0]}), foreign)  # another tool's file

    result = run_cli(["export", "--to", pg_url, "--data-dir", str(data_dir)], capsys, monkeypatch)

    # a ValueError traceback from a NOT NULL cast of the all-null rows it added
    assert result.exit_code == 1 and result.stdout == "" and "Traceback" not in result.stderr
    assert result.stderr.strip() == (
        f"error: {foreign.resolve()}: not a customer_branch_movement file (it lacks customer_id, branch_id, "
        "action_type, enter_time, exit_time); move it out of movements/ so it cannot add empty rows to "
        "customer_branch_movement"
    )
    assert _pg_rows(pg_url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'") == []


def test_cli_bad_since_names_the_flag(
    tmp_path: Path, pg_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    result = run_cli(
        ["export", "--to", pg_url, "--data-dir", str(tmp_path), "--since", "2026-02-05"], capsys, monkeypatch
    )
    assert result.exit_code == 1 and "--since" in result.stderr


def test_database_error_is_a_retail_intel_error() -> None:
    from retail_intel.errors import RetailIntelError

    assert issubclass(DatabaseError, RetailIntelError)


def test_cli_help_has_an_example(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    result = run_cli(["export", "--help"], capsys, monkeypatch)
    assert result.exit_code == 0
    assert "Example: PGPASSWORD=... retail-intel export --to postgresql://" in result.stdout
    assert "retail-intel[postgres]" in result.stdout


def test_a_table_without_the_key_is_refused_by_name(site: tuple[Path, Path], pg_url: str) -> None:
    import psycopg

    with psycopg.connect(pg_url) as conn:
        conn.execute("CREATE TABLE branch_kpi_timeseries (branch_id text)")
    with pytest.raises(
        DatabaseError, match=r"^branch_kpi_timeseries: .*ON CONFLICT.*nothing was written to this table"
    ):
        export_to_postgres(site[1], pg_url, tables=["branch_kpi_timeseries"])
    assert _pg_rows(pg_url, "SELECT count(*) FROM branch_kpi_timeseries") == [(0,)]


def test_without_psycopg_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "psycopg", None)  # import psycopg now raises ImportError
    with pytest.raises(InputError, match=r"needs psycopg; pip install 'retail-intel\[postgres\]'"):
        export_to_postgres(tmp_path, "postgresql://u@127.0.0.1/db")
