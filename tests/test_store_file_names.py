"""Every reader of the store sees the same files: names starting with '.' are skipped by all of them, and a
data directory whose path holds glob characters ("store [12]") is read as named."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from retail_intel.demo import generate_demo
from retail_intel.errors import InputError
from retail_intel.movements.schema import TRAJECTORY_SCHEMA
from retail_intel.movements.store import write_movements
from retail_intel.pgexport import export_tables
from retail_intel.report.data import read_trajectory_points
from retail_intel.sqlviews import open_database, run_query
from retail_intel.sqlviews.views import read_parquet_sql, schema_file
from retail_intel.storage import parquet_files
from tests.cli_helpers import CliResult, run_cli
from tests.test_sql import CONFIG, T0, movements

# what macOS leaves beside a file copied to an SMB share or an exFAT drive: not Parquet
APPLE_DOUBLE = b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        "


def make_site(root: Path) -> tuple[Path, Path]:
    config = root / "config"
    config.mkdir(parents=True)
    for name, text in CONFIG.items():
        (config / name).write_text(text)
    data = root / "data"
    rows = movements("b1", [(1, "entered", 0), (2, "passed", 1), (3, "entered", 2)])
    write_movements(rows, data, branch_id="b1", day=T0.date(), source_key="v1")
    return config, data


def hide_files_beside(data: Path, *, apple_double: bool = True, aside: bool = True) -> None:
    """A macOS AppleDouble file and/or a hidden, valid copy (with other people) beside the one movement file."""
    (path,) = parquet_files(data / "movements")
    if apple_double:
        (path.parent / f"._{path.name}").write_bytes(APPLE_DOUBLE)
    if aside:
        pq.write_table(movements("b1", [(7, "entered", 0), (8, "entered", 1)]), path.parent / ".aside.parquet")


@pytest.fixture
def site(tmp_path: Path) -> tuple[Path, Path]:
    config, data = make_site(tmp_path)
    hide_files_beside(data)
    return config, data


@pytest.mark.parametrize("apple_double", [True, False], ids=["apple-double-and-aside", "aside-only"])
def test_sql_views_skip_hidden_files(tmp_path: Path, apple_double: bool) -> None:
    config, data = make_site(tmp_path)
    hide_files_beside(data, apple_double=apple_double)
    con = open_database(config, data)  # an AppleDouble file no longer stops it
    try:
        counted = run_query(con, "SELECT count(*) AS n, count(DISTINCT customer_id) AS people FROM customers")
        assert counted.to_pylist() == [{"n": 3, "people": 3}]
    finally:
        con.close()


def test_export_reads_the_files_it_lists(site: tuple[Path, Path]) -> None:
    _, data = site
    for table in export_tables():
        if not table.files(data):
            continue  # an empty table is created without reading anything
        listed = sum(pq.ParquetFile(p).metadata.num_rows for p in table.files(data))
        source = read_parquet_sql([str(schema_file(table.schema)), table.pattern(data)])
        ((read,),) = duckdb.sql(f"SELECT count(*) FROM {source}").fetchall()
        assert read == listed, table.name
    assert any(table.files(data) for table in export_tables())


# ------------------------------------------- a data directory named with glob characters

GLOB_NAMED = "store [12] *?"


def test_sql_and_export_read_a_folder_named_with_glob_characters(tmp_path: Path) -> None:
    config, data = make_site(tmp_path / GLOB_NAMED)
    hide_files_beside(data, apple_double=False)
    con = open_database(config, data)  # locked down: the escaped spelling of the folder is allowed
    try:
        assert run_query(con, "SELECT count(*) AS n FROM customer_branch_movement").to_pylist() == [{"n": 3}]
    finally:
        con.close()
    (table,) = [t for t in export_tables() if t.files(data)]
    source = read_parquet_sql([str(schema_file(table.schema)), table.pattern(data)])
    assert duckdb.sql(f"SELECT count(*) FROM {source}").fetchall() == [(3,)]


def test_the_locked_session_still_refuses_a_sibling_folder(tmp_path: Path) -> None:
    config, data = make_site(tmp_path / "store [12]")
    sibling = make_site(tmp_path / "store 1")[1]
    (other,) = parquet_files(sibling / "movements")
    con = open_database(config, data)
    try:
        own = f"{data.resolve()}/movements/*/*/*.parquet"  # as a glob, "[12]" matches "store 1" too
        for path in (str(other), own):
            with pytest.raises(InputError, match="Permission Error"):
                run_query(con, f"SELECT count(*) FROM read_parquet('{path}')")
    finally:
        con.close()


def test_kpis_etl_report_and_quality_read_a_folder_named_with_glob_characters(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / GLOB_NAMED
    generate_demo(root / "config", root / "data", branches=1, days=2, seed=3, start=dt.date(2026, 3, 27))
    where = ["--config", str(root / "config"), "--data-dir", str(root / "data")]
    stored = sum(pq.ParquetFile(p).metadata.num_rows for p in parquet_files(root / "data" / "movements"))

    def run(*args: str) -> CliResult:
        result = run_cli([*args, *where], capsys, monkeypatch)
        assert result.exit_code == 0, f"{args[0]}: {result.stderr}"
        return result

    sql = run("sql", "-f", "json", "SELECT count(*) AS n FROM customer_branch_movement")
    assert json.loads(sql.stdout) == [{"n": stored}]
    kpis = json.loads(run("kpis", "-w", "1440m", "-f", "json").stdout)
    assert sum(row["visitors"] for row in kpis) > 0
    run("etl")
    assert parquet_files(root / "data" / "features")
    run("report", "-b", "demo-001", "--date", "2026-03-28", "-o", str(tmp_path / "r.html"))
    assert (tmp_path / "r.html").stat().st_size > 0
    # with a pinned schema Polars answered "no files" with zero rows, silently
    doors = json.loads(run("quality", "-b", "demo-001", "-f", "json").stdout)
    assert len(doors) == 2 and all(row["ins"] > 0 for row in doors)


def test_trajectory_points_read_from_a_folder_named_with_glob_characters(tmp_path: Path) -> None:
    folder = tmp_path / GLOB_NAMED / "trajectories" / "b1" / T0.date().isoformat()
    folder.mkdir(parents=True)
    row = {
        "customer_id": "c1",
        "branch_id": "b1",
        "camera_id": "door",
        "action_type": "entered",
        "time": T0,
        "frame": 0,
        "x": 1.0,
        "y": 2.0,
        "inside_roi": True,
        "video_fingerprint": "f" * 64,
    }
    pq.write_table(pa.Table.from_pylist([row], schema=TRAJECTORY_SCHEMA), folder / "v1.parquet")
    points = read_trajectory_points([folder / "v1.parquet"], T0, T0 + dt.timedelta(minutes=1))
    assert points.to_pylist() == [{"camera_id": "door", "customer_id": "c1", "time": T0, "x": 1.0, "y": 2.0}]
