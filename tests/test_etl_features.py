"""run_etl and build_features against hand-computed features (tests/etl_fixtures.py)."""

from __future__ import annotations

import datetime as dt
import itertools
import shutil
import statistics
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from retail_intel.config import load_config
from retail_intel.errors import ConfigError, DataError, InputError, TimeError
from retail_intel.etl import (
    FEATURE_COLUMNS,
    FEATURE_SCHEMA,
    BranchFacts,
    build_features,
    feature_path,
    read_features,
    run_etl,
)
from retail_intel.etl import run as etl_run
from retail_intel.kpis import read_kpis
from retail_intel.kpis.compute import compute_kpis
from tests.etl_fixtures import FRI, HOUR, MOVES, SAT, make_dirs, write_config, write_moves

FEB27 = FRI - 7 * 24 * HOUR


def _rows(data_dir: Path, branch: str) -> dict[dt.datetime, dict[str, Any]]:
    return {row["window_start"]: row for row in read_features(data_dir, branch).to_pylist()}


@pytest.fixture
def etl_dirs(tmp_path: Path) -> tuple[Path, Path]:
    config, data = make_dirs(tmp_path)
    run_etl(load_config(config), data)
    return config, data


def test_every_active_branch_gets_one_row_per_hourly_kpi_window(etl_dirs: tuple[Path, Path]) -> None:
    _, data = etl_dirs
    b1 = read_features(data, "b1")
    # Fri 27 Feb 10:00 to Sat 7 Mar 10:00 UTC, empty hours included: 8 days + 1 hour.
    assert b1.num_rows == 8 * 24 + 1
    assert b1.schema == FEATURE_SCHEMA
    assert read_features(data, "b2").num_rows == 24  # Fri 09:00 to Sat 08:00 UTC
    assert not feature_path(data, "b3").exists()  # inactive: left alone
    kpi_starts = read_kpis(data, "b1", window_minutes=60)["window_start"].to_pylist()
    assert b1["window_start"].to_pylist() == kpi_starts


def test_lags_rolling_means_and_neighbor_traffic_by_hand(etl_dirs: tuple[Path, Path]) -> None:
    _, data = etl_dirs
    b1 = _rows(data, "b1")
    ten = b1[FRI + 10 * HOUR]
    assert (ten["visitors"], ten["passed"]) == (3, 0)
    assert ten["visitors_lag_1h"] == 1  # Fri 09:00
    assert ten["visitors_lag_24h"] == 2  # Thu 10:15 and 10:45
    assert ten["visitors_lag_168h"] == 1  # Fri 27 Feb 10:05
    assert ten["visitors_mean_3h"] == pytest.approx((0 + 0 + 1) / 3)  # 07:00, 08:00, 09:00
    assert ten["visitors_mean_24h"] == pytest.approx((2 + 1) / 24)  # Thu 10:00 .. Fri 09:00
    assert ten["visitors_mean_168h"] == pytest.approx((1 + 2 + 1) / 168)  # Fri 27 Feb 10:00 .. Fri 09:00
    assert ten["neighbor_visitors"] == 2.0  # b2 at 10:00 UTC
    assert ten["visitors_next_hour"] == 0  # nobody at 11:00

    nine = b1[FRI + 9 * HOUR]
    assert (nine["visitors"], nine["passed"], nine["conversion_proxy"]) == (1, 1, 0.5)
    assert nine["neighbor_visitors"] == 4.0
    assert nine["visitors_next_hour"] == 3

    noon = b1[FRI + 12 * HOUR]
    assert noon["visitors"] == 2
    assert noon["visitors_mean_3h"] == pytest.approx((1 + 3 + 0) / 3)
    assert noon["neighbor_visitors"] == 0.0  # b2 has a row at 12:00, with nobody in it

    first = b1[FEB27 + 10 * HOUR]
    for name in ("visitors_lag_1h", "visitors_lag_24h", "visitors_lag_168h", "visitors_mean_3h", "neighbor_visitors"):
        assert first[name] is None, name  # nothing before the first hour; b2 has no row then
    assert first["visitors_next_hour"] == 0
    assert b1[FRI + 8 * HOUR]["neighbor_visitors"] is None  # b2's series starts at 09:00 UTC
    last = b1[SAT + 10 * HOUR]
    assert last["visitors_next_hour"] is None
    assert last["visitors_lag_24h"] == 3  # Fri 10:00

    b2 = _rows(data, "b2")
    assert b2[FRI + 9 * HOUR]["neighbor_visitors"] == 1.0  # b1 at 09:00 UTC
    assert b2[FRI + 9 * HOUR]["visitors_lag_1h"] is None
    # Only one of the three hours before exists: the mean is over the rows present.
    assert b2[FRI + 10 * HOUR]["visitors_mean_3h"] == 4.0
    assert b2[FRI + 10 * HOUR]["visitors_lag_1h"] == 4


