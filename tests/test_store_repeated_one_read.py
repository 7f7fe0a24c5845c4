"""The copied-file check hashes the row keys in the read the KPIs make anyway.

``kpis`` and the zone KPIs refused a store where a row key repeats (a file copied under another
name) by scanning the key columns of every file once more after their own read: on a store of
thousands of small files, opening each a second time added about a third to ``kpis --zones``.
The key hashes now come from the read that loads the rows, so each file is opened once; only a
repeated hash reads the files again, to name them (tests/test_store_repeated_*.py).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from retail_intel.config import load_config
from retail_intel.demo.generate import generate_demo
from retail_intel.errors import DataError, StoreChangedError
from retail_intel.etl import read_features, run_etl
from retail_intel.etl import store as etl_store
from retail_intel.kpis import read_kpis, zone_compute
from retail_intel.kpis import store as kpi_store
from retail_intel.kpis.compute import compute_kpis, read_movement_inputs
from retail_intel.kpis.zone_compute import compute_zone_kpis, read_queue_rows
from retail_intel.movements import repeats
from retail_intel.movements.zone_store import QUEUE_LENGTHS_DIR, QUEUE_VISITS_DIR, ZONE_VISITS_DIR
from retail_intel.storage import FEATURES_DIR, KPIS_DIR, MOVEMENTS_DIR, parquet_files, read_table_as
from tests.store_fixtures import copy_store

START = dt.date(2026, 2, 2)
BRANCHES = ["demo-001", "demo-002"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("demo")
    generate_demo(root / "config", root / "data", branches=2, days=2, seed=5, start=START)
    return root / "config", root / "data"


@pytest.fixture
def store(demo: tuple[Path, Path], tmp_path: Path) -> tuple[Path, Path]:
    return demo[0], copy_store(demo[1], tmp_path / "data")


@pytest.fixture
def scanned(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counter[str]]:
    """How many times each Parquet file was handed to a Polars scan."""
    seen: Counter[str] = Counter()
    scan = pl.scan_parquet

    def counting(source: Any, *args: Any, **kwargs: Any) -> pl.LazyFrame:
        seen.update(str(p) for p in (source if isinstance(source, list) else [source]))
        return scan(source, *args, **kwargs)

    monkeypatch.setattr(pl, "scan_parquet", counting)
    yield seen


def _read_twice(seen: Counter[str], files: list[Path]) -> list[str]:
    return [str(f) for f in files if seen[str(f)] != 1]


@pytest.mark.parametrize("branch", [None, "demo-001"])
def test_the_kpis_movement_read_opens_each_file_once(
    store: tuple[Path, Path], scanned: Counter[str], branch: str | None
) -> None:
    _, data_dir = store
    read = read_movement_inputs(data_dir, None if branch is None else [branch])
    assert read.num_rows
    files = parquet_files(data_dir / MOVEMENTS_DIR / branch) if branch else parquet_files(data_dir / MOVEMENTS_DIR)
    assert files
    assert _read_twice(scanned, files) == []


def test_a_movement_file_whose_customer_ids_are_numbers_is_named_as_before(store: tuple[Path, Path]) -> None:
    """The key read with the rows fails on it: the check's own read names the table, as it did."""
    config_dir, data_dir = store
    path = parquet_files(data_dir / MOVEMENTS_DIR)[0]
    table = pq.read_table(path)
    index = table.schema.get_field_index("customer_id")
    table = table.set_column(index, "customer_id", pa.array(range(table.num_rows), pa.int64()))
    pq.write_table(table, path)
    with pytest.raises(DataError, match=r"^customer_branch_movement: cannot read the movement keys"):
        compute_kpis(load_config(config_dir), data_dir, window_minutes=60, write=False)


def _customer_ids_as_numbers(path: Path) -> None:
    table = pq.read_table(path)
    index = table.schema.get_field_index("customer_id")
    pq.write_table(table.set_column(index, "customer_id", pa.array(range(table.num_rows), pa.int64())), path)


@pytest.mark.parametrize(("kind", "row"), [(ZONE_VISITS_DIR, "zone visit"), (QUEUE_VISITS_DIR, "queue visit")])
def test_a_zone_file_whose_customer_ids_are_numbers_is_named_by_the_zone_kpis_as_before(
    store: tuple[Path, Path], kind: str, row: str
) -> None:
    """The scans with the keys fail on it, those without (no staff to leave out) do not: the check's own read names the table."""
    config_dir, data_dir = store
    _customer_ids_as_numbers(parquet_files(data_dir / kind)[0])
    with pytest.raises(DataError, match=rf"^{kind}: cannot read the {row} keys of the Parquet files \("):
        compute_zone_kpis(load_config(config_dir), data_dir, window_minutes=60, staff_ids=[])


def test_a_queue_file_whose_customer_ids_are_numbers_is_named_by_the_queue_rows_read_as_before(
    store: tuple[Path, Path],
) -> None:
    _, data_dir = store
    _customer_ids_as_numbers(parquet_files(data_dir / QUEUE_VISITS_DIR)[0])
    with pytest.raises(DataError, match=r"^queue_visits: cannot read the queue visit keys of the Parquet files \("):
        read_queue_rows(data_dir, BRANCHES)


def _queue_files(data_dir: Path) -> list[Path]:
    return parquet_files(data_dir / QUEUE_VISITS_DIR)


