"""``serve`` while data and config change underneath it: new data without restart, never half a file."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from retail_intel.errors import DataError
from retail_intel.kpis.store import write_kpis
from retail_intel.movements.schema import MOVEMENT_SCHEMA
from retail_intel.serve import create_app
from retail_intel.serve.files import file_key
from retail_intel.serve.queries import Reader
from retail_intel.serve.state import ServeState
from retail_intel.sqlviews import open_database
from tests.test_serve_support import DAY1, Api, Site, kpi_rows, make_site, movement_rows, write_day


@pytest.fixture
def site(tmp_path: Path) -> Site:
    return make_site(tmp_path)


def kpi_visitors(body: dict[str, Any]) -> list[int]:
    return [row["visitors"] for row in body["rows"]]


def expected_visitors(version: int, windows: int = 48) -> list[int]:
    return [row["visitors"] for row in kpi_rows("b2", 60, DAY1, windows, version).to_pylist()]


def test_rewritten_kpis_show_up_on_the_next_request(site: Site) -> None:
    api = Api(create_app(site.config_dir, site.data_dir))
    url = "/kpis/branch/b2?from=2026-03-02T00:00:00Z"
    assert kpi_visitors(api.ok(url)) == expected_visitors(0)
    assert kpi_visitors(api.ok(url)) == expected_visitors(0)  # now from the response cache
    write_kpis(kpi_rows("b2", 60, DAY1, 48, version=1), site.data_dir)
    assert kpi_visitors(api.ok(url)) == expected_visitors(1)
    # More windows appended by a later run: the total grows.
    write_kpis(kpi_rows("b2", 60, DAY1, 72, version=1), site.data_dir)
    assert api.ok(url)["total"] == 72


def test_kpis_computed_after_start_up_appear(site: Site) -> None:
    api = Api(create_app(site.config_dir, site.data_dir))
    # 60m was computed for other branches: b3's series is empty until its own file appears
    assert api.ok("/kpis/branch/b3")["total"] == 0
    assert api.get("/kpis/branch/b3?window=1d").status_code == 404
    assert api.ok("/branches/b3")["kpi_windows"] == []
    write_kpis(kpi_rows("b3", 60, DAY1, 24), site.data_dir)
    assert api.ok("/kpis/branch/b3")["total"] == 24
    assert api.ok("/branches/b3")["kpi_windows"] == [60]


def test_new_movement_files_appear_without_restart(site: Site) -> None:
    api = Api(create_app(site.config_dir, site.data_dir))
    before = api.ok("/health")["counts"]
    assert api.ok("/movements", params={"branch": "b3"})["rows"] == []
    write_day(site.data_dir, "b3", DAY1, count=5, seed=7)
    after = api.ok("/health")["counts"]
    assert after["movements"] == before["movements"] + 5
    assert after["movement_files"] == before["movement_files"] + 1
    assert api.ok("/movements", params={"branch": "b3"})["count"] == 5


def test_movements_appear_in_a_data_directory_created_after_start_up(site: Site, tmp_path: Path) -> None:
    data_dir = tmp_path / "later"
    api = Api(create_app(site.config_dir, data_dir))
    assert api.ok("/movements")["count"] == 0
    write_day(data_dir, "b1", DAY1, count=4, seed=1)
    write_kpis(kpi_rows("b1", 60, DAY1, 3), data_dir)
    assert api.ok("/movements")["count"] == 4
    assert api.ok("/kpis/branch/b1")["total"] == 3


def test_config_edits_are_picked_up_and_broken_yaml_keeps_the_last_good_config(site: Site) -> None:
    api = Api(create_app(site.config_dir, site.data_dir))
    branches_yaml = site.config_dir / "branches.yaml"
    original = branches_yaml.read_text()
    assert api.ok("/branches/b2")["name"] == "Station Arcade"

    branches_yaml.write_text(original.replace("name: Station Arcade", "name: Station Arcade East"))
    assert api.ok("/branches/b2")["name"] == "Station Arcade East"

    branches_yaml.write_text("branches: [this is: not valid\n")
    assert api.ok("/branches/b2")["name"] == "Station Arcade East"
    health = api.ok("/health")
    assert health["status"] == "degraded"
    assert health["config"]["ok"] is False
    assert "branches.yaml" in health["config"]["problem"]
    assert str(site.config_dir) not in health["config"]["problem"]

    branches_yaml.write_text(original)
    assert api.ok("/health")["config"] == {
        "ok": True,
        "loaded_at": api.ok("/health")["config"]["loaded_at"],
        "problem": None,
    }
    assert api.ok("/branches/b2")["name"] == "Station Arcade"


def test_readers_see_whole_kpi_files_while_a_writer_replaces_them(site: Site) -> None:
    """Every response is one complete version of the file, never an error or a mix."""
    api = Api(create_app(site.config_dir, site.data_dir))
    versions = {tuple(expected_visitors(v)) for v in range(2)}
    tables = [kpi_rows("b2", 60, DAY1, 48, version=v) for v in range(2)]
    done = threading.Event()

    def writer() -> None:
        try:
            for n in range(40):
                write_kpis(tables[n % 2], site.data_dir)
        finally:
            done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    seen: list[tuple[int, ...]] = []
    try:
        while not done.is_set() or len(seen) < 20:
            response = api.get("/kpis/branch/b2")
            assert response.status_code == 200, response.text
            seen.append(tuple(kpi_visitors(response.json())))
    finally:
        thread.join()
    assert set(seen) <= versions


def test_readers_never_fail_while_movement_files_are_replaced(site: Site) -> None:
    api = Api(create_app(site.config_dir, site.data_dir))
    versions = [
        pa.Table.from_pylist(movement_rows("b3", DAY1, 10 + v, seed=v), schema=MOVEMENT_SCHEMA) for v in range(3)
    ]
    ids = [frozenset(versions[v]["customer_id"].to_pylist()) for v in range(3)]
    done = threading.Event()

    def writer() -> None:
        from retail_intel.movements.store import write_movements

        try:
            for n in range(45):
                # The same source rewritten in place (an atomic rename) ...
                write_movements(versions[n % 3], site.data_dir, branch_id="b3", day=DAY1.date(), source_key="churn")
                # ... and another source moved between dates (its old file is deleted).
                day = DAY1.date() + dt.timedelta(days=n % 2)
                write_movements(versions[0], site.data_dir, branch_id="b2", day=day, source_key="moving")
        finally:
            done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    reads = 0
    try:
        while not done.is_set() or reads < 20:
            page = api.get("/movements", params={"branch": "b3", "limit": 1000})
            assert page.status_code == 200, page.text
            rows = page.json()["rows"]
            if rows:
                assert frozenset(r["customer_id"] for r in rows) in ids
            assert api.get("/movements", params={"branch": "b2", "limit": 5}).status_code == 200
            assert api.get("/health").status_code == 200
            reads += 1
    finally:
        thread.join()


def test_a_query_over_files_that_changed_meanwhile_is_run_again(site: Site) -> None:
    reader = Reader(open_database(site.config_dir, site.data_dir))
    real = [(str(p), file_key(p)) for p in sorted((site.data_dir / "movements" / "b1").rglob("*.parquet"))]
    gone = str(site.data_dir.resolve() / "movements" / "b1" / "2026-03-02" / "replaced-meanwhile.parquet")
    stale = (real[0][0], (0, 0, 0))  # listed before a writer replaced it
    listings = iter([[(gone, (1, 1, 1)), *real], [stale, *real[1:]], real])
    table = reader.movements(
        lambda: next(listings), branch_id="b1", start=None, end=None, action_type=None, after=None, limit=10_000
    )
    assert table.num_rows == sum(pq.read_metadata(path).num_rows for path, _ in real)
    assert next(listings, None) is None  # all three listings were used: two runs were refused
    reader.close()


def test_a_file_replaced_on_every_look_is_read_through_one_handle(site: Site) -> None:
    reader = Reader(open_database(site.config_dir, site.data_dir))
    path = next((site.data_dir / "movements" / "b1").rglob("*.parquet"))
    # The listing's key never matches the file: as if a writer replaced it during every query.
    table = reader.movements(
        lambda: [(str(path), (0, 0, 0))], branch_id=None, start=None, end=None, action_type=None, after=None, limit=500
    )
    expected = pq.read_table(path).sort_by([("enter_time", "ascending"), ("customer_id", "ascending")])
    assert table.to_pylist() == expected.to_pylist()
    reader.close()


def test_a_query_over_files_that_keep_being_replaced_gives_up_with_a_data_error(site: Site) -> None:
    reader = Reader(open_database(site.config_dir, site.data_dir))
    paths = [write_day(site.data_dir, "b3", DAY1 + dt.timedelta(days=n), count=3, seed=n) for n in range(8)]
    listings = iter([[(str(p), (0, 0, 0))] for p in paths])  # a new file, already stale, on every look
    with pytest.raises(DataError, match="kept changing"):
        reader.movements(
            lambda: next(listings), branch_id=None, start=None, end=None, action_type=None, after=None, limit=5
        )
    reader.close()


def test_files_from_an_older_version_without_some_columns_are_read(site: Site) -> None:
    rows = movement_rows("b3", DAY1, 6, seed=3)
    old = pa.Table.from_pylist(rows, schema=MOVEMENT_SCHEMA).drop_columns(["model", "mean_confidence"])
    target = site.data_dir / "movements" / "b3" / DAY1.date().isoformat() / "old-version.parquet"
    target.parent.mkdir(parents=True)
    pq.write_table(old, target)
    api = Api(create_app(site.config_dir, site.data_dir))
    body = api.ok("/movements", params={"branch": "b3"})
    assert body["count"] == 6
    assert all(r["model"] is None and r["mean_confidence"] is None for r in body["rows"])
    assert {r["customer_id"] for r in body["rows"]} == {r["customer_id"] for r in rows}
    # Files of the current schema are still read alongside it.
    assert api.ok("/movements", params={"limit": 1000})["count"] == api.ok("/health")["counts"]["movements"]


def test_state_can_be_built_and_closed_without_the_app(site: Site) -> None:
    state = ServeState(site.config_dir, site.data_dir)
    assert state.health()["counts"]["branches"] == 3
    state.close()


@pytest.mark.parametrize(
    ("target", "url"),
    [
        ("kpis/60m/b3.parquet", "/kpis/branch/b3"),
        ("movements/b3/2026-03-02/broken.parquet", "/movements?branch=b3"),
    ],
)
def test_a_corrupt_file_is_503_naming_no_server_path(site: Site, target: str, url: str) -> None:
    path = site.data_dir / target
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"PAR1 this is not a parquet file PAR1")
    response = Api(create_app(site.config_dir, site.data_dir)).get(url)
    assert response.status_code == 503
    assert "Traceback" not in response.text
    assert str(site.data_dir.parent) not in response.text


def test_a_remembered_kpi_url_follows_config_changes(tmp_path: Path, site: Site) -> None:
    """Repeated URLs are answered before FastAPI parses them; a branch removed from the config is still a 404."""
    config_dir = tmp_path / "small-config"
    config_dir.mkdir()
    both = "branches:\n  - {id: b1, name: One, capacity: 10}\n  - {id: b2, name: Two, capacity: 20}\n"
    (config_dir / "branches.yaml").write_text(both)
    api = Api(create_app(config_dir, site.data_dir))
    url = "/kpis/branch/b2?window=60m&limit=5"
    first = api.get(url)
    again = api.get(url)
    assert first.status_code == again.status_code == 200
    assert again.content == first.content
    assert again.headers["content-type"] == first.headers["content-type"] == "application/json"
    (config_dir / "branches.yaml").write_text("branches:\n  - {id: b1, name: One, capacity: 10}\n")
    assert api.get(url).status_code == 404
    (config_dir / "branches.yaml").write_text(both)
    assert api.get(url).content == first.content


def test_only_answered_urls_are_remembered(site: Site) -> None:
    api = Api(create_app(site.config_dir, site.data_dir))
    for _ in range(2):
        assert api.get("/kpis/branch/b1?window=7m").status_code == 422
        assert api.get("/kpis/branch/b1?window=30m").status_code == 404
    # Once computed, the URL that was a 404 answers.
    write_kpis(kpi_rows("b1", 30, DAY1, 4), site.data_dir)
    assert api.ok("/kpis/branch/b1?window=30m")["total"] == 4