def test_calendar_and_flags_by_hand(etl_dirs: tuple[Path, Path]) -> None:
    _, data = etl_dirs
    b1 = _rows(data, "b1")
    flags = ("is_weekend", "is_holiday", "promotion_active", "event_active", "is_open")

    def of(row: dict[str, Any]) -> tuple[Any, ...]:
        return (row["local_date"], row["hour_of_day"], row["weekday"], *(row[f] for f in flags))

    fri = FRI.date()
    sat = SAT.date()
    assert of(b1[FRI + 8 * HOUR]) == (fri, 8, 4, False, False, False, False, False)  # opens 09:00
    assert of(b1[FRI + 10 * HOUR]) == (fri, 10, 4, False, False, True, False, True)  # offer from 10:30
    assert of(b1[FRI + 11 * HOUR]) == (fri, 11, 4, False, False, True, False, True)
    assert of(b1[FRI + 12 * HOUR]) == (fri, 12, 4, False, False, False, False, True)  # offer ended at 12:00
    assert of(b1[FRI + 17 * HOUR]) == (fri, 17, 4, False, False, False, False, True)  # open until 17:30
    assert of(b1[FRI + 18 * HOUR]) == (fri, 18, 4, False, False, False, False, False)
    assert of(b1[SAT + 9 * HOUR]) == (sat, 9, 5, True, True, False, False, False)  # Saturday opens 10:00
    assert of(b1[SAT + 10 * HOUR]) == (sat, 10, 5, True, True, False, False, True)

    b2 = _rows(data, "b2")  # Berlin: UTC+1
    assert of(b2[FRI + 9 * HOUR]) == (fri, 10, 4, False, False, False, False, True)
    # 23:00 UTC Friday is midnight Saturday in Berlin; the fair is a b1 holiday only.
    assert of(b2[FRI + 23 * HOUR]) == (sat, 0, 5, True, False, False, False, False)
    assert of(b2[SAT + 7 * HOUR]) == (sat, 8, 5, True, False, False, False, True)
    assert of(b2[SAT + 8 * HOUR]) == (sat, 9, 5, True, False, False, True, True)  # the market


def test_running_twice_gives_identical_files(tmp_path: Path) -> None:
    config, data = make_dirs(tmp_path)
    loaded = load_config(config)
    first = run_etl(loaded, data)
    before = {p: p.read_bytes() for p in first.feature_paths}
    second = run_etl(loaded, data, engine="polars")
    assert sorted(second.feature_paths) == sorted(before)
    assert {p: p.read_bytes() for p in second.feature_paths} == before
    assert (first.kpi_windows, first.feature_rows) == (second.kpi_windows, second.feature_rows) == (217, 217)


