"""Zone and queue KPIs: hand-computed values on hand-written tracks, and both engines agreeing."""

from __future__ import annotations

import datetime as dt
import itertools
import math
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from retail_intel.errors import InputError
from retail_intel.kpis.zone_compute import ZONE_ENGINES, compute_zone_kpis_for, run_zone_engine
from retail_intel.kpis.zone_inputs import prepare_zone_inputs, window_bounds
from retail_intel.kpis.zone_schema import QUEUE_KPI_SCHEMA, ZONE_KPI_SCHEMA
from retail_intel.movements.geometry import Polygon
from retail_intel.movements.schema import MOVEMENT_SCHEMA
from retail_intel.movements.store import write_movements
from retail_intel.movements.tracks import Track
from retail_intel.movements.zone_schema import QUEUE_LENGTH_SCHEMA, QUEUE_VISIT_SCHEMA, ZONE_VISIT_SCHEMA
from retail_intel.movements.zone_store import write_zone_tables
from retail_intel.movements.zones import PersonPath, ZoneSource, ZoneSpec, judge_zones

UTC = dt.UTC
LONDON = ZoneInfo("Europe/London")
T0 = dt.datetime(2026, 2, 9, 10, 0, tzinfo=UTC)  # a Monday, London = UTC in winter
_TS = pa.timestamp("us", tz="UTC")
SHELF = ZoneSpec("shelf", Polygon.from_rect(0, 0, 100, 100), "area", 5.0)
QUEUE = ZoneSpec("queue", Polygon.from_rect(200, 0, 300, 100), "queue", 3.0, service="till")
TILL = ZoneSpec("till", Polygon.from_rect(400, 0, 500, 100), "service", 5.0)


def stay(track_id: int, stops: list[tuple[float, float, float]]) -> Track:
    """Sampled every second at each stop (t, x, y) until the next stop; ends at the last stop."""
    samples: list[tuple[float, float, float]] = []
    for (t0, x, y), (t1, _, _) in itertools.pairwise(stops):
        samples.extend((t, x, y) for t in range(int(t0), int(t1)))
    samples.append(stops[-1])
    return Track.from_samples(track_id, samples)


def movement_rows(rows: list[tuple[str, str, str, dt.datetime]], staff: frozenset[str] = frozenset()) -> pa.Table:
    """(customer, camera, action, time) -> movement rows of branch b1 (enter = first_seen = time).

    The customers in ``staff`` are flagged as staff; the other people columns stay null.
    """
    columns: dict[str, list[Any]] = {name: [] for name in MOVEMENT_SCHEMA.names}
    for customer, camera, action, at in rows:
        values = {
            "customer_id": customer, "branch_id": "b1", "camera_id": camera, "action_type": action,
            "enter_time": at, "exit_time": at + dt.timedelta(seconds=10), "exit_observed": True,
            "dwell_seconds": 10.0, "first_seen": at, "last_seen": at + dt.timedelta(seconds=10),
            "track_id": 1, "n_frames": 10, "mean_confidence": 0.9, "source_video": "v.mp4",
            "video_fingerprint": "f", "model": "m", "processed_at": at,
            "is_staff": True if customer in staff else None,
        }  # fmt: skip
        for name in MOVEMENT_SCHEMA.names:  # the group and door columns stay null
            columns[name].append(values.get(name))
    return pa.Table.from_pydict(columns, schema=MOVEMENT_SCHEMA)


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """Five people on camera c1 of b1 between 10:00 and 10:02 UTC, and four movements."""
    people = [
        stay(1, [(0, 50, 50), (8, 150, 150), (9, 150, 150)]),  # shelf 7 s: counted
        stay(2, [(0, 50, 50), (2, 150, 150), (3, 150, 150)]),  # shelf 1 s (samples 0, 1): not counted
        stay(3, [(0, 50, 50), (12, 150, 150), (13, 150, 150)]),  # shelf 11 s: counted
        stay(4, [(10, 250, 50), (40, 450, 50), (70, 150, 150), (71, 150, 150)]),  # waits 30 s, served 29 s
        stay(5, [(20, 250, 50), (70, 450, 50), (80, 150, 150), (81, 150, 150)]),  # waits 50 s, served 9 s
        stay(6, [(30, 250, 50), (45, 150, 150), (46, 150, 150)]),  # 14 s in the queue, leaves
    ]
    paths = [PersonPath(f"p{p.track_id}", p) for p in people]
    tables = judge_zones(paths, [SHELF, QUEUE, TILL], ZoneSource("b1", "c1", "f" * 64, T0, covered_s=120.0))
    write_zone_tables(tables, tmp_path, branch_id="b1", day=T0.date(), source_key="c1-x")
    moves = [(f"p{i}", "c1", "entered" if i % 2 else "passed", T0 + dt.timedelta(seconds=i)) for i in range(1, 5)]
    moves.append(("q", "c2", "entered", T0))  # another camera: not in c1's attention rate
    write_movements(movement_rows(moves), tmp_path, branch_id="b1", day=T0.date(), source_key="c1-x")
    return tmp_path