@pytest.mark.parametrize("staff", [False, True])
def test_the_queue_rows_read_opens_each_file_once(store: tuple[Path, Path], scanned: Counter[str], staff: bool) -> None:
    _, data_dir = store
    files = _queue_files(data_dir)
    assert files
    ids = pq.read_table(files[0]).column("customer_id").to_pylist()[:3] if staff else []
    rows = read_queue_rows(data_dir, BRANCHES, staff_ids=ids)
    assert _read_twice(scanned, files) == []
    every = read_queue_rows(data_dir, BRANCHES)
    assert rows.num_rows == every.num_rows - len(ids)


def test_a_copied_queue_file_of_staff_alone_is_still_refused(store: tuple[Path, Path]) -> None:
    """Staff rows are left out of the queue KPIs, but a copy of them is a copied file all the same."""
    _, data_dir = store
    original = _queue_files(data_dir)[0]
    copy = original.with_name("backup-copy.parquet")
    copy.write_bytes(original.read_bytes())
    staff = pq.read_table(original).column("customer_id").to_pylist()
    with pytest.raises(DataError, match=rf"^queue_visits: the same queue visit .* in {copy} and {original}; "):
        read_queue_rows(data_dir, BRANCHES, staff_ids=staff)


@pytest.mark.parametrize("queue_rows", [False, True])
def test_the_zone_kpis_open_each_zone_file_once(store: tuple[Path, Path], queue_rows: bool) -> None:
    config_dir, data_dir = store
    config = load_config(config_dir)
    given = read_queue_rows(data_dir, BRANCHES) if queue_rows else None
    seen: Counter[str] = Counter()
    with pytest.MonkeyPatch.context() as patch:
        scan = pl.scan_parquet

        def counting(source: Any, *args: Any, **kwargs: Any) -> pl.LazyFrame:
            seen.update(str(p) for p in (source if isinstance(source, list) else [source]))
            return scan(source, *args, **kwargs)

        patch.setattr(pl, "scan_parquet", counting)
        result = compute_zone_kpis(config, data_dir, window_minutes=60, queue_rows=given)
    assert result.zones.num_rows and result.queues.num_rows
    kinds = [ZONE_VISITS_DIR, QUEUE_LENGTHS_DIR] + ([] if queue_rows else [QUEUE_VISITS_DIR])
    files = [f for kind in kinds for f in parquet_files(data_dir / kind)]
    assert _read_twice(seen, files) == []


@pytest.mark.parametrize("kind", [ZONE_VISITS_DIR, QUEUE_VISITS_DIR, QUEUE_LENGTHS_DIR])
def test_a_copied_zone_file_is_refused_by_the_zone_kpis_even_when_its_rows_are_staff(
    store: tuple[Path, Path], kind: str
) -> None:
    config_dir, data_dir = store
    original = parquet_files(data_dir / kind)[0]
    copy = original.with_name("backup-copy.parquet")
    copy.write_bytes(original.read_bytes())
    table = pq.read_table(original)
    staff = table.column("customer_id").to_pylist() if "customer_id" in table.column_names else []
    with pytest.raises(DataError, match=rf"^{kind}: the same .* in {copy} and {original}; "):
        compute_zone_kpis(load_config(config_dir), data_dir, window_minutes=60, staff_ids=staff)


def test_read_kpis_and_read_features_read_each_file_once(
    store: tuple[Path, Path], scanned: Counter[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stored KPI and feature rows are all in memory after the read: their keys are hashed there."""
    config_dir, data_dir = store
    config = load_config(config_dir)
    compute_kpis(config, data_dir, window_minutes=60)
    run_etl(config, data_dir)
    read: Counter[str] = Counter()

    def counting(path: Path, *args: Any, **kwargs: Any) -> pa.Table:
        read[str(path)] += 1
        return read_table_as(path, *args, **kwargs)

    for module in (kpi_store, etl_store):
        monkeypatch.setattr(module, "read_table_as", counting)
    scanned.clear()
    assert read_kpis(data_dir).num_rows
    assert read_features(data_dir).num_rows
    files = parquet_files(data_dir / KPIS_DIR) + parquet_files(data_dir / FEATURES_DIR)
    assert files
    assert [str(f) for f in files if read[str(f)] + scanned[str(f)] != 1] == []


def test_a_store_changing_while_the_zone_kpis_list_it_is_read_again_with_the_keys(
    store: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A writer at work (compact, a batch) removing a file while the zone KPIs listed the store went to
    # the read without the keys, so every zone table got the whole copied-file check, the second read
    # of every file the keyed read exists to spare; the store is now read again, with the keys.
    config_dir, data_dir = store
    listed = Counter[str]()
    real_sources = zone_compute.zone_sources

    def sources(*args: Any, **kwargs: Any) -> Any:
        listed["lists"] += 1
        if listed["lists"] == 1:
            raise StoreChangedError(f"{data_dir}: a file was removed while the store was listed")
        return real_sources(*args, **kwargs)

    def whole_check(*args: Any, **kwargs: Any) -> None:
        listed["whole checks"] += 1

    monkeypatch.setattr(zone_compute, "zone_sources", sources)
    monkeypatch.setattr(repeats, "refuse_repeated_rows", whole_check)
    result = compute_zone_kpis(load_config(config_dir), data_dir, window_minutes=60)
    assert result.zones.num_rows and result.queues.num_rows
    assert listed == Counter({"lists": 2})
