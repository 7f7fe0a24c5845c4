"""A zone-visit or queue file copied into the store under another name: sql and the zone KPIs refuse it.

A backup kept beside a video's zone_visits, queue_visits or queue_lengths file doubled the rows
of those `sql` views, and the zone and queue KPIs computed from them (`kpis --zones`, `zones`,
the `/zones` and `/queues` routes, the bottleneck score of `kpis`). They now stop with one line
naming the repeated row's key and both files, as for a copied movement file. A visit carried
across a batch hand-over (under the next segment's fingerprint) and a video both in its
compacted month and its own file are not copies and are not refused.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from retail_intel.config import load_config
from retail_intel.demo.generate import generate_demo
from retail_intel.errors import DataError
from retail_intel.kpis.compute import compute_kpis
from retail_intel.kpis.zone_compute import ZONE_ENGINES, compute_zone_kpis
from retail_intel.movements.compaction import compact_store
from retail_intel.movements.zone_store import QUEUE_LENGTHS_DIR, QUEUE_VISITS_DIR, ZONE_VISITS_DIR
from retail_intel.serve import create_app
from retail_intel.sqlviews.database import query
from retail_intel.storage import parquet_files
from tests.store_fixtures import copy_store
from tests.test_serve_support import Api

START = dt.date(2026, 2, 2)  # two days, both in a month closed by BEFORE
BEFORE = dt.date(2026, 3, 1)
KINDS = (ZONE_VISITS_DIR, QUEUE_VISITS_DIR, QUEUE_LENGTHS_DIR)
ROWS = {ZONE_VISITS_DIR: "zone visit", QUEUE_VISITS_DIR: "queue visit", QUEUE_LENGTHS_DIR: "queue-length minute"}
KEYS = {
    ZONE_VISITS_DIR: ("customer_id", "branch_id", "camera_id", "zone_id", "enter_time", "video_fingerprint"),
    QUEUE_VISITS_DIR: ("customer_id", "branch_id", "camera_id", "zone_id", "queue_enter", "video_fingerprint"),
    QUEUE_LENGTHS_DIR: ("branch_id", "camera_id", "zone_id", "minute", "video_fingerprint"),
}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("demo")
    generate_demo(root / "config", root / "data", branches=1, days=2, seed=5, start=START)
    return root / "config", root / "data"


@pytest.fixture
def store(demo: tuple[Path, Path], tmp_path: Path) -> tuple[Path, Path]:
    """A fresh copy of the demo store's movements and zone tables."""
    return demo[0], copy_store(demo[1], tmp_path / "data")


def _head(kind: str) -> str:
    return f"{kind}: the same {ROWS[kind]} ({', '.join(KEYS[kind])}) appears on more than one row"


def _first_key(path: Path, kind: str) -> str:
    """The start of the text the refusal names for the file's lowest key."""
    columns = KEYS[kind]
    rows = sorted(pq.read_table(path, columns=list(columns)).to_pylist(), key=lambda r: tuple(r[c] for c in columns))
    return ", ".join(str(rows[0][c]) for c in columns[:3]) + ", "


def _copy(data_dir: Path, kind: str, name: str) -> tuple[Path, Path]:
    original = next(p for p in parquet_files(data_dir / kind) if pq.read_metadata(p).num_rows > 0)
    copy = original.with_name(name)
    copy.write_bytes(original.read_bytes())
    return original, copy


def _count(config_dir: Path, data_dir: Path, kind: str) -> int:
    return int(query(config_dir, data_dir, f"SELECT count(*) AS n FROM {kind}").column("n")[0].as_py())


@pytest.mark.parametrize("kind", KINDS)
def test_a_copied_zone_file_stops_sql_naming_the_row_and_both_files(store: tuple[Path, Path], kind: str) -> None:
    config_dir, data_dir = store
    before = _count(config_dir, data_dir, kind)
    original, copy = _copy(data_dir, kind, "ingested-again.parquet")

    with pytest.raises(DataError) as raised:
        _count(config_dir, data_dir, kind)
    message = str(raised.value)
    assert message.startswith(_head(kind))
    assert "\n" not in message
    assert _first_key(original, kind) in message
    assert f"{original} and {copy}" in message

    copy.unlink()
    assert _count(config_dir, data_dir, kind) == before