@pytest.mark.parametrize("engine", ZONE_ENGINES)
def test_hand_computed_zone_and_queue_kpis(store: Path, engine: str) -> None:
    result = compute_zone_kpis_for(
        {"b1": LONDON}, {("b1", "c1"), ("b1", "c2")}, store, window_minutes=60, engine=engine
    )
    assert result.zones.schema == ZONE_KPI_SCHEMA and result.queues.schema == QUEUE_KPI_SCHEMA
    zones = {r["zone_id"]: r for r in result.zones.to_pylist()}
    shelf = zones["shelf"]
    assert (shelf["window_start"], shelf["window_end"]) == (T0, T0 + dt.timedelta(hours=1))
    assert (shelf["visits"], shelf["counted_visits"], shelf["roi_people"]) == (3, 2, 4)
    assert shelf["mean_dwell_seconds"] == 9.0 and shelf["median_dwell_seconds"] == 9.0  # (7 + 11) / 2
    assert shelf["attention_rate"] == 2 / 4
    assert zones["queue"]["visits"] == 3 and zones["till"]["visits"] == 2
    (queue,) = result.queues.to_pylist()
    assert queue["zone_id"] == "queue"
    assert (queue["people_queued"], queue["people_served"]) == (3, 2)
    assert queue["mean_wait_seconds"] == 40.0  # (30 + 50) / 2
    assert queue["p90_wait_seconds"] == pytest.approx(30 + 0.9 * 20)  # linear between the two waits
    assert queue["mean_service_seconds"] == 19.0  # (29 + 9) / 2
    assert queue["abandonment_rate"] == pytest.approx(1 / 3)
    # in the queue: p4 10..39, p5 20..69, p6 30..44: three at once from 30 s
    assert queue["peak_queue_length"] == 3
    assert queue["mean_queue_length"] == pytest.approx((29 + 49 + 14) / 120)


@pytest.mark.parametrize("engine", ZONE_ENGINES)
def test_attention_of_a_camera_whose_zones_left_the_config_divides_by_its_people(store: Path, engine: str) -> None:
    # c1's zones were taken out of branches.yaml, its video not processed again: its visits stay
    # (docs/zones.md), and roi_people is still the people c1 counted, not 0 with a null attention
    for configured in (set(), {("b1", "c2")}):
        result = compute_zone_kpis_for({"b1": LONDON}, configured, store, window_minutes=60, engine=engine)
        shelf = next(r for r in result.zones.to_pylist() if r["zone_id"] == "shelf")
        assert (shelf["counted_visits"], shelf["roi_people"], shelf["attention_rate"]) == (2, 4, 2 / 4)


@pytest.mark.parametrize("engine", ZONE_ENGINES)
def test_ingested_movements_without_a_camera_are_no_cameras_roi_people(store: Path, engine: str) -> None:
    # `ingest` stores the seed's events with camera_id null; they used to fail the zone KPIs
    # (and zones, report, serve's /zones and /report) with pyarrow's "Casting field 'camera_id'
    # with null values to non-nullable"
    ingested = movement_rows([("i1", "c1", "entered", T0), ("i2", "c1", "passed", T0)])
    ingested = ingested.set_column(ingested.schema.get_field_index("camera_id"), "camera_id", pa.nulls(2, pa.string()))
    write_movements(ingested, store, branch_id="b1", day=T0.date(), source_key="ingest-x")
    result = compute_zone_kpis_for({"b1": LONDON}, {("b1", "c1")}, store, window_minutes=60, engine=engine)
    shelf = next(r for r in result.zones.to_pylist() if r["zone_id"] == "shelf")
    assert (shelf["counted_visits"], shelf["roi_people"], shelf["attention_rate"]) == (2, 4, 2 / 4)