def test_range_run_replaces_the_range_and_the_hours_that_read_it(tmp_path: Path) -> None:
    config, data = make_dirs(tmp_path)
    loaded = load_config(config)
    run_etl(loaded, data)
    before = _rows(data, "b1")
    late = (("b1", "entered", 12 * 60 + 40),)  # a third visitor at Fri 12:00
    write_moves(data, late, "late")

    result = run_etl(loaded, data, start=FRI + 12 * HOUR, end=FRI + 13 * HOUR)
    assert result.kpi_windows == 2  # 12:00 UTC at b1 and at b2
    after = _rows(data, "b1")
    assert set(after) == set(before)  # replaced, never duplicated
    assert after[FRI + 12 * HOUR]["visitors"] == 3
    assert after[FRI + 13 * HOUR]["visitors_lag_1h"] == 3
    assert after[FRI + 11 * HOUR]["visitors_next_hour"] == 3
    assert after[SAT + 10 * HOUR]["visitors_mean_24h"] == pytest.approx((3 + 3) / 24)  # Fri 10:00 and 12:00
    assert _rows(data, "b2")[FRI + 12 * HOUR]["neighbor_visitors"] == 3.0
    untouched = FRI + 10 * HOUR  # before 11:00: nothing it reads changed
    assert after[untouched] == before[untouched]

    # And the result equals a full run over the same movements from scratch.
    fresh = tmp_path / "fresh"
    shutil.copytree(data / "movements", fresh / "movements")
    run_etl(loaded, fresh)
    for branch in ("b1", "b2"):
        assert read_features(data, branch) == read_features(fresh, branch)


def test_nightly_range_runs_after_a_full_run_equal_one_full_run(tmp_path: Path) -> None:
    # Each night stores the day just ended with --from/--to. The hours between the
    # previous night's last movement and --from are empty; they must be stored too,
    # or the trailing means of the next day average over too few hours.
    loaded = load_config(write_config(tmp_path / "config"))
    thu = FRI - 24 * HOUR
    nights = [thu, FRI, SAT, SAT + 24 * HOUR]
    nightly, full = tmp_path / "nightly", tmp_path / "full"

    def moves_of(lo: dt.datetime, hi: dt.datetime) -> tuple[tuple[str, str, float], ...]:
        return tuple(m for m in MOVES if lo <= FRI + dt.timedelta(minutes=m[2]) < hi)

    write_moves(nightly, moves_of(FEB27 - 24 * HOUR, thu), "before")
    run_etl(loaded, nightly)  # the first run is over everything
    for night, next_night in itertools.pairwise(nights):
        write_moves(nightly, moves_of(night, next_night), f"night{night:%d}")
        run_etl(loaded, nightly, start=night, end=next_night)
    write_moves(full, MOVES, "all")
    run_etl(loaded, full)

    for branch in ("b1", "b2"):
        assert read_features(nightly, branch) == read_features(full, branch)
        stored = [read_kpis(d, branch, 60).drop_columns(["computed_at"]) for d in (nightly, full)]
        assert stored[0].num_rows > 0 and stored[0] == stored[1]


