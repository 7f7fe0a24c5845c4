"""Hypothesis-generated movements: engines equal each other and the brute-force reference,
and the KPI invariants hold (occupancy >= 0, conversion in [0, 1], avg <= peak)."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from retail_intel.config.calendar import opening_intervals
from retail_intel.config.models import WEEKDAYS, Branch
from retail_intel.kpis.compute import ENGINES, run_engine
from retail_intel.kpis.inputs import BranchInfo, Interval, KpiParams, prepare_inputs
from tests.kpi_helpers import (
    Move,
    assert_tables_match,
    close,
    interval_source,
    movements_table,
    reference_kpis,
)

UTC = dt.UTC
ZONES = ["UTC", "Europe/London", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"]
# Day hours, to midnight (24:00), the whole day, and nights across midnight (a span belongs to its start day),
# some ending in the hour or half hour a clock change skips or repeats.
OPENING_SPANS = ["08:00-20:00", "08:00-24:00", "00:00-24:00", "18:00-02:00", "22:00-01:30", "09:00-08:30"]
# Each a day or two before a DST change in one of the zones above.
ORIGINS = [
    dt.datetime(2026, 3, 27, 12, tzinfo=UTC),  # London spring forward (29 Mar)
    dt.datetime(2026, 10, 23, 12, tzinfo=UTC),  # London fall back (25 Oct)
    dt.datetime(2026, 3, 6, 12, tzinfo=UTC),  # New York spring forward (8 Mar)
    dt.datetime(2026, 4, 3, 12, tzinfo=UTC),  # Lord Howe back half an hour (5 Apr)
    dt.datetime(2026, 10, 2, 12, tzinfo=UTC),  # Lord Howe forward half an hour (4 Oct)
]


@dataclass(frozen=True)
class Case:
    moves: list[Move]
    branches: list[BranchInfo]
    intervals: list[tuple[str, Interval]]
    params: KpiParams


@st.composite
def cases(draw: st.DrawFn) -> Case:
    origin = draw(st.sampled_from(ORIGINS))
    days = draw(st.sampled_from([2, 3, 30]))  # 30 days reach the 4-week baseline
    n_branches = draw(st.integers(1, 2))
    branches = [
        BranchInfo(
            f"b{i}",
            draw(st.sampled_from(ZONES)),
            capacity=draw(st.integers(1, 50)),
            customers_per_staff=draw(st.sampled_from([0.5, 1.0, 2.5, 10.0])),
            min_staff=draw(st.integers(0, 3)),
        )
        for i in range(n_branches)
    ]
    # Times on a coarse grid (5 minutes) plus optional seconds, so equal
    # timestamps (simultaneous entries and exits) are common.
    minute = st.integers(0, days * 24 * 12 - 1).map(lambda k: k * 5)
    moves = []
    for _ in range(draw(st.integers(1, 40))):
        branch = draw(st.sampled_from(branches)).branch_id
        start = origin + dt.timedelta(minutes=draw(minute), seconds=draw(st.sampled_from([0, 0, 0, 17, 59])))
        if draw(st.booleans()):
            dwell = dt.timedelta(minutes=draw(st.sampled_from([0, 5, 10, 30, 60, 95, 240, 1500])))
            moves.append(Move(branch, "entered", start, start + dwell))
        else:
            seen = start - dt.timedelta(seconds=draw(st.integers(0, 120)))
            moves.append(Move(branch, "passed", start, start + dt.timedelta(seconds=4), seen))
    intervals = []
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["staff", "staff", "promotion", "event"]))
        start = origin + dt.timedelta(minutes=draw(minute))
        length = dt.timedelta(minutes=draw(st.integers(1, 36 * 60)))
        intervals.append((draw(st.sampled_from(branches)).branch_id, Interval(kind, start, start + length)))
    for shop in branches:
        if draw(st.booleans()):  # opening hours on the branch's clock, laid out as the config's are
            hours = draw(st.dictionaries(st.sampled_from(WEEKDAYS), st.sampled_from(OPENING_SPANS), min_size=1))
            config = Branch(id=shop.branch_id, name="Shop", capacity=10, timezone=shop.timezone, opening_hours=hours)
            first, last = origin - dt.timedelta(days=2), origin + dt.timedelta(days=days + 2)
            intervals.extend(
                (shop.branch_id, Interval("open", a, z)) for a, z in opening_intervals(config, first, last)
            )
    params = KpiParams(
        window_minutes=draw(st.sampled_from([30, 60, 90, 240, 1440])),
        baseline_weeks=draw(st.integers(1, 4)),
        momentum_windows=draw(st.integers(2, 8)),
    )
    return Case(moves, branches, intervals, params)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_engines_agree_with_each_other_and_the_reference(case: Case) -> None:
    prepared = prepare_inputs(
        movements_table(case.moves), case.branches, case.params, intervals=interval_source(case.intervals)
    )
    duck, polars = (run_engine(prepared.inputs, case.params, engine) for engine in ENGINES)
    assert_tables_match(duck, polars)
    reference = reference_kpis(
        case.moves,
        prepared.inputs,
        case.branches,
        case.intervals,
        baseline_weeks=case.params.baseline_weeks,
        momentum_windows=case.params.momentum_windows,
    )
    rows = duck.to_pylist()
    assert len(rows) == len(reference)
    for row, ref in zip(rows, reference, strict=True):
        for name, value in ref.items():
            assert close(row[name], value), (name, row[name], value, row["branch_id"], row["window_start"])
        assert row["peak_occupancy"] >= 0 and row["avg_occupancy"] >= 0
        assert row["avg_occupancy"] <= row["peak_occupancy"] + 1e-9
        assert row["conversion_proxy"] is None or 0.0 <= row["conversion_proxy"] <= 1.0
        assert row["staff_on_duty"] >= 0 and row["required_staff"] >= 0
        assert row["window_start"] < row["window_end"]
    # Windows of a branch tile time: each starts where the previous one ended.
    for branch in case.branches:
        mine = [r for r in rows if r["branch_id"] == branch.branch_id]
        assert all(a["window_end"] == b["window_start"] for a, b in itertools.pairwise(mine))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases(), st.integers(0, 30 * 24), st.integers(1, 72))
def test_a_range_reports_the_same_values_as_the_full_series(case: Case, offset_h: int, length_h: int) -> None:
    full = prepare_inputs(
        movements_table(case.moves), case.branches, case.params, intervals=interval_source(case.intervals)
    )
    start = ORIGINS[0].replace(month=1, day=1) if not case.moves else min(m.enter for m in case.moves)
    start = start + dt.timedelta(hours=offset_h) - dt.timedelta(days=1)
    end = start + dt.timedelta(hours=length_h)
    part = prepare_inputs(
        movements_table(case.moves),
        case.branches,
        case.params,
        intervals=interval_source(case.intervals),
        start=start,
        end=end,
    )
    for engine in ENGINES:
        whole = run_engine(full.inputs, case.params, engine)
        some = run_engine(part.inputs, case.params, engine) if part.inputs.windows.num_rows else None
        wanted = [
            index
            for index, row in enumerate(whole.to_pylist())
            if row["window_start"] < end and row["window_end"] > start
        ]
        if some is None:
            assert wanted == []
            continue
        assert_tables_match(some, whole.take(wanted))