@pytest.mark.parametrize("engine", ZONE_ENGINES)
def test_range_and_window_size(store: Path, engine: str) -> None:
    later = compute_zone_kpis_for(
        {"b1": LONDON}, {("b1", "c1")}, store, window_minutes=15, start=T0 + dt.timedelta(hours=1), engine=engine
    )
    assert later.zones.num_rows == 0 and later.queues.num_rows == 0
    minute = compute_zone_kpis_for({"b1": LONDON}, {("b1", "c1")}, store, window_minutes=1, engine=engine)
    # the queue is watched for two minutes: two rows, the second with nobody joining
    rows = minute.queues.to_pylist()
    assert [r["people_queued"] for r in rows] == [3, 0]
    assert rows[1]["mean_wait_seconds"] is None and rows[1]["peak_queue_length"] == 1  # only p5 still waits


def test_bad_parameters_are_refused(store: Path) -> None:
    with pytest.raises(InputError, match=r"^engine must be one of duckdb, polars, got 'pandas'"):
        compute_zone_kpis_for({"b1": LONDON}, set(), store, window_minutes=60, engine="pandas")
    with pytest.raises(InputError, match=r"^window_minutes must divide a day"):
        compute_zone_kpis_for({"b1": LONDON}, set(), store, window_minutes=7)
    with pytest.raises(InputError, match=r"^end must be after start, got from "):
        compute_zone_kpis_for({"b1": LONDON}, set(), store, window_minutes=60, start=T0, end=T0)


