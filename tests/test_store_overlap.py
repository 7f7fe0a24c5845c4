"""A source's rows in its compacted month and in its own file at once are read once, its own file's.

Two steps pass through that state: ``compact`` between writing a month and
removing the day files it merged, and a re-processed video between its new
file landing and its old copy being cut out of the month. Every reader (the
KPIs in both engines, the zone KPIs, the store readers, serve) must see each
source once, and see its own file's rows.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from retail_intel.config.loader import load_config
from retail_intel.demo.generate import generate_demo
from retail_intel.errors import DataError
from retail_intel.kpis import compute, zone_compute
from retail_intel.kpis.quality import door_quality
from retail_intel.movements import store
from retail_intel.movements.compacted import (
    CompactedSource,
    compacted_files,
    compacted_sources,
    read_compacted,
    write_compacted,
)
from retail_intel.movements.compaction import COMPACTED_TABLES, compact_store
from retail_intel.movements.overlap import plan_read
from retail_intel.movements.schema import MOVEMENT_SCHEMA
from retail_intel.movements.store import movement_files, read_movements
from retail_intel.movements.zone_schema import QUEUE_LENGTH_SCHEMA, QUEUE_VISIT_SCHEMA, ZONE_VISIT_SCHEMA
from retail_intel.movements.zone_store import ZONE_VISITS_DIR, read_zone_table, write_zone_tables
from retail_intel.movements.zones import ZoneTables
from retail_intel.serve import create_app, queries
from retail_intel.storage import MOVEMENTS_DIR, atomic_write_table, parquet_files
from tests.kpi_helpers import assert_tables_match
from tests.store_fixtures import (
    JANUARY,
    branch_config,
    kpi_tables,
    movement_pages,
    sorted_rows,
    stored_videos,
    video_movements,
    write_three_videos,
    write_v1_again_killed_before_its_old_file_goes,
)
from tests.test_serve_support import Api


def _everything(config_dir: Path, data_dir: Path) -> dict[str, Any]:
    """What every reader makes of the store: the KPIs and zone KPIs in both engines, the store readers, serve."""
    seen: dict[str, Any] = {}
    for engine in ("duckdb", "polars"):
        seen[engine] = kpi_tables(config_dir, data_dir, engine)
    seen["movements"] = sorted_rows(read_movements(data_dir))
    seen["tables"] = {
        kind: read_zone_table(data_dir, kind).num_rows for kind in COMPACTED_TABLES if kind != MOVEMENTS_DIR
    }
    seen["serve"] = movement_pages(Api(create_app(config_dir, data_dir)))
    return seen


def test_a_store_halfway_through_compact_is_read_as_before(tmp_path: Path) -> None:
    summary = generate_demo(tmp_path / "c", tmp_path / "d", branches=1, days=4, seed=4, start=dt.date(2026, 2, 26))
    data_dir = summary.data_dir
    before = _everything(summary.config_dir, data_dir)
    day_files = [p for kind in COMPACTED_TABLES for p in parquet_files(data_dir / kind)]
    kept = tmp_path / "kept"
    for path in day_files:
        (kept / path.relative_to(data_dir)).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, kept / path.relative_to(data_dir))

    compact_store(data_dir, before=dt.date(2026, 4, 1))
    # the state between writing the months and removing the merged day files
    for path in day_files:
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(kept / path.relative_to(data_dir), path)
    assert len(compacted_files(data_dir / MOVEMENTS_DIR)) == 2  # February and March, each a full copy

    after = _everything(summary.config_dir, data_dir)
    for engine in ("duckdb", "polars"):
        for was, now in zip(before[engine], after[engine], strict=True):
            assert was.num_rows
            assert_tables_match(now, was, [n for n in now.column_names if n != "computed_at"])
    assert after["serve"] == before["serve"]
    assert before["movements"].num_rows and after["movements"].equals(before["movements"])
    assert after["tables"] == before["tables"] and all(before["tables"].values())


def test_a_source_written_again_beside_its_old_copy_in_the_month_reads_as_its_new_rows(tmp_path: Path) -> None:
    write_three_videos(tmp_path)
    compact_store(tmp_path, before=dt.date(2026, 2, 1))
    # v1 processed again: its new file has landed, its old copy is not cut out of the month yet
    atomic_write_table(
        video_movements("b1", JANUARY[1], 5, "v1-new"), tmp_path / MOVEMENTS_DIR / "b1" / "2026-01-06" / "v1.parquet"
    )
    [month] = compacted_files(tmp_path / MOVEMENTS_DIR)
    assert [s.key for s in compacted_sources(month)] == ["v0", "v1", "v2"]

    expected = ["v0"] * 2 + ["v1-new"] * 5 + ["v2"] * 4
    assert stored_videos(tmp_path) == expected
    read = compute.read_movement_inputs(tmp_path, ["b1"])
    assert read.num_rows == len(expected)
    # quality's door counts per day: the same people (each entered, with a door line unset)
    quality = door_quality(load_config(branch_config(tmp_path)), tmp_path).to_pylist()
    assert {str(r["date"]): r["people"] for r in quality} == {"2026-01-05": 2, "2026-01-06": 5, "2026-01-07": 4}
    api = Api(create_app(branch_config(tmp_path), tmp_path))
    served = movement_pages(api)
    assert sorted(r["source_video"] for r in served) == expected
    # /health's count, from footers alone, counts v1 once too (it added the month's 3 old rows)
    assert api.ok("/health")["counts"]["movements"] == len(expected)


def test_a_month_that_takes_in_a_listed_day_while_it_is_read_is_read_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_three_videos(tmp_path)
    compact_store(tmp_path, before=dt.date(2026, 1, 7))  # v2's day stays its own file
    [month] = compacted_files(tmp_path / MOVEMENTS_DIR)
    v2 = tmp_path / MOVEMENTS_DIR / "b1" / "2026-01-07" / "v2.parquet"
    read_files = store.read_files
    calls = 0

    def compact_meanwhile(files: list[Path], schema: pa.Schema, what: str) -> pa.Table:
        # the first read finds the month already holding v2, whose own file is still there
        nonlocal calls
        calls += 1
        if calls == 1:
            pieces = read_compacted(month, MOVEMENT_SCHEMA)
            write_compacted(
                [*pieces, (CompactedSource("v2", "2026-01-07", 4), video_movements("b1", JANUARY[2], 4, "v2"))],
                MOVEMENT_SCHEMA,
                month,
            )
        return read_files(files, schema, what)

    monkeypatch.setattr(store, "read_files", compact_meanwhile)
    assert stored_videos(tmp_path) == ["v0"] * 2 + ["v1"] * 3 + ["v2"] * 4
    assert calls == 2 and v2.exists()


def test_a_plan_refuses_a_month_replaced_after_it_was_checked(tmp_path: Path) -> None:
    write_three_videos(tmp_path)
    compact_store(tmp_path, before=dt.date(2026, 1, 7))
    [month] = compacted_files(tmp_path / MOVEMENTS_DIR)
    plan = plan_read(movement_files(tmp_path), MOVEMENT_SCHEMA)
    assert plan.by_name == movement_files(tmp_path) and not plan.cut
    plan.verify()

    write_compacted(read_compacted(month, MOVEMENT_SCHEMA)[:1], MOVEMENT_SCHEMA, month)

    with pytest.raises(DataError, match="replaced while it was read"):
        plan.verify()


def test_serve_leaves_out_the_old_copy_of_a_video_written_again_on_another_day_in_a_time_range(
    tmp_path: Path,
) -> None:
    write_three_videos(tmp_path)
    compact_store(tmp_path, before=dt.date(2026, 2, 1))
    # v1 processed again with a corrected start: its new file is on January 20, its old copy
    # (January 6) is not cut out of the month yet
    new_day = dt.date(2026, 1, 20)
    atomic_write_table(
        video_movements("b1", new_day, 5, "v1-new"),
        tmp_path / MOVEMENTS_DIR / "b1" / new_day.isoformat() / "v1.parquet",
    )
    api = Api(create_app(branch_config(tmp_path), tmp_path))

    def videos(start: dt.date) -> list[str]:
        params = {"limit": 1000, "from": f"{start}T00:00:00Z", "to": f"{start + dt.timedelta(days=1)}T00:00:00Z"}
        return sorted(r["source_video"] for r in api.ok("/movements", params=params)["rows"])

    assert videos(JANUARY[1]) == []  # the old copy's day: its own file, of another day, wins
    assert videos(new_day) == ["v1-new"] * 5
    assert videos(JANUARY[0]) == ["v0"] * 2


def test_serve_reads_a_held_month_again_when_compact_merges_days_into_it_during_the_query(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_three_videos(tmp_path)
    v1 = tmp_path / MOVEMENTS_DIR / "b1" / "2026-01-06" / "v1.parquet"
    kept = pq.read_table(v1)
    compact_store(tmp_path, before=dt.date(2026, 1, 7))  # v0 and v1 merged, v2 (January 7) its own file
    # a compact killed after writing the month: v1's own file is still beside its merged copy,
    # so serve reads the month through one handle and holds it
    v1.parent.mkdir(exist_ok=True)
    atomic_write_table(kept, v1)
    run = queries.Reader._run
    calls = 0

    def compact_meanwhile(self: queries.Reader, sql: str, params: dict[str, Any], pinned: pa.Table | None) -> pa.Table:
        nonlocal calls
        calls += 1
        if calls == 1:  # heals v1, merges v1 and v2 into the month, removes their own files
            compact_store(tmp_path, before=dt.date(2026, 2, 1))
        return run(self, sql, params, pinned)

    monkeypatch.setattr(queries.Reader, "_run", compact_meanwhile)
    served = movement_pages(Api(create_app(branch_config(tmp_path), tmp_path)))
    assert calls == 2  # the query ran again on the new listing: only the month
    assert sorted(r["source_video"] for r in served) == ["v0"] * 2 + ["v1"] * 3 + ["v2"] * 4


def test_a_video_left_in_two_files_by_a_writer_killed_before_removing_the_old_one_reads_as_its_new_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_three_videos(tmp_path)
    old = write_v1_again_killed_before_its_old_file_goes(tmp_path, monkeypatch)
    assert old.is_file()

    expected = ["v0"] * 2 + ["v1-new"] * 5 + ["v2"] * 4
    assert stored_videos(tmp_path) == expected
    assert compute.read_movement_inputs(tmp_path, ["b1"]).num_rows == len(expected)
    api = Api(create_app(branch_config(tmp_path), tmp_path))
    assert sorted(r["source_video"] for r in movement_pages(api)) == expected
    assert api.ok("/health")["counts"]["movements"] == len(expected)


def _zone_visit(branch: str, day: dt.date, tag: str) -> pa.Table:
    at = dt.datetime.combine(day, dt.time(10), tzinfo=dt.UTC)
    row = {
        "customer_id": tag,
        "branch_id": branch,
        "camera_id": "cam-1",
        "zone_id": "aisle",
        "zone_kind": "area",
        "enter_time": at,
        "exit_time": at + dt.timedelta(seconds=30),
        "dwell_seconds": 30.0,
        "exit_observed": True,
        "counted": True,
        "video_fingerprint": tag,
    }
    return pa.Table.from_pylist([row], schema=ZONE_VISIT_SCHEMA)


def test_a_video_moved_to_another_branch_half_done_is_counted_once_across_per_branch_reads(tmp_path: Path) -> None:
    write_three_videos(tmp_path)
    no_queues = (QUEUE_VISIT_SCHEMA.empty_table(), QUEUE_LENGTH_SCHEMA.empty_table())
    for i, day in enumerate(JANUARY):  # one zone visit per video
        tables = ZoneTables(_zone_visit("b1", day, f"v{i}"), *no_queues)
        write_zone_tables(tables, tmp_path, branch_id="b1", day=day, source_key=f"v{i}")
    compact_store(tmp_path, before=dt.date(2026, 2, 1))  # v1's old copies are in b1's months
    # v1's camera belongs to b2: its new files have landed there, its old copies are not removed yet
    new = Path("b2") / "2026-01-06" / "v1.parquet"
    atomic_write_table(video_movements("b2", JANUARY[1], 5, "v1-new"), tmp_path / MOVEMENTS_DIR / new)
    atomic_write_table(
        pa.concat_tables([_zone_visit("b2", JANUARY[1], "v1-new")] * 5), tmp_path / ZONE_VISITS_DIR / new
    )

    assert compute.read_movement_inputs(tmp_path).num_rows == 2 + 5 + 4
    assert compute.read_movement_inputs(tmp_path, ["b1"]).num_rows == 2 + 4  # v1 is b2's now
    assert compute.read_movement_inputs(tmp_path, ["b2"]).num_rows == 5
    config = load_config(branch_config(tmp_path, branches=("b1", "b2")))
    people = {str(r["date"]): r["people"] for r in door_quality(config, tmp_path, branch="b1").to_pylist()}
    assert people == {"2026-01-05": 2, "2026-01-07": 4}
    assert read_zone_table(tmp_path, ZONE_VISITS_DIR).num_rows == 1 + 5 + 1
    assert read_zone_table(tmp_path, ZONE_VISITS_DIR, ["b1"]).num_rows == 1 + 1
    # the zone KPIs list a branch's files the same way
    assert zone_compute._read(tmp_path / ZONE_VISITS_DIR, ["b1"], ZONE_VISIT_SCHEMA, ["zone_id"]).num_rows == 1 + 1
    api = Api(create_app(branch_config(tmp_path, branches=("b1", "b2")), tmp_path))
    served = {b: api.ok("/movements", params={"limit": 100, "branch": b})["rows"] for b in ("b1", "b2")}
    assert sorted(r["source_video"] for r in served["b1"]) == ["v0"] * 2 + ["v2"] * 4
    assert sorted(r["source_video"] for r in served["b2"]) == ["v1-new"] * 5
