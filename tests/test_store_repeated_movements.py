"""A movement file copied into the store under another name: kpis (both engines) and sql refuse it.

A backup kept beside a day's file, or the same file ingested again under another name, held every
person twice: `kpis` stored doubled visitors and `sql` counted each row twice. Both now stop with
one line naming the repeated movement and both files. A batch hand-over (a person carried into the
next segment's file under its own video fingerprint) and a video both in its compacted month and
its own file (halfway through `compact`) are not copies and are not refused.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from retail_intel.config import load_config
from retail_intel.demo.generate import generate_demo
from retail_intel.errors import DataError
from retail_intel.kpis.compute import ENGINES, compute_kpis
from retail_intel.movements.compaction import compact_store
from retail_intel.sqlviews.database import query
from retail_intel.storage import KPIS_DIR, MOVEMENTS_DIR, parquet_files
from tests.store_fixtures import copy_store

START = dt.date(2026, 2, 2)  # two days, both in a month closed by BEFORE
BEFORE = dt.date(2026, 3, 1)
COUNT = "SELECT count(*) AS n FROM customer_branch_movement"
HEAD = (
    "customer_branch_movement: the same movement (customer_id, branch_id, enter_time, video_fingerprint) "
    "appears on more than one row"
)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("demo")
    generate_demo(root / "config", root / "data", branches=1, days=2, seed=5, start=START)
    return root / "config", root / "data"


@pytest.fixture
def store(demo: tuple[Path, Path], tmp_path: Path) -> tuple[Path, Path]:
    """A fresh copy of the demo store's movements (nothing else: the KPIs read only them)."""
    return demo[0], copy_store(demo[1], tmp_path / "data", only=MOVEMENTS_DIR)


def _first_movement(path: Path) -> str:
    """The start of the text the refusal names for the file's lowest movement key."""
    rows = sorted(pq.read_table(path).to_pylist(), key=lambda r: (r["customer_id"], r["branch_id"], r["enter_time"]))
    return f"{rows[0]['customer_id']}, {rows[0]['branch_id']}, "


def _visitors(config_dir: Path, data_dir: Path, engine: str) -> list[int]:
    result = compute_kpis(load_config(config_dir), data_dir, window_minutes=1440, engine=engine, write=False)
    return [int(v) for v in result.table.column("visitors").to_pylist()]


@pytest.mark.parametrize("engine", ENGINES)
def test_a_copied_movement_file_stops_kpis_naming_the_movement_and_both_files(
    store: tuple[Path, Path], engine: str
) -> None:
    config_dir, data_dir = store
    before = _visitors(config_dir, data_dir, engine)
    original = parquet_files(data_dir / MOVEMENTS_DIR)[0]
    copy = original.with_name("backup-copy.parquet")
    copy.write_bytes(original.read_bytes())

    with pytest.raises(DataError) as raised:
        compute_kpis(load_config(config_dir), data_dir, window_minutes=1440, engine=engine)
    message = str(raised.value)
    assert message.startswith(HEAD)
    assert "\n" not in message
    assert _first_movement(original) in message
    assert f"{copy} and {original}" in message
    assert not (data_dir / KPIS_DIR).exists()  # nothing doubled was stored
    branch = pq.read_table(original).column("branch_id")[0].as_py()
    with pytest.raises(DataError, match=r"backup-copy\.parquet"):
        compute_kpis(load_config(config_dir), data_dir, window_minutes=1440, engine=engine, branch=branch)

    copy.unlink()
    assert _visitors(config_dir, data_dir, engine) == before


def test_a_copied_movement_file_stops_sql_with_the_same_line(store: tuple[Path, Path]) -> None:
    config_dir, data_dir = store
    rows = query(config_dir, data_dir, COUNT).to_pylist()
    original = parquet_files(data_dir / MOVEMENTS_DIR)[0]
    copy = original.with_name("ingested-again.parquet")
    copy.write_bytes(original.read_bytes())

    with pytest.raises(DataError) as raised:
        query(config_dir, data_dir, COUNT)
    message = str(raised.value)
    assert message.startswith(HEAD)
    assert _first_movement(original) in message
    assert f"{original} and {copy}" in message

    copy.unlink()
    assert query(config_dir, data_dir, COUNT).to_pylist() == rows


def _hand_over(original: Path) -> Path:
    """The next segment's file holding the first person of ``original``, carried across the cut.

    Same customer, branch and entry time, but that segment's own video fingerprint: the state a
    batch leaves between writing segment N+1 and removing the person from segment N's file.
    """
    table = pq.read_table(original).slice(0, 1)
    column = table.schema.get_field_index("video_fingerprint")
    fingerprint = pa.array(["next-segment-fingerprint"], type=table.schema.field(column).type)
    table = table.set_column(column, table.schema.field(column), fingerprint)
    carried = original.with_name("next-segment.parquet")
    pq.write_table(table, carried)
    assert pc.equal(table.column("customer_id"), pq.read_table(original).column("customer_id")[0]).to_pylist() == [True]
    return carried


@pytest.mark.parametrize("engine", ENGINES)
def test_a_person_carried_across_a_batch_hand_over_is_not_refused_by_kpis(
    store: tuple[Path, Path], engine: str
) -> None:
    config_dir, data_dir = store
    _hand_over(parquet_files(data_dir / MOVEMENTS_DIR)[0])
    compute_kpis(load_config(config_dir), data_dir, window_minutes=1440, engine=engine, write=False)


def test_a_person_carried_across_a_batch_hand_over_is_not_refused_by_sql(store: tuple[Path, Path]) -> None:
    config_dir, data_dir = store
    before = query(config_dir, data_dir, COUNT).column("n")[0].as_py()
    _hand_over(parquet_files(data_dir / MOVEMENTS_DIR)[0])
    assert query(config_dir, data_dir, COUNT).column("n")[0].as_py() == before + 1


def _halfway_compacted(data_dir: Path) -> tuple[Path, Path, dict[Path, bytes]]:
    """The store as ``compact`` leaves it between writing the month and removing the first day's file."""
    days = parquet_files(data_dir / MOVEMENTS_DIR)
    assert len(days) == 2
    saved = {path: path.read_bytes() for path in days}
    compact_store(data_dir, before=BEFORE)
    (month,) = parquet_files(data_dir / MOVEMENTS_DIR)
    assert month.name == "compacted.parquet"
    first = days[0]
    first.parent.mkdir(parents=True, exist_ok=True)
    first.write_bytes(saved[first])
    return month, days[1], saved


@pytest.mark.parametrize("engine", ENGINES)
def test_a_video_in_its_month_and_its_own_file_is_read_once_and_a_copy_of_merged_rows_refused(
    store: tuple[Path, Path], engine: str
) -> None:
    config_dir, data_dir = store
    before = _visitors(config_dir, data_dir, engine)
    month, second, saved = _halfway_compacted(data_dir)
    assert _visitors(config_dir, data_dir, engine) == before

    # the second day's file restored from a backup under another name: its rows are in the month too
    copy = second.with_name("restored.parquet")
    copy.parent.mkdir(parents=True, exist_ok=True)
    copy.write_bytes(saved[second])
    with pytest.raises(DataError) as raised:
        _visitors(config_dir, data_dir, engine)
    assert " and ".join(sorted([str(month), str(copy)])) in str(raised.value)  # the month read cut back is named too
    assert _first_movement(copy) in str(raised.value)


def test_sql_does_not_refuse_a_video_in_its_month_and_its_own_file(store: tuple[Path, Path]) -> None:
    config_dir, data_dir = store
    _halfway_compacted(data_dir)
    query(config_dir, data_dir, COUNT)