def test_windows_follow_local_midnight_across_dst() -> None:
    # 2026-03-29: London springs forward at 01:00 UTC; windows run 4 elapsed hours from local
    # midnight (00:00 UTC that day), as the branch KPIs' do, and the 23-hour day's last one is cut short
    def window_of(at: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
        starts, ends = window_bounds(pa.array([int(at.timestamp() * 1e6)]).to_numpy(), LONDON, 240)
        return dt.datetime.fromtimestamp(starts[0] / 1e6, UTC), dt.datetime.fromtimestamp(ends[0] / 1e6, UTC)

    day = dt.datetime(2026, 3, 29, tzinfo=UTC)
    assert window_of(day + dt.timedelta(hours=2, minutes=30)) == (day, day + dt.timedelta(hours=4))
    assert window_of(day + dt.timedelta(hours=22, minutes=30)) == (
        day + dt.timedelta(hours=20),
        day + dt.timedelta(hours=23),
    )


# ---------------------------------------------------------------- both engines agree

_BRANCHES = {"b1": LONDON, "b2": ZoneInfo("Asia/Kolkata")}
_base = dt.datetime(2026, 3, 28, 20, 0, tzinfo=UTC)  # spans London's spring-forward night
_moment = st.integers(0, 10 * 3600).map(lambda s: _base + dt.timedelta(seconds=s))
_branch = st.sampled_from(["b1", "b2", "b3"])  # b3 is unknown: dropped by both
_camera = st.sampled_from(["c1", "c2"])
_zone = st.sampled_from(["z1", "z2"])
_maybe_float = st.none() | st.floats(0, 600, allow_nan=False)
_kind = st.sampled_from(["area", "queue"])  # a zone's kind edited mid-day: both engines pick the same
_customer = st.sampled_from(["p1", "p2", "p3", "s1", "s2"])  # the movements flag some as staff


@st.composite
def _visits(draw: st.DrawFn) -> pa.Table:
    rows = draw(st.lists(st.tuples(_customer, _branch, _camera, _zone, _moment, st.floats(0, 900, allow_nan=False),
                                   _kind), max_size=40))  # fmt: skip
    return pa.Table.from_pylist(
        [
            {
                "customer_id": p,
                "branch_id": b,
                "camera_id": c,
                "zone_id": z,
                "zone_kind": k,
                "enter_time": t,
                "exit_time": t + dt.timedelta(seconds=d),
                "dwell_seconds": d,
                "exit_observed": True,
                "counted": d >= 5,
                "video_fingerprint": "f",
            }
            for p, b, c, z, t, d, k in rows
        ],
        schema=ZONE_VISIT_SCHEMA,
    )


@st.composite
def _queues(draw: st.DrawFn) -> pa.Table:
    rows = draw(st.lists(st.tuples(_customer, _branch, _camera, _zone, _moment, _maybe_float, _maybe_float,
                                   st.none() | st.booleans()), max_size=40))  # fmt: skip
    return pa.Table.from_pylist(
        [
            {
                "customer_id": p,
                "branch_id": b,
                "camera_id": c,
                "zone_id": z,
                "service_zone_id": None,
                "queue_enter": t,
                "queue_exit": t,
                "service_enter": None,
                "service_exit": None,
                "wait_seconds": w,
                "service_seconds": s,
                "abandoned": a,
                "video_fingerprint": "f",
            }
            for p, b, c, z, t, w, s, a in rows
        ],
        schema=QUEUE_VISIT_SCHEMA,
    )


@st.composite
def _lengths(draw: st.DrawFn) -> pa.Table:
    rows = draw(st.lists(st.tuples(_branch, _camera, _zone, _moment, st.floats(0, 60), st.floats(0, 300),
                                   st.integers(0, 9)), max_size=40))  # fmt: skip
    return pa.Table.from_pylist(
        [
            {
                "branch_id": b,
                "camera_id": c,
                "zone_id": z,
                "minute": t.replace(second=0),
                "observed_seconds": o,
                "people_seconds": p,
                "peak_people": k,
                "video_fingerprint": "f",
            }
            for b, c, z, t, o, p, k in rows
        ],
        schema=QUEUE_LENGTH_SCHEMA,
    )


@st.composite
def _movements(draw: st.DrawFn) -> pa.Table:
    rows = draw(st.lists(st.tuples(_customer, _branch, _camera, st.sampled_from(["entered", "passed", "other"]),
                                   _moment, _moment, st.none() | st.booleans()), max_size=40))  # fmt: skip
    return pa.Table.from_pylist(
        [
            {
                "customer_id": p,
                "branch_id": b,
                "camera_id": c,
                "action_type": a,
                "enter_time": t,
                "first_seen": f,
                "is_staff": staff,
            }
            for p, b, c, a, t, f, staff in rows
        ],
        schema=pa.schema([MOVEMENT_SCHEMA.field(n) for n in _MOVEMENT_COLUMNS]),
    )


_MOVEMENT_COLUMNS = ("customer_id", "branch_id", "camera_id", "action_type", "enter_time", "first_seen", "is_staff")


def _close(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return bool(a == b)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    visits=_visits(),
    queues=_queues(),
    lengths=_lengths(),
    movements=_movements(),
    minutes=st.sampled_from([1, 15, 60, 240, 1440]),
    include_staff=st.booleans(),
)
def test_engines_agree_value_by_value(
    visits: pa.Table, queues: pa.Table, lengths: pa.Table, movements: pa.Table, minutes: int, include_staff: bool
) -> None:
    inputs = prepare_zone_inputs(visits, queues, lengths, movements, _BRANCHES, minutes, include_staff=include_staff)
    sql_zones, sql_queues = run_zone_engine(inputs, minutes, "duckdb")
    pl_zones, pl_queues = run_zone_engine(inputs, minutes, "polars")
    for left, right in ((sql_zones, pl_zones), (sql_queues, pl_queues)):
        assert left.schema == right.schema
        assert left.num_rows == right.num_rows
        for a, b in zip(left.to_pylist(), right.to_pylist(), strict=True):
            assert all(_close(a[k], b[k]) for k in a), (a, b)
    # every visit of a known branch is in exactly one zone row, unless its customer is flagged as staff
    staff = set() if include_staff else {r["customer_id"] for r in movements.to_pylist() if r["is_staff"]}
    known = sum(1 for r in visits.to_pylist() if r["branch_id"] in _BRANCHES and r["customer_id"] not in staff)
    assert sum(sql_zones.column("visits").to_pylist()) == known
    queued = sum(1 for r in queues.to_pylist() if r["branch_id"] in _BRANCHES and r["customer_id"] not in staff)
    assert sum(sql_queues.column("people_queued").to_pylist()) == queued


@pytest.mark.parametrize("engine", ZONE_ENGINES)
def test_a_zone_whose_kind_changed_takes_the_kind_of_its_latest_visits(engine: str) -> None:
    def kind_of(visits: list[tuple[int, str]]) -> str:
        rows = [
            {"customer_id": f"p{i}", "branch_id": "b1", "camera_id": "c1", "zone_id": "z1", "zone_kind": kind,
             "enter_time": T0 + dt.timedelta(minutes=minute), "exit_time": T0 + dt.timedelta(minutes=minute, seconds=10),
             "dwell_seconds": 10.0, "exit_observed": True, "counted": True, "video_fingerprint": "f"}
            for i, (minute, kind) in enumerate(visits)
        ]  # fmt: skip
        moves = MOVEMENT_SCHEMA.empty_table().select(
            ["branch_id", "camera_id", "action_type", "enter_time", "first_seen"]
        )
        inputs = prepare_zone_inputs(
            pa.Table.from_pylist(rows, schema=ZONE_VISIT_SCHEMA),
            QUEUE_VISIT_SCHEMA.empty_table(),
            QUEUE_LENGTH_SCHEMA.empty_table(),
            moves,
            {"b1": LONDON},
            60,
        )
        (row,) = run_zone_engine(inputs, 60, engine)[0].to_pylist()
        return str(row["zone_kind"])

    # the hour's visits are placed by 15-minute block: the latest block's kind wins
    assert kind_of([(1, "queue"), (2, "queue"), (20, "area"), (3, "queue")]) == "area"
    assert kind_of([(1, "area"), (40, "queue"), (2, "area")]) == "queue"
    # two kinds in the latest block: the later name, however the rows are ordered
    assert kind_of([(i, "queue" if i % 2 else "area") for i in range(6)]) == "queue"
    assert kind_of([(i, "area" if i % 2 else "queue") for i in range(6)]) == "queue"


# ---------------------------------------------------------------- the bottleneck score with a queue


@pytest.mark.parametrize("engine", ZONE_ENGINES)
def test_bottleneck_score_uses_queue_wait_where_there_is_one(engine: str) -> None:
    from retail_intel.kpis.compute import compute_kpis_for
    from retail_intel.kpis.inputs import BranchInfo
    from retail_intel.kpis.zone_schema import QUEUE_WAIT_INPUT_SCHEMA
    from tests.kpi_helpers import entered, movements_table

    shop = BranchInfo("b1", "UTC", capacity=10, customers_per_staff=10.0, min_staff=1)
    ten = dt.datetime(2026, 2, 9, 10, 0, tzinfo=UTC)
    moves = [
        entered("b1", ten + dt.timedelta(minutes=5), ten + dt.timedelta(minutes=20)),
        entered("b1", ten + dt.timedelta(hours=1, minutes=5), ten + dt.timedelta(hours=1, minutes=20)),
        entered("b1", ten + dt.timedelta(hours=2, minutes=5), ten + dt.timedelta(hours=2, minutes=20)),
    ]
    waits = pa.Table.from_pylist(
        [
            {"branch_id": "b1", "queue_enter": ten + dt.timedelta(minutes=6), "wait_seconds": 100.0},
            {"branch_id": "b1", "queue_enter": ten + dt.timedelta(minutes=8), "wait_seconds": 200.0},
            {"branch_id": "b1", "queue_enter": ten + dt.timedelta(hours=2, minutes=8), "wait_seconds": 900.0},
        ],
        schema=QUEUE_WAIT_INPUT_SCHEMA,
    )
    result = compute_kpis_for(
        [shop],
        Path("/nonexistent"),
        window_minutes=60,
        engine=engine,
        write=False,
        movements=movements_table(moves),
        queue_waits=waits,
    )
    scores = [row["bottleneck_score"] for row in result.table.to_pylist()]
    # nobody on staff: the staff part is congestion (1 of 10) * (1 - 0) = 0.1 in every window;
    # 10:00 waits 150 s on average (150 / 300 = 0.5), 12:00 waits 900 s (capped at 1)
    assert scores == pytest.approx([0.5, 0.1, 1.0])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    visits=st.lists(st.tuples(_moment, st.integers(1, 7200)), min_size=1, max_size=20),
    waits=st.lists(st.tuples(st.sampled_from(["b1", "b2"]), _moment, st.floats(0, 1200)), max_size=20),
    minutes=st.sampled_from([15, 60, 1440]),
)
def test_branch_engines_agree_on_the_bottleneck_with_queues(
    visits: list[tuple[dt.datetime, int]], waits: list[tuple[str, dt.datetime, float]], minutes: int
) -> None:
    from retail_intel.kpis.compute import run_engine
    from retail_intel.kpis.inputs import BranchInfo, KpiParams, prepare_inputs
    from retail_intel.kpis.zone_schema import QUEUE_WAIT_INPUT_SCHEMA
    from tests.kpi_helpers import assert_tables_match, entered, movements_table

    shops = [BranchInfo("b1", "Europe/London", 5, 2.0, 1), BranchInfo("b2", "Asia/Kolkata", 5, 2.0, 0)]
    moves = [entered(b, t, t + dt.timedelta(seconds=d)) for b in ("b1", "b2") for t, d in visits]
    table = pa.Table.from_pylist(
        [{"branch_id": b, "queue_enter": t, "wait_seconds": w} for b, t, w in waits], schema=QUEUE_WAIT_INPUT_SCHEMA
    )
    params = KpiParams(window_minutes=minutes)
    inputs = prepare_inputs(movements_table(moves), shops, params, queue_waits=table).inputs
    assert_tables_match(run_engine(inputs, params, "duckdb"), run_engine(inputs, params, "polars"))


