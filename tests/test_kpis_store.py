"""compute_kpis over a real config directory and movement store; the KPI store's replace rules."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from retail_intel.config import load_config
from retail_intel.errors import ConfigError, DataError, InputError, TimeError
from retail_intel.kpis import KPI_SCHEMA, compute_kpis, kpi_path, read_kpis, write_kpis
from tests.kpi_fixtures import MON, make_config_dir, make_data_dir, movement, write_store
from tests.kpi_helpers import assert_tables_match


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    return make_config_dir(tmp_path)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return make_data_dir(tmp_path)


def test_compute_kpis_uses_shifts_promotions_events_and_stores_rows(config_dir: Path, data_dir: Path) -> None:
    result = compute_kpis(load_config(config_dir), data_dir, window_minutes=60)
    assert result.unknown_branches == ("zz",)
    rows = {(r["branch_id"], r["window_start"].hour): r for r in result.table.to_pylist()}
    assert sorted(rows) == [("b1", 9), ("b1", 10), ("b1", 11), ("b2", 14)]
    nine, ten, eleven = rows[("b1", 9)], rows[("b1", 10)], rows[("b1", 11)]
    assert (nine["visitors"], nine["passed"], nine["peak_occupancy"]) == (2, 1, 2)
    assert nine["staff_on_duty"] == 1.5  # Ann all hour, Bob 09:30-10:00
    assert nine["required_staff"] == 1 and nine["staffing_adequacy"] == 1.5  # max(1, ceil(2 / 2))
    assert ten["visitors"] == 0 and ten["staff_on_duty"] == 1.0 and ten["promotion_active"]
    assert not nine["promotion_active"] and not ten["event_active"] and eleven["event_active"]
    assert rows[("b2", 14)]["staff_on_duty"] == 0.0 and rows[("b2", 14)]["staffing_adequacy"] == 0.0
    assert result.paths == [kpi_path(data_dir, 60, "b1"), kpi_path(data_dir, 60, "b2")]
    assert_tables_match(read_kpis(data_dir, window_minutes=60), result.table)
    assert read_kpis(data_dir, branch_id="b2").num_rows == 1


def test_engines_give_the_same_stored_rows(config_dir: Path, data_dir: Path) -> None:
    config = load_config(config_dir)
    duck = compute_kpis(config, data_dir, window_minutes=30, engine="duckdb", write=False)
    polars = compute_kpis(config, data_dir, window_minutes=30, engine="polars", write=False)
    assert duck.table.schema == polars.table.schema == KPI_SCHEMA
    assert_tables_match(duck.table, polars.table)
    assert not (data_dir / "kpis").exists()


def test_recomputing_replaces_rows_and_keeps_others(config_dir: Path, data_dir: Path) -> None:
    config = load_config(config_dir)
    compute_kpis(config, data_dir, window_minutes=60)
    before = read_kpis(data_dir, branch_id="b1", window_minutes=60)
    # Two more visitors at 11:xx arrive; recompute only 11:00-12:00.
    extra = [movement("b1", "entered", MON + dt.timedelta(hours=11, minutes=m), 5) for m in (20, 40)]
    write_store(data_dir, extra, "second")
    compute_kpis(
        config,
        data_dir,
        window_minutes=60,
        branch="b1",
        start=MON + dt.timedelta(hours=11),
        end=MON + dt.timedelta(hours=12),
    )
    after = read_kpis(data_dir, branch_id="b1", window_minutes=60)
    assert after.num_rows == before.num_rows == 3  # replaced, not appended
    assert after["visitors"].to_pylist() == [2, 0, 3]
    assert after["computed_at"][0] == before["computed_at"][0]  # 09:00 row untouched
    assert after["computed_at"][2] != before["computed_at"][2]
    # The 60-minute files are separate from 30-minute ones.
    compute_kpis(config, data_dir, window_minutes=30, branch="b1")
    assert read_kpis(data_dir, branch_id="b1", window_minutes=60).num_rows == 3
    assert read_kpis(data_dir, branch_id="b1").num_rows == 3 + 6


def test_recomputing_after_a_timezone_fix_replaces_the_windows_cut_the_old_way(
    config_dir: Path, data_dir: Path
) -> None:
    # b1 was first set up in London (its day is 00:00-24:00 UTC in March), then corrected to
    # Paris (23:00-23:00 UTC): the old day's row overlaps the new one and must not stay beside it.
    compute_kpis(load_config(config_dir), data_dir, window_minutes=1440, branch="b1")
    branches = config_dir / "branches.yaml"
    branches.write_text(branches.read_text().replace("Europe/London", "Europe/Paris"))
    result = compute_kpis(load_config(config_dir), data_dir, window_minutes=1440, branch="b1")
    stored = read_kpis(data_dir, branch_id="b1", window_minutes=1440)
    assert stored["window_start"].to_pylist() == [dt.datetime(2026, 3, 1, 23, tzinfo=dt.UTC)]
    assert stored["visitors"].to_pylist() == result.table["visitors"].to_pylist() == [3]
    # windows of the same cut are still replaced one for one, and the others kept
    compute_kpis(load_config(config_dir), data_dir, window_minutes=60, branch="b1")
    compute_kpis(
        load_config(config_dir),
        data_dir,
        window_minutes=60,
        branch="b1",
        start=MON + dt.timedelta(hours=10),
        end=MON + dt.timedelta(hours=11),
    )
    assert read_kpis(data_dir, branch_id="b1", window_minutes=60)["visitors"].to_pylist() == [2, 0, 1]


def test_recomputing_drops_windows_whose_movements_moved_away(config_dir: Path, tmp_path: Path) -> None:
    # A video processed again with its start corrected from 09:00 to 13:00 replaces its movement
    # file; the batch then recomputed the day, and the 09:00 window kept the people it counted
    # before beside the new 13:00 one: the day counted them twice.
    config = load_config(config_dir)
    data = tmp_path / "redo"
    day = {"start": MON, "end": MON + dt.timedelta(days=1)}

    def video_starting(hour: int) -> None:
        start = MON + dt.timedelta(hours=hour)
        rows = [movement("b1", "entered", start + dt.timedelta(minutes=m), 5) for m in (10, 20)]
        write_store(data, rows, "video")  # the same video: its file is replaced

    video_starting(9)
    compute_kpis(config, data, window_minutes=60, branch="b1", **day)
    video_starting(13)
    compute_kpis(config, data, window_minutes=60, branch="b1", **day)
    stored = read_kpis(data, branch_id="b1", window_minutes=60)
    assert [t.hour for t in stored["window_start"].to_pylist()] == [13]
    assert stored["visitors"].to_pylist() == [2]
    # a full run over a store that no longer holds any of the branch's movements in that span
    # leaves none of its windows either; windows outside the span recomputed are kept
    compute_kpis(config, data, window_minutes=60, branch="b1", start=MON + dt.timedelta(hours=14))
    assert [t.hour for t in read_kpis(data, branch_id="b1", window_minutes=60)["window_start"].to_pylist()] == [13]
    for path in (data / "movements").rglob("*.parquet"):
        path.unlink()
    compute_kpis(config, data, window_minutes=60, branch="b1", **day)
    assert read_kpis(data, branch_id="b1", window_minutes=60).num_rows == 0


def test_a_computation_keeps_the_windows_a_later_one_stored_from_movements_it_never_saw(
    config_dir: Path, tmp_path: Path
) -> None:
    # a full `kpis` run reads the store, a batch's KPI step then adds Tuesday's movements and
    # stores Tuesday's windows, and the full run's write (from movements without Tuesday) dropped
    # them, though their movements are stored: only the write takes the lock, not the read
    from retail_intel.kpis.compute import branch_info, compute_kpis_for, read_movement_inputs

    config = load_config(config_dir)
    data = tmp_path / "store"
    write_store(data, [movement("b1", "entered", MON + dt.timedelta(hours=10), 5)], "monday")
    compute_kpis(config, data, window_minutes=60)
    read_at = dt.datetime.now(dt.UTC)
    snapshot = read_movement_inputs(data)  # the long full run has read its input
    tue = MON + dt.timedelta(days=1)
    write_store(data, [movement("b1", "entered", tue + dt.timedelta(hours=10), 5)], "tuesday")
    compute_kpis(config, data, window_minutes=60, branch="b1", start=tue, end=tue + dt.timedelta(days=1))

    def tuesday_visitors() -> int:
        stored = read_kpis(data, branch_id="b1", window_minutes=60, start=tue, end=tue + dt.timedelta(days=1))
        return sum(stored["visitors"].to_pylist())

    assert tuesday_visitors() == 1
    branches = [branch_info(b) for b in config.branches]
    compute_kpis_for(branches, data, window_minutes=60, movements=snapshot, read_at=read_at)
    assert tuesday_visitors() == 1
    # without knowing when its movements were read, a computation spares nothing (as before)
    compute_kpis_for(branches, data, window_minutes=60, movements=snapshot)
    assert tuesday_visitors() == 0


def test_read_kpis_filters_by_time_overlap(config_dir: Path, data_dir: Path) -> None:
    compute_kpis(load_config(config_dir), data_dir, window_minutes=60)
    rows = read_kpis(data_dir, start=MON + dt.timedelta(hours=10, minutes=30), end=MON + dt.timedelta(hours=14))
    assert [(r["branch_id"], r["window_start"].hour) for r in rows.to_pylist()] == [("b1", 10), ("b1", 11)]
    assert read_kpis(data_dir / "nothing-here").num_rows == 0


def test_unknown_branch_and_engine_are_errors(config_dir: Path, data_dir: Path) -> None:
    config = load_config(config_dir)
    with pytest.raises(ConfigError, match='unknown branch "b9"'):
        compute_kpis(config, data_dir, window_minutes=60, branch="b9")
    with pytest.raises(InputError, match=r"^engine must be one of duckdb, polars, got 'spark'"):
        compute_kpis(config, data_dir, window_minutes=60, engine="spark")
    # the library names its parameters; the CLI passes its flags (tests/test_kpis_cli.py)
    with pytest.raises(InputError, match=r"^end must be after start, got from "):
        compute_kpis(config, data_dir, window_minutes=60, start=MON, end=MON)


def test_a_time_without_a_timezone_is_an_error_naming_it(config_dir: Path, data_dir: Path) -> None:
    # A naive time was read as the machine's local time: other windows on a server in another timezone.
    config = load_config(config_dir)
    naive = dt.datetime(2026, 3, 2, 10)
    with pytest.raises(TimeError, match="start must carry a timezone, got 2026-03-02T10:00:00 which has none"):
        compute_kpis(config, data_dir, window_minutes=60, start=naive, write=False)
    with pytest.raises(TimeError, match="end must carry a timezone"):
        compute_kpis(config, data_dir, window_minutes=60, end=naive, write=False)
    compute_kpis(config, data_dir, window_minutes=60)
    with pytest.raises(TimeError, match="start must carry a timezone"):
        read_kpis(data_dir, window_minutes=60, start=naive)


def test_store_refuses_unsafe_ids_and_foreign_files(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="cannot be used as a file name"):
        kpi_path(tmp_path, 60, "../evil")
    bad = kpi_path(tmp_path, 60, "b1")
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"not parquet")
    with pytest.raises(DataError, match="not a readable KPI Parquet file"):
        read_kpis(tmp_path)
    assert write_kpis(KPI_SCHEMA.empty_table(), tmp_path) == []


def test_unreadable_movement_file_is_a_data_error(config_dir: Path, data_dir: Path) -> None:
    broken = data_dir / "movements" / "b1" / "2026-03-02" / "broken.parquet"
    broken.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(DataError, match=r"broken\.parquet: not a readable Parquet file"):
        compute_kpis(load_config(config_dir), data_dir, window_minutes=60)


def test_kpi_files_from_before_the_reconciled_peak_and_mean_still_read(config_dir: Path, data_dir: Path) -> None:
    config = load_config(config_dir)
    compute_kpis(config, data_dir, window_minutes=60)
    path = kpi_path(data_dir, 60, "b1")
    new_columns = ["reconciled_peak_occupancy", "reconciled_avg_occupancy"]
    pq.write_table(pq.read_table(path).drop_columns(new_columns), path)  # as written before them
    old = read_kpis(data_dir, branch_id="b1", window_minutes=60)
    assert old.schema == KPI_SCHEMA and old.num_rows == 3
    assert all(old[name].null_count == 3 for name in new_columns)
    # Recomputing one window beside the old rows fills in that window only.
    compute_kpis(
        config,
        data_dir,
        window_minutes=60,
        start=MON + dt.timedelta(hours=9),
        end=MON + dt.timedelta(hours=10),
    )
    merged = read_kpis(data_dir, branch_id="b1", window_minutes=60).to_pylist()
    assert [r["reconciled_peak_occupancy"] is None for r in merged] == [False, True, True]


@pytest.mark.parametrize("given", [60.0, True, "60"])
def test_a_window_size_that_is_not_an_int_is_refused_and_later_runs_still_work(
    config_dir: Path, data_dir: Path, given: object
) -> None:
    # 60.0 used to build float windows that were cached under 60, so the next
    # compute_kpis(window_minutes=60) in the same process crashed in numpy.
    config = load_config(config_dir)
    with pytest.raises(InputError, match=r"window_minutes must be a whole number of minutes \(an int\)"):
        compute_kpis(config, data_dir, window_minutes=given, write=False)  # type: ignore[arg-type]
    result = compute_kpis(config, data_dir, window_minutes=60, write=False)
    assert result.table.num_rows == 4


@pytest.mark.parametrize(
    ("given", "message"),
    [(60.0, r"window_minutes must be a whole number of minutes \(an int\)"), (7, r"window_minutes must divide a day")],
)
def test_reading_a_window_size_that_cannot_exist_is_refused(
    config_dir: Path, data_dir: Path, given: object, message: str
) -> None:
    # read_kpis(window_minutes=60.0) looked in a "60.0m" folder and answered with no rows
    compute_kpis(load_config(config_dir), data_dir, window_minutes=60)
    assert read_kpis(data_dir, window_minutes=60).num_rows == 4
    with pytest.raises(InputError, match=message):
        read_kpis(data_dir, window_minutes=given)  # type: ignore[arg-type]
