"""Staff exclusion, observed staff, buying units and reconciled occupancy in both KPI engines.

Hand-computed values on hand-written people (arithmetic in the comments),
Hypothesis-generated people against the brute-force reference in
kpi_people_helpers, and movement files written before the new columns.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from retail_intel.config.calendar import opening_intervals
from retail_intel.config.models import WEEKDAYS, Branch
from retail_intel.kpis.compute import ENGINES, compute_kpis_for, run_engine
from retail_intel.kpis.inputs import BranchInfo, Interval, KpiParams, prepare_inputs
from retail_intel.movements.schema import MOVEMENT_NULL_MEANS, MOVEMENT_SCHEMA
from retail_intel.movements.store import read_movements
from retail_intel.sqlviews import open_database, run_query
from tests.kpi_helpers import assert_tables_match, close, interval_source, reference_kpis
from tests.kpi_people_helpers import PEOPLE_COLUMNS, Person, close_enough, people_table, reference_people_kpis

UTC = dt.UTC
MON = dt.date(2026, 3, 2)
SHOP = BranchInfo("b1", "UTC", capacity=10, customers_per_staff=2.0, min_staff=1)


def at(hour: int, minute: int = 0, second: int = 0, day: dt.date = MON) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=UTC)


def run(
    people: Sequence[Person],
    branches: Sequence[BranchInfo],
    engine: str,
    *,
    intervals: Sequence[tuple[str, Interval]] = (),
    window: int = 60,
    include_staff: bool = False,
    threshold: float = 0.1,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
) -> list[dict[str, Any]]:
    """Both the engine and the references; every reference value must match."""
    params = KpiParams(window_minutes=window, include_staff=include_staff, imbalance_threshold=threshold)
    prepared = prepare_inputs(
        people_table(people), branches, params, intervals=interval_source(intervals), start=start, end=end
    )
    table = run_engine(prepared.inputs, params, engine)
    rows: list[dict[str, Any]] = table.to_pylist()
    counted = [p.as_move() for p in people if include_staff or not p.staff]
    old = reference_kpis(counted, prepared.inputs, branches, intervals, baseline_weeks=4, momentum_windows=6)
    required = {(r["branch_id"], r["window_start"]): r["required_staff"] for r in rows}
    adequacy = {(r["branch_id"], r["window_start"]): r["staffing_adequacy"] for r in rows}
    new = reference_people_kpis(
        people,
        prepared.inputs,
        branches,
        intervals,
        required,
        adequacy,
        include_staff=include_staff,
        threshold=threshold,
    )
    assert len(rows) == len(old) == len(new)
    for row, a, b in zip(rows, old, new, strict=True):
        for name, value in (a | b).items():
            assert close_enough(row[name], value), (engine, name, row[name], value, row["window_start"])
    return rows


def check(row: dict[str, Any], **expected: Any) -> None:
    for name, value in expected.items():
        assert close(row[name], value), (name, row[name], value)


engines = pytest.mark.parametrize("engine", ENGINES)

# A morning at one shop (no opening hours configured: open all day).
MORNING = [
    Person("b1", "entered", at(9, 10), at(10, 40)),  # A, alone
    Person("b1", "entered", at(9, 20), at(9, 50), group="g1"),  # B with C
    Person("b1", "passed", at(9, 21), at(9, 21, 5), group="g1"),  # C waited outside
    Person("b1", "passed", at(9, 58), at(9, 58, 5), group="g2"),  # D and E walked past together
    Person("b1", "passed", at(10, 1), at(10, 1, 5), group="g2"),
    Person("b1", "entered", at(9), at(11), is_staff=True),  # S, a clerk on the floor 09:00-11:00
    Person("b1", "entered", at(10, 5), at(10, 30), exit_observed=False),  # F, exit never seen
    Person("b1", "entered", at(10, 10), at(10, 20)),  # G
    Person("b1", "passed", at(11, 30), at(11, 30, 5)),  # H
]


@engines
def test_staff_are_left_out_and_observed(engine: str) -> None:
    nine, ten, eleven = run(MORNING, [SHOP], engine)
    check(nine, visitors=2, passed=2, peak_occupancy=2)  # A, B; C, D; S not counted
    check(ten, visitors=2, passed=1, peak_occupancy=3)  # F, G; E; A, F, G at 10:10
    check(nine, observed_staff=1.0, required_staff=1, observed_staffing_adequacy=1.0)
    check(ten, observed_staff=1.0, required_staff=2, observed_staffing_adequacy=0.5)  # ceil(3 / 2)
    check(eleven, observed_staff=0.0, observed_staffing_adequacy=0.0)
    with_staff = run(MORNING, [SHOP], engine, include_staff=True)
    check(with_staff[0], visitors=3, peak_occupancy=3, observed_staff=1.0)  # S counted as a customer too


@engines
def test_groups_are_buying_units(engine: str) -> None:
    nine, ten, eleven = run(MORNING, [SHOP], engine)
    # 09:00: parties A (entered), B+C (entered: B did), D+E (passed; placed at D, 09:58)
    check(nine, buying_units=2, mean_group_size=1.5, group_conversion=2 / 3)  # (1 + 2) / 2 people
    check(ten, buying_units=2, mean_group_size=1.0, group_conversion=1.0)  # F, G; E is in D's party
    check(eleven, buying_units=0, mean_group_size=None, group_conversion=0.0)  # H walked past


@engines
def test_occupancy_is_reconciled_per_day(engine: str) -> None:
    nine, ten, eleven = run(MORNING, [SHOP], engine)
    # ins: 09 A, B; 10 F, G. outs: 09 B; 10 A, G (F unseen). D = 4 - 3 = 1, traffic 7.
    # end of 09:00: 1 - 1 * 3 / 7 = 4/7; end of 10:00: 1 - 1 * 7 / 7 = 0.
    check(nine, reconciled_occupancy=4 / 7, occupancy_imbalance=1, data_quality="imbalanced")  # 1 > 0.1 * 4
    check(ten, reconciled_occupancy=0.0, occupancy_imbalance=1)
    check(eleven, reconciled_occupancy=0.0, occupancy_imbalance=1)
    lenient = run(MORNING, [SHOP], engine, threshold=0.3)
    assert {r["data_quality"] for r in lenient} == {"ok"}  # 1 <= 0.3 * 4


@engines
def test_congestion_and_utilization_use_the_reconciled_occupancy(engine: str) -> None:
    nine, ten, eleven = run(MORNING, [SHOP], engine)
    # D = 1, T = 7 (above): each in raises the level by (T - D) / T = 6/7, each out lowers it by
    # (T + D) / T = 8/7. 09:00-09:10 0; A in 6/7; 09:20 B in 12/7; 09:50 B out 4/7.
    # Mean: (10 x 0 + 10 x 6/7 + 30 x 12/7 + 10 x 4/7) / 60 = (460/7) / 60 = 23/21.
    check(nine, peak_occupancy=2, reconciled_peak_occupancy=12 / 7, reconciled_avg_occupancy=23 / 21)
    # The person-by-person peak 2 would give 0.2; the door count, balanced, gives 12/7 of 10.
    check(nine, congestion_level=12 / 70, utilization_ratio=23 / 210)
    # nobody scheduled: staffing_adequacy 0 / required 1, so the bottleneck is the congestion itself
    check(nine, required_staff=1, staffing_adequacy=0.0, bottleneck_score=12 / 70)
    # 10:00 starts at 4/7; 10:05 F in 10/7; 10:10 G in 16/7; 10:20 G out 8/7; 10:30 F's unseen
    # exit counts nothing; 10:40 A out 0. Mean (5 x 4 + 5 x 10 + 10 x 16 + 20 x 8 + 20 x 0) / 7 / 60 = 13/14.
    check(ten, peak_occupancy=3, reconciled_peak_occupancy=16 / 7, reconciled_avg_occupancy=13 / 14)
    check(ten, congestion_level=16 / 70, utilization_ratio=13 / 140)
    # required_staff still follows the person-by-person peak: max(1, ceil(3 / 2)) = 2, adequacy 0 / 2
    check(ten, required_staff=2, staffing_adequacy=0.0, bottleneck_score=16 / 70)
    # the day ended balanced at 10:40: nothing in the door count at 11:00
    check(eleven, reconciled_peak_occupancy=0.0, reconciled_avg_occupancy=0.0, congestion_level=0.0)
    check(eleven, utilization_ratio=0.0, bottleneck_score=0.0)  # 0 x (1 - 0 / 1)


@engines
def test_reconciliation_uses_opening_hours_and_door_lines(engine: str) -> None:
    people = [
        Person("b1", "entered", at(9, 10), at(9, 40), line_in=1, line_out=1),
        Person("b1", "entered", at(9, 20), at(10, 20), line_in=2, line_out=1),  # counted in twice at the door
        Person("b1", "entered", at(10, 30), at(10, 35), line_in=1, line_out=1),  # after closing: still the day's
    ]
    hours = [("b1", Interval("open", at(8), at(10)))]
    nine, ten = run(people, [SHOP], engine, intervals=hours)
    # The whole local day counts, closed hours too: ins 1 + 2 + 1 = 4, outs 3, D = 1, traffic 7.
    # 09:00 ends at N = 3 - 1 = 2, V = 4: 2 - 1 * 4 / 7 = 10/7.
    check(nine, occupancy_imbalance=1, reconciled_occupancy=10 / 7, data_quality="imbalanced")  # 1 > 0.1 * 4
    check(ten, reconciled_occupancy=0.0, occupancy_imbalance=1)  # closed
    # In 09:00 each in raises the level by w (T - D) / T = 6w/7, each out lowers it by w (T + D) / T = 8w/7:
    # 09:10 6/7, 09:20 (in 2) 18/7, 09:40 10/7. Mean (10 x 0 + 10 x 6/7 + 20 x 18/7 + 20 x 10/7) / 60 = 31/21.
    check(nine, reconciled_peak_occupancy=18 / 7, congestion_level=18 / 70)
    check(nine, reconciled_avg_occupancy=31 / 21, utilization_ratio=31 / 210)
    # Closed at 10:00: the door count reads 0 although the second person is seen until 10:20.
    check(ten, peak_occupancy=1, reconciled_peak_occupancy=0.0, congestion_level=0.0, utilization_ratio=0.0)


@engines
def test_an_imbalance_of_exactly_the_threshold_is_not_flagged(engine: str) -> None:
    # 57 of 100 ins is a share of 0.57, not over 0.57; compared as 57 > 0.57 * 100 (56.99999999999999) it was
    people = [Person("b1", "entered", at(9, 10), at(9, 40), line_in=100, line_out=43)]
    rows = run(people, [SHOP], engine, threshold=0.57)
    assert {(r["occupancy_imbalance"], r["data_quality"]) for r in rows} == {(57, "ok")}
    rows = run(people, [SHOP], engine, threshold=0.56)
    assert {r["data_quality"] for r in rows} == {"imbalanced"}


@engines
@pytest.mark.parametrize("window", [30, 60, 240, 1440])
def test_the_days_door_imbalance_does_not_depend_on_the_window(engine: str, window: int) -> None:
    # Open 09:00-18:00; a customer leaves ten minutes after closing: every window size sees the
    # day's 3 ins and 3 outs (60-minute windows used to drop the out of the closed 18:00 window).
    people = [
        Person("b1", "entered", at(10), at(10, 20)),
        Person("b1", "entered", at(17, 30), at(18, 10)),
        Person("b1", "entered", at(17, 40), at(17, 50)),
    ]
    hours = [("b1", Interval("open", at(9), at(18)))]
    rows = run(people, [SHOP], engine, intervals=hours, window=window)
    assert {(r["occupancy_imbalance"], r["data_quality"]) for r in rows} == {(0, "ok")}
    by_start = {r["window_start"]: r for r in rows}
    if window == 60:
        # before closing the door count holds the customer still inside; the closed window reads 0
        check(by_start[at(17)], reconciled_occupancy=1.0, reconciled_peak_occupancy=2.0)
        check(by_start[at(18)], reconciled_occupancy=0.0, reconciled_peak_occupancy=0.0)
    # The last out of the data at 11:00 sharp lies in the window starting then, which exists
    # (it used to fall just past the series' end, so the day looked one out short).
    rows = run([Person("b1", "entered", at(10), at(11))], [SHOP], engine, window=window)
    assert {(r["occupancy_imbalance"], r["data_quality"]) for r in rows} == {(0, "ok")}
    assert rows[-1]["window_end"] > at(11)


def test_old_movement_files_read_everywhere(tmp_path: Path) -> None:
    # A file written before the new columns existed: only the original 17.
    old_columns = [name for name in MOVEMENT_SCHEMA.names if name not in MOVEMENT_NULL_MEANS]
    row = {
        "customer_id": "c1",
        "branch_id": "b1",
        "camera_id": "cam1",
        "action_type": "entered",
        "enter_time": at(9, 10),
        "exit_time": at(9, 40),
        "exit_observed": True,
        "dwell_seconds": 1800.0,
        "first_seen": at(9, 9),
        "last_seen": at(9, 41),
        "track_id": 1,
        "n_frames": 10,
        "mean_confidence": 0.8,
        "source_video": "old.mp4",
        "video_fingerprint": "f" * 64,
        "model": "m",
        "processed_at": at(12),
    }
    old = pa.table(
        {name: [row[name]] for name in old_columns}, schema=pa.schema([MOVEMENT_SCHEMA.field(n) for n in old_columns])
    )
    folder = tmp_path / "movements" / "b1" / "2026-03-02"
    folder.mkdir(parents=True)
    pq.write_table(old, folder / "cam1-old.parquet")
    stored = read_movements(tmp_path)
    assert stored.num_rows == 1 and stored["is_staff"].to_pylist() == [None] and stored["group_id"].null_count == 1
    con = open_database(Path(__file__).parents[1] / "config", tmp_path)
    try:
        view = run_query(con, "SELECT is_staff, group_id, line_in FROM customer_branch_movement").to_pylist()
    finally:
        con.close()
    assert view == [{"is_staff": None, "group_id": None, "line_in": None}]
    for engine in ENGINES:
        (kpi,) = compute_kpis_for([SHOP], tmp_path, window_minutes=60, engine=engine, write=False).table.to_pylist()
        # null is_staff reads as a customer, null group as a party of one, null lines as one in / one out
        check(kpi, visitors=1, buying_units=1, mean_group_size=1.0, observed_staff=0.0, occupancy_imbalance=0)
        check(kpi, data_quality="ok", reconciled_occupancy=0.0)
    # A new file beside it, with door-line counts: both read together.
    door = row | {"customer_id": "c2", "enter_time": at(9, 50), "exit_time": at(9, 55), "dwell_seconds": 300.0}
    door |= {"first_seen": at(9, 50), "last_seen": at(9, 55), "is_staff": False, "line_in": 2, "line_out": 1}
    door |= {"staff_reason": None, "group_id": None}
    pq.write_table(pa.Table.from_pylist([door], schema=MOVEMENT_SCHEMA), folder / "cam1-new.parquet")
    for engine in ENGINES:
        (kpi,) = compute_kpis_for([SHOP], tmp_path, window_minutes=60, engine=engine, write=False).table.to_pylist()
        check(kpi, visitors=2, occupancy_imbalance=1, data_quality="imbalanced")  # ins 1 + 2, outs 1 + 1


# --- Hypothesis: engines agree with each other and the reference ---

ZONES = ["UTC", "Europe/London", "Asia/Kolkata", "America/New_York"]
# Day hours, to midnight (24:00), the whole day, and nights across midnight (a span belongs to its start day).
OPENING_SPANS = ["08:00-20:00", "08:00-24:00", "00:00-24:00", "18:00-02:00", "22:00-06:00", "09:00-08:30"]
ORIGINS = [dt.datetime(2026, 3, 27, 12, tzinfo=UTC), dt.datetime(2026, 3, 6, 12, tzinfo=UTC)]


@st.composite
def cases(draw: st.DrawFn) -> tuple[list[Person], list[BranchInfo], list[tuple[str, Interval]], KpiParams]:
    origin = draw(st.sampled_from(ORIGINS))
    branches = [
        BranchInfo(
            f"b{i}",
            draw(st.sampled_from(ZONES)),
            capacity=draw(st.integers(1, 30)),
            customers_per_staff=2.0,
            min_staff=draw(st.integers(0, 2)),
        )
        for i in range(draw(st.integers(1, 2)))
    ]
    minute = st.integers(0, 3 * 24 * 12 - 1).map(lambda k: k * 5)
    people: list[Person] = []
    for index in range(draw(st.integers(1, 25))):
        branch = draw(st.sampled_from(branches)).branch_id
        start = origin + dt.timedelta(minutes=draw(minute), seconds=draw(st.sampled_from([0, 17, 59])))
        size = draw(st.sampled_from([1, 1, 1, 2, 3]))  # a party arriving within seconds
        staff = draw(st.sampled_from([None, False, False, True]))
        lines = draw(st.booleans())
        for member in range(size):
            t = start + dt.timedelta(seconds=member)
            group = f"g{index}" if size > 1 else None
            if draw(st.booleans()):
                dwell = dt.timedelta(minutes=draw(st.sampled_from([0, 5, 30, 95, 400])))
                people.append(
                    Person(
                        branch,
                        "entered",
                        t,
                        t + dwell,
                        is_staff=staff,
                        group=group,
                        exit_observed=draw(st.booleans()),
                        line_in=draw(st.integers(0, 2)) if lines else None,
                        line_out=draw(st.integers(0, 2)) if lines else None,
                    )
                )
            else:
                people.append(Person(branch, "passed", t, t + dt.timedelta(seconds=4), t, is_staff=staff, group=group))
    intervals: list[tuple[str, Interval]] = []
    for shop in branches:
        if draw(st.booleans()):  # opening hours on the branch's clock, laid out as the config's are
            hours = draw(st.dictionaries(st.sampled_from(WEEKDAYS), st.sampled_from(OPENING_SPANS), min_size=1))
            config = Branch(id=shop.branch_id, name="Shop", capacity=10, timezone=shop.timezone, opening_hours=hours)
            first, last = origin - dt.timedelta(days=2), origin + dt.timedelta(days=5)
            intervals.extend(
                (shop.branch_id, Interval("open", a, z)) for a, z in opening_intervals(config, first, last)
            )
    params = KpiParams(
        window_minutes=draw(st.sampled_from([30, 60, 240, 1440])),
        include_staff=draw(st.booleans()),
        imbalance_threshold=draw(st.sampled_from([0.0, 0.1, 0.5])),
    )
    return people, branches, intervals, params


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_engines_agree_on_people_kpis(
    case: tuple[list[Person], list[BranchInfo], list[tuple[str, Interval]], KpiParams],
) -> None:
    people, branches, intervals, params = case
    prepared = prepare_inputs(people_table(people), branches, params, intervals=interval_source(intervals))
    if prepared.inputs.windows.num_rows == 0:
        return
    duck, polars = (run_engine(prepared.inputs, params, engine) for engine in ENGINES)
    assert_tables_match(duck, polars)
    rows = duck.to_pylist()
    required = {(r["branch_id"], r["window_start"]): r["required_staff"] for r in rows}
    adequacy = {(r["branch_id"], r["window_start"]): r["staffing_adequacy"] for r in rows}
    reference = reference_people_kpis(
        people,
        prepared.inputs,
        branches,
        intervals,
        required,
        adequacy,
        include_staff=params.include_staff,
        threshold=params.imbalance_threshold,
    )
    for row, ref in zip(rows, reference, strict=True):
        for name in PEOPLE_COLUMNS:
            assert close_enough(row[name], ref[name]), (name, row[name], ref[name], row["window_start"])
        assert row["reconciled_occupancy"] >= 0.0
    # Zero at closing: the last window of every local day in the series ends the day balanced.
    windows = sorted(prepared.inputs.windows.to_pylist(), key=lambda w: (w["branch_id"], w["seq"]))
    by_start = {(r["branch_id"], r["window_start"]): r for r in rows}
    for _, day in itertools.groupby(windows, key=lambda w: (w["branch_id"], w["slot_date"])):
        last = list(day)[-1]
        row = by_start.get((last["branch_id"], last["window_start"]))
        if row is not None:
            assert row["reconciled_occupancy"] == 0.0