# ---------------------------------------------------------------- staff are left out


@pytest.fixture
def staff_store(tmp_path: Path) -> Path:
    """A customer (7 s at the shelf) and a clerk flagged as staff (29 s at the shelf, 250 s queue -> till)."""
    customer = stay(1, [(0, 50, 50), (8, 150, 150), (9, 150, 150)])
    clerk = stay(2, [(0, 50, 50), (30, 250, 50), (280, 450, 50), (300, 550, 300), (301, 550, 300)])
    paths = [PersonPath("p1", customer), PersonPath("s1", clerk)]
    tables = judge_zones(paths, [SHELF, QUEUE, TILL], ZoneSource("b1", "c1", "f" * 64, T0, covered_s=400.0))
    write_zone_tables(tables, tmp_path, branch_id="b1", day=T0.date(), source_key="c1-x")
    moves = movement_rows([("p1", "c1", "entered", T0), ("s1", "c1", "entered", T0)], staff=frozenset({"s1"}))
    write_movements(moves, tmp_path, branch_id="b1", day=T0.date(), source_key="c1-x")
    return tmp_path


@pytest.mark.parametrize("engine", ZONE_ENGINES)
@pytest.mark.parametrize("include_staff", [False, True])
def test_staff_are_left_out_of_zone_and_queue_kpis(staff_store: Path, engine: str, include_staff: bool) -> None:
    result = compute_zone_kpis_for(
        {"b1": LONDON}, {("b1", "c1")}, staff_store, window_minutes=60, engine=engine, include_staff=include_staff
    )
    shelf = next(r for r in result.zones.to_pylist() if r["zone_id"] == "shelf")
    (queue,) = result.queues.to_pylist()  # the queue was watched: its row stays, with or without people
    if include_staff:
        assert (shelf["visits"], shelf["roi_people"], shelf["mean_dwell_seconds"]) == (2, 2, (7 + 29) / 2)
        assert (queue["people_queued"], queue["mean_wait_seconds"]) == (1, 250.0)
    else:
        assert (shelf["visits"], shelf["roi_people"], shelf["mean_dwell_seconds"]) == (1, 1, 7.0)
        assert (queue["people_queued"], queue["mean_wait_seconds"]) == (0, None)
        assert {r["zone_id"] for r in result.zones.to_pylist()} == {"shelf"}  # only the clerk queued


@pytest.mark.parametrize("engine", ZONE_ENGINES)
@pytest.mark.parametrize("include_staff", [False, True])
def test_staff_waits_are_left_out_of_the_bottleneck_score(staff_store: Path, engine: str, include_staff: bool) -> None:
    from retail_intel.kpis.compute import compute_kpis_for
    from retail_intel.kpis.inputs import BranchInfo

    shop = BranchInfo("b1", "UTC", capacity=10, customers_per_staff=10.0, min_staff=1)
    result = compute_kpis_for(
        [shop], staff_store, window_minutes=60, engine=engine, write=False, include_staff=include_staff
    )
    (row,) = result.table.to_pylist()
    # nobody on shift: congestion (people / 10) * (1 - 0); the clerk's 250 s wait only with the staff
    assert row["bottleneck_score"] == pytest.approx(250 / 300 if include_staff else 0.1)