def _zone_kpis(config_dir: Path, data_dir: Path, engine: str) -> tuple[list[object], ...]:
    """The counts of the zone and queue KPIs (their means are float sums, in no fixed order)."""
    result = compute_zone_kpis(load_config(config_dir), data_dir, window_minutes=1440, engine=engine)
    counts = ("visits", "counted_visits", "roi_people"), ("people_queued", "people_served", "peak_queue_length")
    return tuple(
        sorted(zip(*(table.column(name).to_pylist() for name in ("zone_id", "window_start", *names)), strict=True))
        for table, names in zip((result.zones, result.queues), counts, strict=True)
    )


@pytest.mark.parametrize("engine", ZONE_ENGINES)
@pytest.mark.parametrize("kind", KINDS)
def test_a_copied_zone_file_stops_the_zone_kpis(store: tuple[Path, Path], kind: str, engine: str) -> None:
    config_dir, data_dir = store
    before = _zone_kpis(config_dir, data_dir, engine)
    original, copy = _copy(data_dir, kind, "backup-copy.parquet")

    with pytest.raises(DataError) as raised:
        _zone_kpis(config_dir, data_dir, engine)
    assert str(raised.value).startswith(_head(kind))
    assert f"{copy} and {original}" in str(raised.value)

    copy.unlink()
    assert _zone_kpis(config_dir, data_dir, engine) == before


def test_a_copied_queue_visit_file_stops_the_bottleneck_score_of_kpis(store: tuple[Path, Path]) -> None:
    config_dir, data_dir = store
    _copy(data_dir, QUEUE_VISITS_DIR, "backup-copy.parquet")
    with pytest.raises(DataError, match=r"^queue_visits: the same queue visit .*backup-copy\.parquet"):
        compute_kpis(load_config(config_dir), data_dir, window_minutes=1440, write=False)


@pytest.mark.parametrize(("route", "kind"), [("zones", ZONE_VISITS_DIR), ("queues", QUEUE_VISITS_DIR)])
def test_a_copied_zone_file_answers_the_serve_routes_with_503(store: tuple[Path, Path], route: str, kind: str) -> None:
    config_dir, data_dir = store
    api = Api(create_app(config_dir, data_dir))
    branch = load_config(config_dir).branches[0].id
    assert api.get(f"/{route}/{branch}").status_code == 200
    _copy(data_dir, kind, "backup-copy.parquet")
    response = api.get(f"/{route}/{branch}")
    assert response.status_code == 503
    assert f"the same {ROWS[kind]}" in response.text and "backup-copy.parquet" in response.text


def _hand_over(data_dir: Path, kind: str) -> Path:
    """The next segment's file holding the first row of a video's file, carried across the cut.

    Same key but that segment's own video fingerprint: the visit the next segment judges from
    the path carried into it, while the earlier segment's file still holds it.
    """
    original = next(p for p in parquet_files(data_dir / kind) if pq.read_metadata(p).num_rows > 0)
    table = pq.read_table(original).slice(0, 1)
    column = table.schema.get_field_index("video_fingerprint")
    fingerprint = pa.array(["next-segment-fingerprint"], type=table.schema.field(column).type)
    carried = original.with_name("next-segment.parquet")
    pq.write_table(table.set_column(column, table.schema.field(column), fingerprint), carried)
    return carried


@pytest.mark.parametrize("kind", KINDS)
def test_a_row_carried_across_a_batch_hand_over_is_not_refused(store: tuple[Path, Path], kind: str) -> None:
    config_dir, data_dir = store
    before = _count(config_dir, data_dir, kind)
    _hand_over(data_dir, kind)
    assert _count(config_dir, data_dir, kind) == before + 1
    for engine in ZONE_ENGINES:
        _zone_kpis(config_dir, data_dir, engine)


def test_a_video_in_its_month_and_its_own_file_is_not_refused(store: tuple[Path, Path]) -> None:
    """The zone tables as ``compact`` leaves them between writing the months and removing a day's files."""
    config_dir, data_dir = store
    before = [_zone_kpis(config_dir, data_dir, engine) for engine in ZONE_ENGINES]
    days = {kind: parquet_files(data_dir / kind) for kind in KINDS}
    saved = {path: path.read_bytes() for paths in days.values() for path in paths}
    compact_store(data_dir, before=BEFORE)
    for kind in KINDS:
        assert [p.name for p in parquet_files(data_dir / kind)] == ["compacted.parquet"]
        first = days[kind][0]
        first.parent.mkdir(parents=True, exist_ok=True)
        first.write_bytes(saved[first])
    assert [_zone_kpis(config_dir, data_dir, engine) for engine in ZONE_ENGINES] == before
    for kind in KINDS:
        _count(config_dir, data_dir, kind)
