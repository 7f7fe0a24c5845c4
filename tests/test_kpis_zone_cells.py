"""The zone KPIs' cells: every row lands in the window the branch KPIs would give its time, and the
branch and zone KPIs computed from one read equal those computed apart."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from retail_intel.config.loader import load_config
from retail_intel.demo.generate import generate_demo
from retail_intel.kpis.compute import compute_kpis
from retail_intel.kpis.zone_compute import ZONE_ENGINES, compute_zone_kpis
from retail_intel.kpis.zone_inputs import block_sizes_us, prepare_zone_inputs, window_bounds
from retail_intel.kpis.zone_schema import QUEUE_KPI_SCHEMA, ZONE_KPI_SCHEMA
from retail_intel.movements.schema import MOVEMENT_SCHEMA
from retail_intel.movements.zone_schema import QUEUE_LENGTH_SCHEMA, QUEUE_VISIT_SCHEMA, ZONE_VISIT_SCHEMA
from tests.kpi_helpers import assert_tables_match

UTC = dt.UTC
# London changes clocks; Kolkata (+5:30) and Kathmandu (+5:45) sit off the hour; Monrovia was
# 44 min 30 s behind UTC until 1972, so no minute block fits its windows and 1 s blocks are used.
_ZONES = {
    "london": (ZoneInfo("Europe/London"), dt.datetime(2026, 3, 28, 20, tzinfo=UTC)),
    "kolkata": (ZoneInfo("Asia/Kolkata"), dt.datetime(2026, 3, 28, 20, tzinfo=UTC)),
    "kathmandu": (ZoneInfo("Asia/Kathmandu"), dt.datetime(2026, 3, 28, 20, tzinfo=UTC)),
    "monrovia": (ZoneInfo("Africa/Monrovia"), dt.datetime(1971, 6, 1, tzinfo=UTC)),
}


def _visits(branch: str, times: list[dt.datetime]) -> pa.Table:
    rows = [
        {"customer_id": "x", "branch_id": branch, "camera_id": "c1", "zone_id": "z1", "zone_kind": "area",
         "enter_time": t, "exit_time": t, "dwell_seconds": 1.0, "exit_observed": True, "counted": True,
         "video_fingerprint": "f"}
        for t in times
    ]  # fmt: skip
    return pa.Table.from_pylist(rows, schema=ZONE_VISIT_SCHEMA)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    zone=st.sampled_from(sorted(_ZONES)),
    offsets=st.lists(st.integers(0, 30 * 3600 * 1_000_000), min_size=1, max_size=30),
    minutes=st.sampled_from([1, 15, 60, 240, 1440]),
)
def test_each_visit_lands_in_the_window_of_its_time(zone: str, offsets: list[int], minutes: int) -> None:
    tz, base = _ZONES[zone]
    times = [base + dt.timedelta(microseconds=o) for o in offsets]
    empty_moves = MOVEMENT_SCHEMA.empty_table().select(
        ["branch_id", "camera_id", "customer_id", "action_type", "enter_time", "first_seen", "is_staff"]
    )
    inputs = prepare_zone_inputs(
        _visits("b1", times),
        QUEUE_VISIT_SCHEMA.empty_table(),
        QUEUE_LENGTH_SCHEMA.empty_table(),
        empty_moves,
        {"b1": tz},
        minutes,
    )
    placed = inputs.visits.join(inputs.cells, "cell").join(inputs.windows, "wid")
    us = sorted(int((t - dt.datetime(1970, 1, 1, tzinfo=UTC)).total_seconds()) * 1_000_000 + t.microsecond
                for t in times)  # fmt: skip
    starts, ends = window_bounds(pa.array(us, pa.int64()).to_numpy(), tz, minutes)
    assert placed.num_rows == len(times)
    got = sorted(zip(placed.column("ws").to_pylist(), placed.column("we").to_pylist(), strict=True))
    assert got == sorted(zip(starts.tolist(), ends.tolist(), strict=True))


def test_block_sizes_start_with_the_largest_that_divides_the_window() -> None:
    minute = 60_000_000
    assert block_sizes_us(60) == [15 * minute, minute, 1_000_000]
    assert block_sizes_us(1) == [minute, 1_000_000]
    assert block_sizes_us(1440)[0] == 15 * minute


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("demo")
    summary = generate_demo(root / "c", root / "d", branches=2, days=3, seed=5, start=dt.date(2026, 3, 27))
    return summary.config_dir, summary.data_dir


@pytest.mark.parametrize("engine", ZONE_ENGINES)
@pytest.mark.parametrize("one_branch", [False, True])
def test_one_read_gives_the_same_kpis_as_two(demo: tuple[Path, Path], engine: str, one_branch: bool) -> None:
    from retail_intel.kpis.with_zones import compute_kpis_with_zones

    config_dir, data_dir = demo
    config = load_config(config_dir)
    branch = config.branches[-1].id if one_branch else None
    kw = {"window_minutes": 60, "branch": branch, "engine": engine}
    kpis, zones = compute_kpis_with_zones(config, data_dir, write=False, **kw)  # type: ignore[arg-type]
    apart = compute_kpis(config, data_dir, write=False, **kw)  # type: ignore[arg-type]
    zones_apart = compute_zone_kpis(config, data_dir, **kw)  # type: ignore[arg-type]
    assert kpis.table.num_rows > 0 and zones.zones.num_rows > 0 and zones.queues.num_rows > 0
    # floats to 1e-9: sums of dwell depend on the order the engine's threads add them in
    assert_tables_match(kpis.table, apart.table)
    assert_tables_match(zones.zones, zones_apart.zones, ZONE_KPI_SCHEMA.names)
    assert_tables_match(zones.queues, zones_apart.queues, QUEUE_KPI_SCHEMA.names)


def test_polars_medians_taken_a_few_branches_at_a_time_match_duckdb(
    demo: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from retail_intel.kpis import zone_polars

    config = load_config(demo[0])
    reference = compute_zone_kpis(config, demo[1], window_minutes=60, engine="duckdb")
    monkeypatch.setattr(zone_polars, "_MEDIAN_SLICE_ROWS", 1)  # one branch per slice
    sliced = compute_zone_kpis(config, demo[1], window_minutes=60, engine="polars")
    assert len({r["branch_id"] for r in sliced.zones.to_pylist()}) == 2
    assert_tables_match(reference.zones, sliced.zones, ZONE_KPI_SCHEMA.names)