@pytest.mark.parametrize("between", ["kpis", "stopped"])
def test_hours_stored_without_features_get_them_from_the_next_range_run(
    between: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # After a full run to Thursday, Friday's movements arrive. Before the nightly range run,
    # `kpis --window 60m` stores the hourly KPIs (or an etl run stops between its KPI and
    # feature writes): the empty hours from Thursday's last movement to Friday 00:00 are
    # then stored KPIs, so the range run no longer starts there, and they got no feature row.
    loaded = load_config(write_config(tmp_path / "config"))
    data, full = tmp_path / "data", tmp_path / "full"
    thu = FRI - 24 * HOUR
    write_moves(data, tuple(m for m in MOVES if m[2] < -24 * 60 + 11 * 60), "before")  # to Thu 10:45
    run_etl(loaded, data)
    write_moves(data, tuple(m for m in MOVES if -24 * 60 + 11 * 60 <= m[2] < 24 * 60), "friday")
    if between == "kpis":
        compute_kpis(loaded, data, window_minutes=60)
    else:
        with monkeypatch.context() as patched:
            patched.setattr(etl_run, "write_branch_features", _stop)
            with pytest.raises(KeyboardInterrupt):
                run_etl(loaded, data, start=FRI, end=SAT)

    run_etl(loaded, data, start=FRI, end=SAT)

    write_moves(full, tuple(m for m in MOVES if m[2] < 24 * 60), "all")
    run_etl(loaded, full)
    for branch in ("b1", "b2"):
        assert read_features(data, branch) == read_features(full, branch)
    assert _rows(data, "b1")[thu + 12 * HOUR]["visitors"] == 0  # an empty hour after Thursday's last movement


def test_hours_recomputed_by_kpis_after_late_movements_are_refreshed_by_the_next_range_run(tmp_path: Path) -> None:
    # A late movement for Friday 12:00 arrives after the full run; `kpis --window 60m` stores
    # Friday's new counts, then the nightly etl covers Saturday only. Friday's feature rows
    # (and the lags and means that read Friday) must follow the stored KPI rows.
    loaded = load_config(write_config(tmp_path / "config"))
    data, full = tmp_path / "data", tmp_path / "full"
    late = (("b1", "entered", 12 * 60 + 40),)
    for directory in (data, full):
        write_moves(directory, MOVES, "base")
    run_etl(loaded, data)
    write_moves(data, late, "late")
    compute_kpis(loaded, data, window_minutes=60)

    run_etl(loaded, data, start=SAT, end=SAT + 24 * HOUR)

    write_moves(full, late, "late")
    run_etl(loaded, full)
    assert _rows(data, "b1")[FRI + 12 * HOUR]["visitors"] == 3
    assert _rows(data, "b2")[FRI + 12 * HOUR]["neighbor_visitors"] == 3.0
    for branch in ("b1", "b2"):
        assert read_features(data, branch) == read_features(full, branch)


def _stop(*args: object, **kwargs: object) -> None:
    raise KeyboardInterrupt


def test_one_branch_and_an_inactive_branch_by_name(tmp_path: Path) -> None:
    config, data = make_dirs(tmp_path)
    loaded = load_config(config)
    only = run_etl(loaded, data, branch="b2")
    assert only.branches == ("b2",)
    assert not feature_path(data, "b1").exists()
    # b1 has no stored KPIs yet, so b2 has no neighbor traffic.
    assert all(v is None for v in read_features(data, "b2")["neighbor_visitors"].to_pylist())
    named = run_etl(loaded, data, branch="b3")  # inactive, but asked for by name
    assert named.feature_rows == 1 and feature_path(data, "b3").exists()
    with pytest.raises(ConfigError, match='unknown branch "nope"'):
        run_etl(loaded, data, branch="nope")


def test_bad_arguments_and_an_empty_store(tmp_path: Path) -> None:
    config, data = make_dirs(tmp_path)
    loaded = load_config(config)
    with pytest.raises(InputError, match=r"^end must be after start, got start "):
        run_etl(loaded, data, start=FRI, end=FRI)
    with pytest.raises(TimeError, match="start must carry a timezone"):  # not the machine's local time
        run_etl(loaded, data, start=FRI.replace(tzinfo=None))
    with pytest.raises(TimeError, match="end must carry a timezone"):
        read_features(data, end=FRI.replace(tzinfo=None))
    with pytest.raises(InputError, match=r"^engine must be one of duckdb, polars, got 'pandas'"):
        run_etl(loaded, data, engine="pandas")
    with pytest.raises(DataError, match=r"nothing: no such directory; check data_dir$"):
        run_etl(loaded, tmp_path / "nothing")  # a mistyped --data-dir is named, not read as "no data"
    (tmp_path / "fresh" / "movements").mkdir(parents=True)
    empty = run_etl(loaded, tmp_path / "fresh")
    assert (empty.kpi_windows, empty.feature_rows, empty.feature_paths) == (0, 0, [])


# ---------------------------------------------------------------- build_features alone


def _kpis(rows: list[tuple[str, dt.datetime, int]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "branch_id": [b for b, _, _ in rows],
            "window_start": [t for _, t, _ in rows],
            "window_end": [t + HOUR for _, t, _ in rows],
            "visitors": [v for _, _, v in rows],
            "passed": [0 for _ in rows],
            "conversion_proxy": [None for _ in rows],
            "promotion_active": [False for _ in rows],
            "event_active": [False for _ in rows],
        },
        schema_overrides={"window_start": pl.Datetime("us", "UTC"), "window_end": pl.Datetime("us", "UTC")},
    )


def test_local_hours_follow_a_daylight_saving_change() -> None:
    # London springs forward at 01:00 UTC on Sunday 29 March 2026: local 00:00, then 02:00.
    sunday = dt.datetime(2026, 3, 29, tzinfo=dt.UTC)
    rows = [("b", sunday + h * HOUR, h) for h in range(3)]
    out = build_features(_kpis(rows), [BranchFacts("b", "Europe/London", opening={6: (120, 180)})])
    assert out["hour_of_day"].to_list() == [0, 2, 3]
    assert out["is_open"].to_list() == [False, True, False]  # Sunday 02:00-03:00 local
    assert out.columns == list(FEATURE_COLUMNS)


_hours = st.lists(st.integers(0, 400), min_size=1, max_size=60, unique=True)


@settings(max_examples=40, deadline=None)
@given(a=_hours, b=_hours, values=st.lists(st.integers(0, 50), min_size=120, max_size=120))
def test_lags_means_and_neighbors_match_brute_force(a: list[int], b: list[int], values: list[int]) -> None:
    start = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)
    series = {
        "a": {h: values[i % len(values)] for i, h in enumerate(sorted(a))},
        "b": {h: values[(i + 7) % len(values)] for i, h in enumerate(sorted(b))},
    }
    rows = [(branch, start + h * HOUR, v) for branch, hours in series.items() for h, v in hours.items()]
    facts = [BranchFacts("a", neighbors=("b",)), BranchFacts("b")]
    out = build_features(_kpis(rows), facts).to_dicts()
    assert [(r["branch_id"], r["window_start"]) for r in out] == sorted((br, t) for br, t, _ in rows)
    for row in out:
        own = series[row["branch_id"]]
        h = int((row["window_start"] - start) / HOUR)
        for lag in (1, 24, 168):
            assert row[f"visitors_lag_{lag}h"] == own.get(h - lag)
        for span in (3, 24, 168):
            before = [v for k, v in own.items() if h - span <= k < h]
            expected = statistics.fmean(before) if before else None
            assert row[f"visitors_mean_{span}h"] == (None if expected is None else pytest.approx(expected))
        assert row["visitors_next_hour"] == own.get(h + 1)
        neighbor = series["b"].get(h) if row["branch_id"] == "a" else None
        assert row["neighbor_visitors"] == (None if neighbor is None else float(neighbor))


