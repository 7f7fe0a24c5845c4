"""A stored KPI or feature file copied under another name: sql, read_kpis and read_features refuse it.

A backup kept beside ``kpis/60m/<branch>.parquet`` (or ``features/hourly/<branch>.parquet``)
doubled every window of that branch in `sql`'s ``branch_kpi_timeseries`` / ``branch_features``
and in ``read_kpis`` / ``read_features`` over all branches. They now stop with one line naming
the repeated window and both files. What ``kpis`` and ``etl`` write, rewrite and drop again is
never refused.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from retail_intel.config import load_config
from retail_intel.demo.generate import generate_demo
from retail_intel.errors import DataError
from retail_intel.etl import read_features, run_etl
from retail_intel.etl.store import features_root
from retail_intel.kpis import compute_kpis, kpi_path, read_kpis
from retail_intel.sqlviews.database import query
from tests.store_fixtures import copy_store

START = dt.datetime(2026, 2, 2, tzinfo=dt.UTC)
KPI_HEAD = "branch_kpi_timeseries: the same KPI window (branch_id, window_minutes, window_start) appears on"
FEATURE_HEAD = "branch_features: the same feature hour (branch_id, window_start) appears on"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("demo")
    generate_demo(root / "config", root / "data", branches=2, days=2, seed=5, start=START.date())
    config = load_config(root / "config")
    compute_kpis(config, root / "data", window_minutes=1440)
    run_etl(config, root / "data")  # the hourly KPIs and the features
    return root / "config", root / "data"


@pytest.fixture
def store(demo: tuple[Path, Path], tmp_path: Path) -> tuple[Path, Path]:
    """A fresh copy of the demo store with its KPI and feature files."""
    return demo[0], copy_store(demo[1], tmp_path / "data")


def _count(config_dir: Path, data_dir: Path, view: str) -> int:
    return int(query(config_dir, data_dir, f"SELECT count(*) AS n FROM {view}").column("n")[0].as_py())


def _branch(config_dir: Path) -> str:
    return load_config(config_dir).branches[0].id


def _copy(original: Path, name: str) -> Path:
    assert pq.read_metadata(original).num_rows > 0
    copy = original.with_name(name)
    copy.write_bytes(original.read_bytes())
    return copy


def _first_window(path: Path) -> str:
    starts = pq.read_table(path, columns=["window_start"])["window_start"].to_pylist()
    return str(min(starts))


def test_a_copied_kpi_file_stops_sql_and_read_kpis_naming_the_window_and_both_files(
    store: tuple[Path, Path],
) -> None:
    config_dir, data_dir = store
    before = _count(config_dir, data_dir, "branch_kpi_timeseries")
    rows = read_kpis(data_dir).num_rows
    original = kpi_path(data_dir, 60, _branch(config_dir))
    copy = _copy(original, f"{original.stem} (copy).parquet")

    for read in (lambda: _count(config_dir, data_dir, "branch_kpi_timeseries"), lambda: read_kpis(data_dir)):
        with pytest.raises(DataError) as raised:
            read()
        message = str(raised.value)
        assert message.startswith(KPI_HEAD)
        assert "\n" not in message
        assert f"{_branch(config_dir)}, 60, {_first_window(original)} in " in message
        assert f"/{copy.name} and " in message and f"/{original.name}; a file copied" in message
    # one branch's file read by name never reads the copy
    assert read_kpis(data_dir, branch_id=_branch(config_dir), window_minutes=60).num_rows > 0

    copy.unlink()
    assert _count(config_dir, data_dir, "branch_kpi_timeseries") == before
    assert read_kpis(data_dir).num_rows == rows


def test_a_copied_feature_file_stops_sql_and_read_features(store: tuple[Path, Path]) -> None:
    config_dir, data_dir = store
    before = _count(config_dir, data_dir, "branch_features")
    original = features_root(data_dir) / f"{_branch(config_dir)}.parquet"
    copy = _copy(original, "backup.parquet")

    for read in (lambda: _count(config_dir, data_dir, "branch_features"), lambda: read_features(data_dir)):
        with pytest.raises(DataError) as raised:
            read()
        message = str(raised.value)
        assert message.startswith(FEATURE_HEAD)
        assert f"{_branch(config_dir)}, {_first_window(original)} in {copy} and {original}" in message

    copy.unlink()
    assert _count(config_dir, data_dir, "branch_features") == before
    assert read_features(data_dir).num_rows == before


def test_writing_rewriting_and_dropping_kpi_windows_is_never_refused(store: tuple[Path, Path]) -> None:
    config_dir, data_dir = store
    config = load_config(config_dir)
    branch = _branch(config_dir)
    full = read_kpis(data_dir, window_minutes=60).num_rows
    # rewritten whole, then a part of it (the rest kept), then with a span that drops what it no
    # longer produces (an hour outside the movements), then etl over the rewritten hours
    compute_kpis(config, data_dir, window_minutes=60)
    compute_kpis(config, data_dir, window_minutes=60, branch=branch, start=START, end=START + dt.timedelta(hours=12))
    late = START + dt.timedelta(days=30)
    compute_kpis(config, data_dir, window_minutes=60, branch=branch, start=late, end=late + dt.timedelta(hours=1))
    run_etl(config, data_dir, start=START, end=START + dt.timedelta(days=1))
    run_etl(config, data_dir)

    assert read_kpis(data_dir, window_minutes=60).num_rows == full
    assert read_features(data_dir).num_rows == full
    assert _count(config_dir, data_dir, "branch_kpi_timeseries") == read_kpis(data_dir).num_rows
    assert _count(config_dir, data_dir, "branch_features") == full
