"""Every reader of the store sees the same files: names starting with '.' are skipped by all of them."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from retail_intel.movements.store import write_movements
from retail_intel.pgexport import export_tables
from retail_intel.sqlviews import open_database, run_query
from retail_intel.sqlviews.views import read_parquet_sql, schema_file
from retail_intel.storage import parquet_files
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