def test_etl_drops_kpi_windows_whose_movements_moved_away(tmp_path: Path) -> None:
    # as compute_kpis: a video redone with its start corrected from 09:00 to 13:00 left the 09:00
    # window in the KPI store, with the people it had counted, beside the new 13:00 one
    from tests.kpi_fixtures import MON, make_config_dir, movement, write_store

    config = load_config(make_config_dir(tmp_path))
    data = tmp_path / "redo"
    day = {"start": MON, "end": MON + dt.timedelta(days=1)}

    def video_starting(hour: int) -> None:
        start = MON + dt.timedelta(hours=hour)
        write_store(data, [movement("b1", "entered", start + dt.timedelta(minutes=m), 5) for m in (10, 20)], "video")

    video_starting(9)
    run_etl(config, data, branch="b1", **day)
    video_starting(13)
    run_etl(config, data, branch="b1", **day)
    stored = read_kpis(data, branch_id="b1", window_minutes=60)
    assert [t.hour for t in stored["window_start"].to_pylist()] == [13]
    assert stored["visitors"].to_pylist() == [2]
    # and the feature rows built from them
    assert [(t.hour, n) for t, n in sorted(_visitors(data, "b1"))] == [(13, 2)]
    # a branch whose movements all left the range keeps no windows nor features there
    video_starting(30)  # the next day, outside the range run again
    run_etl(config, data, branch="b1", **day)
    assert read_kpis(data, branch_id="b1", window_minutes=60).num_rows == 0
    assert _visitors(data, "b1") == []


def _visitors(data: Path, branch: str) -> list[tuple[dt.datetime, int]]:
    return [(row["window_start"], row["visitors"]) for row in read_features(data, branch).to_pylist()]
