"""``retail-intel compact``: a branch's closed days in one file per month, read and replaced as before."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from retail_intel.demo.generate import generate_demo
from retail_intel.errors import DataError
from retail_intel.ingest import ingest_file
from retail_intel.kpis import compute
from retail_intel.movements import compacted, compaction
from retail_intel.movements.compacted import (
    COMPACTED_NAME,
    CompactedSource,
    compacted_files,
    compacted_sources,
    read_compacted,
)
from retail_intel.movements.compaction import COMPACTED_TABLES, compact_store
from retail_intel.movements.plausible import TimeLimits
from retail_intel.movements.schema import MOVEMENT_SCHEMA
from retail_intel.movements.store import movement_files, read_files, read_movements, write_movements
from retail_intel.movements.zone_store import ZONE_VISITS_DIR, read_zone_table
from retail_intel.serve import create_app
from retail_intel.sqlviews.database import query
from retail_intel.storage import MOVEMENTS_DIR, parquet_files
from tests.batch_fakes import stayer_and_passers
from tests.batch_helpers import batch, make_archive, make_config, nightly_archives, rows, write_segments
from tests.cli_helpers import run_cli
from tests.kpi_helpers import assert_tables_match
from tests.store_fixtures import (
    branch_config,
    kpi_tables,
    movement_pages,
    stored_videos,
    video_movements,
    write_three_videos,
    write_v1_again_killed_before_its_old_file_goes,
)
from tests.test_serve_support import Api

START = dt.date(2026, 2, 20)  # 20 days: February and March
DAYS = 20
BEFORE = dt.date(2026, 3, 5)


def _view_counts(config_dir: Path, data_dir: Path) -> dict[str, int]:
    return {
        view: int(query(config_dir, data_dir, f"SELECT count(*) AS n FROM {view}").column("n")[0].as_py())
        for view in ("customer_branch_movement", "zone_visits", "queue_visits", "queue_lengths")
    }


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("compact")
    summary = generate_demo(root / "config", root / "data", branches=2, days=DAYS, seed=5, start=START)
    return summary.config_dir, summary.data_dir


def test_compacting_changes_no_kpi_no_view_and_leaves_recent_days_alone(demo: tuple[Path, Path]) -> None:
    config_dir, data_dir = demo
    before = {engine: kpi_tables(config_dir, data_dir, engine) for engine in ("duckdb", "polars")}
    counts = _view_counts(config_dir, data_dir)
    files = {kind: parquet_files(data_dir / kind) for kind in COMPACTED_TABLES}

    result = compact_store(data_dir, before=BEFORE)

    for kind in COMPACTED_TABLES:
        closed = [p for p in files[kind] if dt.date.fromisoformat(p.parent.name) < BEFORE]
        months = {(p.parent.parent.name, p.parent.name[:7]) for p in closed}
        done = result.tables[kind]
        assert len(months) == 4 and len(closed) > 20  # two branches, February and March
        assert (done.files_merged, done.months_written, done.kept_newer) == (len(closed), len(months), 0)
        left = [p for p in parquet_files(data_dir / kind) if p.name != COMPACTED_NAME]
        assert left == [p for p in files[kind] if p not in closed]
    [march] = compacted_files(data_dir / MOVEMENTS_DIR, "demo-001", "2026-03")
    march_days = [p.parent.name for p in files[MOVEMENTS_DIR] if "demo-001/2026-03-0" in str(p)]
    assert [s.day for s in compacted_sources(march)] == [d for d in march_days if d < BEFORE.isoformat()]
    assert _view_counts(config_dir, data_dir) == counts
    for engine in ("duckdb", "polars"):
        after = kpi_tables(config_dir, data_dir, engine)
        for old, new in zip(before[engine], after, strict=True):
            assert new.num_rows
            compared = [n for n in new.column_names if n != "computed_at"]
            assert_tables_match(new, old, compared)  # floats to 1e-9: sums depend on row order

    again = compact_store(data_dir, before=BEFORE)
    assert again.files_merged == 0
    assert _view_counts(config_dir, data_dir) == counts


def test_regenerating_demo_data_over_a_compacted_store_does_not_double_it(tmp_path: Path) -> None:
    summary = generate_demo(tmp_path / "c", tmp_path / "d", branches=1, days=6, seed=2, start=START)
    rows = read_movements(summary.data_dir).num_rows
    visits = read_zone_table(summary.data_dir, ZONE_VISITS_DIR).num_rows
    compact_store(summary.data_dir, before=START + dt.timedelta(days=6))
    assert compacted_files(summary.data_dir / MOVEMENTS_DIR)

    generate_demo(tmp_path / "c", tmp_path / "d", branches=1, days=6, seed=2, start=START, force=True)

    assert read_movements(summary.data_dir).num_rows == rows
    assert read_zone_table(summary.data_dir, ZONE_VISITS_DIR).num_rows == visits
    assert not compacted_files(summary.data_dir / MOVEMENTS_DIR)  # every source in them was cut out


@pytest.mark.parametrize("elsewhere", [True, False])
def test_a_compacted_source_written_again_replaces_its_rows(tmp_path: Path, elsewhere: bool) -> None:
    write_three_videos(tmp_path)
    compact_store(tmp_path, before=dt.date(2026, 2, 1))
    assert movement_files(tmp_path) == compacted_files(tmp_path / MOVEMENTS_DIR)

    # v1 processed again, with other results (ingest and demo-data write with replace_elsewhere=False)
    day = dt.date(2026, 1, 6)
    write_movements(
        video_movements("b1", day, 5, "v1-new"),
        tmp_path,
        branch_id="b1",
        day=day,
        source_key="v1",
        replace_elsewhere=elsewhere,
    )

    assert stored_videos(tmp_path) == ["v0"] * 2 + ["v1-new"] * 5 + ["v2"] * 4
    [month] = compacted_files(tmp_path / MOVEMENTS_DIR)
    assert [s.key for s in compacted_sources(month)] == ["v0", "v2"]


def test_a_compacted_source_that_moved_to_another_branch_and_month_is_cut_out(tmp_path: Path) -> None:
    write_three_videos(tmp_path)
    compact_store(tmp_path, before=dt.date(2026, 2, 1))

    day = dt.date(2026, 2, 3)  # the video's start time was corrected, and its camera belongs to b2
    write_movements(video_movements("b2", day, 1, "v0-moved"), tmp_path, branch_id="b2", day=day, source_key="v0")

    assert stored_videos(tmp_path) == ["v0-moved"] + ["v1"] * 3 + ["v2"] * 4


def test_compacting_takes_new_days_into_the_month_and_a_rewritten_day_replaces_its_merged_copy(tmp_path: Path) -> None:
    write_three_videos(tmp_path)
    compact_store(tmp_path, before=dt.date(2026, 1, 7))  # v2's day stays open
    [month] = compacted_files(tmp_path / MOVEMENTS_DIR)
    assert [s.key for s in compacted_sources(month)] == ["v0", "v1"]

    result = compact_store(tmp_path, before=dt.date(2026, 2, 1))

    assert result.tables[MOVEMENTS_DIR].files_merged == 1
    assert [s.key for s in compacted_sources(month)] == ["v0", "v1", "v2"]
    assert stored_videos(tmp_path) == ["v0"] * 2 + ["v1"] * 3 + ["v2"] * 4


def test_a_source_written_again_while_it_is_merged_is_kept_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_three_videos(tmp_path)
    day = dt.date(2026, 1, 6)

    def read_then_rewrite(files: list[Path], schema: pa.Schema, what: str) -> pa.Table:
        table = read_files(files, schema, what)
        if files[0].stem == "v1":  # a batch worker replaces v1 right after it was read for merging
            write_movements(video_movements("b1", day, 6, "v1-new"), tmp_path, branch_id="b1", day=day, source_key="v1")
        return table

    monkeypatch.setattr(compaction, "read_files", read_then_rewrite)
    result = compact_store(tmp_path, before=dt.date(2026, 2, 1))

    assert (result.tables[MOVEMENTS_DIR].files_merged, result.tables[MOVEMENTS_DIR].kept_newer) == (2, 1)
    assert stored_videos(tmp_path) == ["v0"] * 2 + ["v1-new"] * 6 + ["v2"] * 4
    assert (tmp_path / MOVEMENTS_DIR / "b1" / day.isoformat() / "v1.parquet").exists()
    [month] = compacted_files(tmp_path / MOVEMENTS_DIR)
    assert [s.key for s in compacted_sources(month)] == ["v0", "v2"]


def test_ingesting_a_file_again_after_compaction_adds_nothing(tmp_path: Path) -> None:
    config_dir = branch_config(tmp_path)
    rows = [
        {
            "customer_id": str(uuid.UUID(int=n + 1)),
            "branch_id": "b1",
            "enter_time": f"2026-02-0{n + 1}T10:00:00Z",
            "exit_time": f"2026-02-0{n + 1}T10:05:00Z",
            "action_type": "entered",
        }
        for n in range(3)
    ]
    source = tmp_path / "e.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in rows))
    data_dir = tmp_path / "data"
    ingest_file(source, config_dir=config_dir, data_dir=data_dir)
    compact_store(data_dir, before=dt.date(2026, 3, 1))

    again = ingest_file(source, config_dir=config_dir, data_dir=data_dir)

    assert (again.accepted, again.already_present) == (0, 3)
    assert read_movements(data_dir).num_rows == 3


def test_a_compacted_file_whose_source_list_does_not_match_its_rows_is_named(tmp_path: Path) -> None:
    write_three_videos(tmp_path)
    compact_store(tmp_path, before=dt.date(2026, 2, 1))
    [month] = compacted_files(tmp_path / MOVEMENTS_DIR)
    month.write_bytes(b"not parquet")

    with pytest.raises(DataError, match=r"compacted\.parquet: not a compacted file of this store"):
        write_movements(
            video_movements("b1", dt.date(2026, 1, 5), 1, "x"),
            tmp_path,
            branch_id="b1",
            day=dt.date(2026, 1, 5),
            source_key="v0",
        )


def test_the_command_reports_per_table_and_refuses_a_bad_date(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_three_videos(tmp_path)

    done = run_cli(
        ["compact", "--data-dir", str(tmp_path), "--before", "2026-02-01", "-f", "json"], capsys, monkeypatch
    )
    bad = run_cli(["compact", "--data-dir", str(tmp_path), "--before", "2026-02-30"], capsys, monkeypatch)
    nothing = run_cli(["compact", "--data-dir", str(tmp_path), "--before", "2026-02-01"], capsys, monkeypatch)

    assert done.exit_code == 0
    tables = {t["table"]: t for t in json.loads(done.stdout)["tables"]}
    assert (tables["movements"]["files_merged"], tables["movements"]["rows"]) == (3, 9)
    assert tables["zone_visits"]["files_merged"] == 0
    assert bad.exit_code == 1 and "--before: expected a date YYYY-MM-DD, got '2026-02-30'" in bad.stderr
    assert nothing.exit_code == 0 and "nothing to compact" in nothing.stderr


def test_a_branch_with_no_files_is_named_not_reported_as_nothing_to_compact(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # a typo in --branch said only "nothing to compact", as if the branch were up to date; it is named
    # with the branches that have data, but exits 0: a branch that has recorded nothing yet looks the
    # same to compact (it reads no config), and a nightly loop over the branches must not fail on it
    write_three_videos(tmp_path)
    typo = run_cli(["compact", "--data-dir", str(tmp_path), "--branch", "b11"], capsys, monkeypatch)
    assert typo.exit_code == 0 and "Traceback" not in typo.stderr
    assert f"branch b11: {tmp_path} holds no files of branch b11 (branches with data: b1)" in typo.stderr
    as_json = run_cli(["compact", "--data-dir", str(tmp_path), "--branch", "b11", "-f", "json"], capsys, monkeypatch)
    assert "holds no files of branch b11" in json.loads(as_json.stdout)["note"]
    known = run_cli(["compact", "--data-dir", str(tmp_path), "--branch", "b1", "-f", "json"], capsys, monkeypatch)
    assert known.exit_code == 0


def test_help_shows_an_example(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    shown = run_cli(["compact", "--help"], capsys, monkeypatch)
    assert shown.exit_code == 0
    assert "Example: retail-intel compact --before 2026-03-01" in shown.stdout and "--branch" in shown.stdout


def test_serve_answers_the_same_from_a_compacted_store(tmp_path: Path) -> None:
    summary = generate_demo(tmp_path / "c", tmp_path / "d", branches=1, days=5, seed=4, start=dt.date(2026, 2, 26))

    before = movement_pages(Api(create_app(summary.config_dir, summary.data_dir)))
    compact_store(summary.data_dir, before=dt.date(2026, 4, 1))
    assert len(compacted_files(summary.data_dir / MOVEMENTS_DIR)) == 2  # February and March

    api = Api(create_app(summary.config_dir, summary.data_dir))
    assert before and movement_pages(api) == before
    assert api.ok("/health")["counts"]["movements"] == len(before)


def test_ingesting_a_file_again_after_compaction_keeps_its_rows_and_adds_those_now_valid(tmp_path: Path) -> None:
    config_dir = branch_config(tmp_path)
    short = {"enter_time": "2026-02-02T10:00:00Z", "exit_time": "2026-02-02T10:05:00Z"}
    long = {"enter_time": "2026-02-02T11:00:00Z", "exit_time": "2026-02-02T13:30:00Z"}  # 2.5 h
    rows = [
        {"customer_id": str(uuid.UUID(int=n + 1)), "branch_id": "b1", "action_type": "entered", **times}
        for n, times in enumerate((short, long))
    ]
    source = tmp_path / "e.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in rows))
    data_dir = tmp_path / "data"
    first = ingest_file(
        source, config_dir=config_dir, data_dir=data_dir, limits=TimeLimits(max_dwell=dt.timedelta(hours=1))
    )
    compact_store(data_dir, before=dt.date(2026, 3, 1))

    again = ingest_file(source, config_dir=config_dir, data_dir=data_dir)  # the 2.5 h visit is valid now

    assert (first.accepted, first.rejected, again.accepted, again.already_present) == (1, 1, 1, 1)
    assert sorted(read_movements(data_dir).column("customer_id").to_pylist()) == [r["customer_id"] for r in rows]


def _crash(*args: object, **kwargs: object) -> bool:
    raise KeyboardInterrupt  # the process is killed here


def test_a_compact_killed_after_writing_a_month_is_healed_by_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_three_videos(tmp_path)
    with monkeypatch.context() as patched:
        patched.setattr(compaction, "_remove_merged", _crash)
        with pytest.raises(KeyboardInterrupt):
            compact_store(tmp_path, before=dt.date(2026, 2, 1))
    # every row twice on disk, in the month and in its own file; readers take each video's own file
    [month] = compacted_files(tmp_path / MOVEMENTS_DIR)
    assert [s.key for s in compacted_sources(month)] == ["v0", "v1", "v2"] and len(movement_files(tmp_path)) == 4
    assert stored_videos(tmp_path) == ["v0"] * 2 + ["v1"] * 3 + ["v2"] * 4

    result = compact_store(tmp_path, before=dt.date(2026, 1, 6))  # a --before that covers none of those days

    assert result.tables[MOVEMENTS_DIR].healed == 3
    assert stored_videos(tmp_path) == ["v0"] * 2 + ["v1"] * 3 + ["v2"] * 4


def test_files_a_killed_compact_left_renamed_aside_are_put_back(tmp_path: Path) -> None:
    write_three_videos(tmp_path)
    compact_store(tmp_path, before=dt.date(2026, 1, 6))  # v0 merged, v1 and v2 not
    own = tmp_path / MOVEMENTS_DIR / "b1" / "2026-01-06" / "v1.parquet"
    own.rename(own.with_name(".v1.parquet.4242.merged"))  # killed between rename and check

    compact_store(tmp_path, before=dt.date(2026, 1, 6))

    assert own.is_file() and not list(own.parent.glob(".*"))
    assert stored_videos(tmp_path) == ["v0"] * 2 + ["v1"] * 3 + ["v2"] * 4


def test_a_writer_killed_before_cutting_a_moved_source_is_healed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_three_videos(tmp_path)
    compact_store(tmp_path, before=dt.date(2026, 2, 1))
    day = dt.date(2026, 3, 2)  # v2 re-processed under another month, killed before its cut
    with monkeypatch.context() as patched:
        patched.setattr("retail_intel.movements.store.drop_compacted_source", _crash)
        with pytest.raises(KeyboardInterrupt):
            write_movements(video_movements("b1", day, 1, "v2-new"), tmp_path, branch_id="b1", day=day, source_key="v2")

    compact_store(tmp_path, before=dt.date(2026, 1, 1))

    assert stored_videos(tmp_path) == ["v0"] * 2 + ["v1"] * 3 + ["v2-new"]


def test_a_writer_killed_before_removing_a_moved_source_s_old_file_is_healed_not_merged_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_three_videos(tmp_path)
    old = write_v1_again_killed_before_its_old_file_goes(tmp_path, monkeypatch)
    assert old.is_file()

    result = compact_store(tmp_path, before=dt.date(2026, 2, 1))

    assert result.tables[MOVEMENTS_DIR].healed == 1 and not old.exists()
    [month] = compacted_files(tmp_path / MOVEMENTS_DIR)
    assert sorted(s.key for s in compacted_sources(month)) == ["v0", "v1", "v2"]
    assert stored_videos(tmp_path) == ["v0"] * 2 + ["v1-new"] * 5 + ["v2"] * 4


def test_a_batch_run_again_after_compaction_skips_its_videos(tmp_path: Path) -> None:
    make_config(tmp_path)
    archive = make_archive(tmp_path)
    first = batch(archive, tmp_path)
    reference = rows(tmp_path / "data")
    compact_store(tmp_path / "data", before=dt.date(2026, 3, 1))
    assert compacted_files(tmp_path / "data" / MOVEMENTS_DIR)

    again = batch(archive, tmp_path)

    assert first.done == 6 and again.skipped == 6 and again.done == 0
    assert rows(tmp_path / "data") == reference


def test_a_later_batch_takes_people_over_from_a_compacted_segment(tmp_path: Path) -> None:
    make_config(tmp_path)
    segments = write_segments(tmp_path / "all" / "b1" / "door", "door", stayer_and_passers, count=3)
    for night in nightly_archives(tmp_path, segments):
        assert batch(night, tmp_path).done == 1
        compact_store(tmp_path / "data", before=dt.date(2026, 3, 1))  # each night's file merged at once

    batch(tmp_path / "all", tmp_path, data="together")
    assert rows(tmp_path / "data") == rows(tmp_path / "together")
    assert len(movement_files(tmp_path / "data")) == 1  # the month


def test_a_file_set_aside_is_not_put_back_over_a_newer_copy_elsewhere(tmp_path: Path) -> None:
    write_three_videos(tmp_path)
    compact_store(tmp_path, before=dt.date(2026, 2, 1))
    # a compact killed right after renaming v1 aside (its month still holds v1) ...
    aside = tmp_path / MOVEMENTS_DIR / "b1" / "2026-01-06" / ".v1.parquet.4242.merged"
    aside.parent.mkdir()
    pq.write_table(video_movements("b1", dt.date(2026, 1, 6), 3, "v1"), aside)
    # ... then v1 processed again under another day, which cuts it out of the month
    day = dt.date(2026, 2, 3)
    write_movements(video_movements("b1", day, 1, "v1-new"), tmp_path, branch_id="b1", day=day, source_key="v1")

    compact_store(tmp_path, before=dt.date(2026, 1, 1))

    assert not aside.exists()
    assert stored_videos(tmp_path) == ["v0"] * 2 + ["v1-new"] + ["v2"] * 4


def test_a_batch_does_its_videos_again_when_their_month_is_gone(tmp_path: Path) -> None:
    make_config(tmp_path)
    segments = write_segments(tmp_path / "all" / "b1" / "door", "door", stayer_and_passers, count=3)
    for night in nightly_archives(tmp_path, segments):
        assert batch(night, tmp_path).done == 1
        compact_store(tmp_path / "data", before=dt.date(2026, 3, 1))
    reference = rows(tmp_path / "data")
    for month in compacted_files(tmp_path / "data" / MOVEMENTS_DIR):
        month.unlink()  # lost output

    again = batch(tmp_path / "all", tmp_path)

    assert again.done == 3
    assert rows(tmp_path / "data") == reference


def test_kpis_list_the_store_again_when_a_file_went_between_listing_and_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_three_videos(tmp_path)
    listed = compute.movement_files
    calls = []

    def merged_meanwhile(data_dir: Path) -> list[Path]:
        calls.append(data_dir)
        found = listed(data_dir)
        # the first listing still names a day file that ``compact`` has since merged
        return [*found, tmp_path / MOVEMENTS_DIR / "b1" / "2026-01-04" / "gone.parquet"] if len(calls) == 1 else found

    monkeypatch.setattr(compute, "movement_files", merged_meanwhile)
    table = compute.read_movement_inputs(tmp_path)

    assert len(calls) == 2 and table.num_rows == 9


def test_a_month_is_cut_by_its_own_source_list_not_a_cached_one(tmp_path: Path) -> None:
    write_three_videos(tmp_path)
    compact_store(tmp_path, before=dt.date(2026, 2, 1))
    [month] = compacted_files(tmp_path / MOVEMENTS_DIR)
    stat = month.stat()
    # a cached list of an earlier version that shared inode, size and time with this one
    wrong = [
        CompactedSource("v2", "2026-01-07", 4),
        CompactedSource("v1", "2026-01-06", 3),
        CompactedSource("v0", "2026-01-05", 2),
    ]
    compacted._footers[month] = ((stat.st_ino, stat.st_mtime_ns, stat.st_size), wrong)

    pieces = read_compacted(month, MOVEMENT_SCHEMA)

    assert [(s.key, set(t.column("source_video").to_pylist())) for s, t in pieces] == [
        ("v0", {"v0"}),
        ("v1", {"v1"}),
        ("v2", {"v2"}),
    ]
