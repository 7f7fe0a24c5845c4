"""Zone visits, queue outcomes and queue length judged on hand-written tracks (no video)."""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from retail_intel.movements.geometry import Polygon
from retail_intel.movements.tracks import Track
from retail_intel.movements.zone_schema import QUEUE_LENGTH_SCHEMA, QUEUE_VISIT_SCHEMA, ZONE_VISIT_SCHEMA
from retail_intel.movements.zone_store import ZONE_VISITS_DIR, read_zone_table, write_zone_tables
from retail_intel.movements.zones import (
    QUEUE_GAP_S,
    PersonPath,
    Visit,
    ZoneSource,
    ZoneSpec,
    judge_zones,
    paths_from_trajectories,
    queue_lengths,
    queue_outcome,
    zone_visits,
)

START = dt.datetime(2026, 2, 8, 10, 0, 0, tzinfo=dt.UTC)
SHELF = ZoneSpec("shelf", Polygon.from_rect(0, 0, 100, 100), "area", 5.0)
QUEUE = ZoneSpec("queue", Polygon.from_rect(200, 0, 300, 100), "queue", 3.0, service="till")
TILL = ZoneSpec("till", Polygon.from_rect(400, 0, 500, 100), "service", 5.0)
LONE_QUEUE = ZoneSpec("lone", Polygon.from_rect(600, 0, 700, 100), "queue", 3.0)
SOURCE = ZoneSource("b1", "c1", "f" * 64, START, covered_s=120.0)


def walk(track_id: int, stops: list[tuple[float, float, float]]) -> Track:
    """A track sampled every second, standing at (x, y) from each stop's time until the next one's."""
    samples: list[tuple[float, float, float]] = []
    for (t0, x, y), (t1, _, _) in itertools.pairwise(stops):
        t = t0
        while t < t1:
            samples.append((t, x, y))
            t += 1.0
    t_last, x_last, y_last = stops[-1]
    samples.append((t_last, x_last, y_last))
    return Track.from_samples(track_id, samples)


def test_visits_split_on_long_absence_and_join_over_short_ones() -> None:
    # inside 0..4, out at 5 (1 s gap: joined), inside 6..9, out 10..19, inside 20..22 then the track ends
    track = walk(1, [(0, 50, 50), (5, 150, 50), (6, 50, 50), (10, 150, 50), (20, 50, 50), (22, 50, 50)])
    visits = zone_visits(track, SHELF.polygon, rejoin_s=2.0)
    assert visits == [Visit(0.0, 9.0, True), Visit(20.0, 22.0, False)]
    assert [v.dwell for v in visits] == [9.0, 2.0]
    # with no rejoin allowance the first stay splits in two
    assert len(zone_visits(track, SHELF.polygon, rejoin_s=0.5)) == 3
    assert zone_visits(walk(2, [(0, 150, 150), (3, 150, 150)]), SHELF.polygon) == []


def test_queue_outcomes_served_abandoned_unknown_and_walk_through() -> None:
    served = queue_outcome([Visit(10, 40, True)], [Visit(2, 3, True), Visit(41, 71, True)], 3.0)
    assert served is not None
    assert (served.wait_s, served.service_s, served.abandoned, served.queue_exit) == (31, 30, False, 40)
    gave_up = queue_outcome([Visit(10, 40, True)], [], 3.0)
    assert gave_up is not None and gave_up.abandoned is True and gave_up.wait_s is None
    still_there = queue_outcome([Visit(10, 40, False)], [], 3.0)
    assert still_there is not None and still_there.abandoned is None
    assert queue_outcome([Visit(10, 11, True)], [], 3.0) is None  # walked through
    no_till = queue_outcome([Visit(10, 12, True), Visit(20, 30, True)], None, 3.0)
    assert no_till is not None and no_till.wait_s == 20 and no_till.abandoned is None


def test_a_flick_into_the_till_is_not_service() -> None:
    # at the queue's head, the box crosses into the till for one sample (a 0 s visit) at 21 s;
    # the real service visit is 60..90 s, the till's min_dwell 5 s
    queue = [Visit(0, 20, True), Visit(22, 59, True)]
    till = [Visit(21, 21, True), Visit(60, 90, True)]
    served = queue_outcome(queue, till, 3.0, 5.0)
    assert served is not None
    assert (served.service_enter, served.wait_s, served.service_s) == (60, 60, 30)
    # the track ending in the till, however soon, is being served
    cut = queue_outcome(queue, [Visit(21, 21, True), Visit(60, 61, False)], 3.0, 5.0)
    assert cut is not None and (cut.wait_s, cut.abandoned) == (60, False)
    # a 4 s tap at the till after queueing, under its min_dwell: not served, and not seen giving up
    tap = queue_outcome(queue, [Visit(61, 65, True)], 3.0, 5.0)
    assert tap is not None and (tap.service_enter, tap.abandoned) == (None, None)
    # a till visit long after the stay (another errand) says nothing about it: abandoned
    later = queue_outcome(queue, [Visit(300, 304, True)], 3.0, 5.0)
    assert later is not None and later.abandoned is True


def test_queueing_is_time_in_the_queue_not_first_entry_to_last_exit() -> None:
    # two 1 s steps through the queue zone two minutes apart: 2 s inside, under min_dwell 3 s
    steps = [Visit(10, 11, True), Visit(130, 131, True)]
    assert queue_outcome(steps, [], 3.0, 5.0) is None
    assert queue_outcome(steps, None, 3.0) is None
    # a 2 s walk through the queue zone, ten minutes shopping, then straight to the till: not a wait
    assert queue_outcome([Visit(10, 12, True)], [Visit(610, 640, True)], 3.0, 5.0) is None
    # ... unless they queue again on the way: the wait starts with that stay
    back = queue_outcome([Visit(10, 12, True), Visit(600, 608, True)], [Visit(610, 640, True)], 3.0, 5.0)
    assert back is not None and (back.queue_enter, back.wait_s, back.service_s) == (600, 10, 30)
    # visits up to QUEUE_GAP_S apart are one stay: 2 + 2 s inside make min_dwell 3 s
    gap = QUEUE_GAP_S
    joined = queue_outcome([Visit(10, 12, True), Visit(12 + gap, 14 + gap, True)], [], 3.0, 5.0)
    assert joined is not None and (joined.queue_enter, joined.queue_exit, joined.abandoned) == (10, 14 + gap, True)
    apart = [Visit(10, 12, True), Visit(12.5 + gap, 14.5 + gap, True)]
    assert queue_outcome(apart, [], 3.0, 5.0) is None
    # and a stay leads to the till that begins at most QUEUE_GAP_S after it
    walked = queue_outcome([Visit(10, 12, True)], [Visit(12 + gap, 40 + gap, True)], 3.0, 5.0)
    assert walked is not None and walked.wait_s == 2 + gap


def test_steps_through_a_queue_zone_give_no_queue_row() -> None:
    walker = walk(1, [(0, 550, 300), (10, 250, 50), (12, 550, 300), (130, 250, 50), (132, 550, 300), (140, 550, 300)])
    later = walk(2, [(0, 550, 300), (10, 250, 50), (12, 550, 300), (610, 450, 50), (640, 550, 300), (641, 550, 300)])
    paths = [PersonPath("walker", walker), PersonPath("later", later)]
    long = ZoneSource("b1", "c1", "f" * 64, START, covered_s=700.0)
    assert judge_zones(paths, [QUEUE, TILL], long).queues.num_rows == 0
    lone = ZoneSpec("queue", QUEUE.polygon, "queue", 3.0)  # without a till: no 121 s "wait" either
    assert judge_zones(paths, [lone], long).queues.num_rows == 0


def test_a_visit_of_exactly_min_dwell_counts_at_any_frame_rate() -> None:
    # frames 26..61 at 7 fps: 61/7 - 26/7 is 4.999999999999999 in floats, stored as 5.0 s
    frames = np.arange(80)
    inside = (frames >= 26) & (frames <= 61)
    track = Track(1, frames, frames / 7.0, np.where(inside, 50.0, 300.0), np.full(80, 50.0), np.full(80, 100.0),
                  np.ones(80))  # fmt: skip
    (row,) = judge_zones([PersonPath("p", track)], [SHELF], SOURCE).visits.to_pylist()
    assert row["dwell_seconds"] == SHELF.min_dwell_s == 5.0 and row["counted"]
    # the queue's min_dwell compares the same stored dwell
    queue = ZoneSpec("queue", SHELF.polygon, "queue", 5.0)
    (queued,) = judge_zones([PersonPath("p", track)], [queue], SOURCE).queues.to_pylist()
    assert queued["wait_seconds"] == 5.0


def test_queue_length_per_minute_hand_computed() -> None:
    start_us = 30_000_000  # 30 s into the first minute
    # person A in the queue 10..40 s after start (40..70 absolute), B 20..100 (50..130)
    rows = queue_lengths([(10.0, 40.0), (20.0, 100.0)], start_us, covered_s=100.0)
    # minutes [0,60), [60,120), [120,180); covered 30..130
    assert [r[0] for r in rows] == [0, 60_000_000, 120_000_000]
    assert [r[1] for r in rows] == [30.0, 60.0, 10.0]
    assert [r[2] for r in rows] == [20.0 + 10.0, 10.0 + 60.0, 10.0]
    assert [r[3] for r in rows] == [2, 2, 1]
    empty = queue_lengths([], start_us, covered_s=10.0)
    assert empty == [(0, 10.0, 0.0, 0)]


def test_judge_zones_rows_hand_computed() -> None:
    shopper = walk(1, [(0, 50, 50), (8, 150, 150), (10, 150, 150)])  # 7 s at the shelf: counted
    glancer = walk(2, [(0, 150, 150), (4, 50, 50), (6, 150, 150), (9, 150, 150)])  # 1 s: not counted
    buyer = walk(3, [(10, 250, 50), (40, 450, 50), (70, 150, 150), (72, 150, 150)])  # 30 s queue, 29 s till
    leaver = walk(4, [(20, 250, 50), (30, 150, 150), (31, 150, 150)])  # 9 s in the queue, leaves
    lone = walk(5, [(0, 650, 50), (10, 650, 50)])  # 10 s in a queue without a till
    paths = [PersonPath(f"p{p.track_id}", p) for p in (shopper, glancer, buyer, leaver, lone)]
    tables = judge_zones(paths, [SHELF, QUEUE, TILL, LONE_QUEUE], SOURCE)
    assert tables.visits.schema == ZONE_VISIT_SCHEMA
    visits = {(r["customer_id"], r["zone_id"]): r for r in tables.visits.to_pylist()}
    assert set(visits) == {("p1", "shelf"), ("p2", "shelf"), ("p3", "queue"), ("p3", "till"), ("p4", "queue"),
                           ("p5", "lone")}  # fmt: skip
    assert visits[("p1", "shelf")]["dwell_seconds"] == 7.0 and visits[("p1", "shelf")]["counted"]
    assert visits[("p2", "shelf")]["dwell_seconds"] == 1.0 and not visits[("p2", "shelf")]["counted"]
    assert visits[("p3", "till")]["enter_time"] == START + dt.timedelta(seconds=40)
    assert visits[("p3", "till")]["dwell_seconds"] == 29.0
    assert visits[("p5", "lone")]["exit_observed"] is False  # the track ended in the queue

    assert tables.queues.schema == QUEUE_VISIT_SCHEMA
    queues = {r["customer_id"]: r for r in tables.queues.to_pylist()}
    assert set(queues) == {"p3", "p4", "p5"}
    assert (queues["p3"]["wait_seconds"], queues["p3"]["service_seconds"], queues["p3"]["abandoned"]) == (30, 29, False)
    assert queues["p3"]["service_zone_id"] == "till"
    assert (queues["p4"]["wait_seconds"], queues["p4"]["abandoned"]) == (None, True)
    assert (queues["p5"]["wait_seconds"], queues["p5"]["abandoned"], queues["p5"]["service_zone_id"]) == (
        10,
        None,
        None,
    )

    assert tables.queue_lengths.schema == QUEUE_LENGTH_SCHEMA
    lengths = [r for r in tables.queue_lengths.to_pylist() if r["zone_id"] == "queue"]
    assert [r["observed_seconds"] for r in lengths] == [60.0, 60.0]
    # p3 in the queue 10..39 (29 s), p4 20..29 (9 s): both in minute one, at once from 20 s
    assert lengths[0]["people_seconds"] == 29.0 + 9.0 and lengths[0]["peak_people"] == 2
    assert lengths[1]["people_seconds"] == 0.0 and lengths[1]["peak_people"] == 0


def test_no_zones_give_empty_tables_of_the_schemas() -> None:
    tables = judge_zones([PersonPath("p", walk(1, [(0, 1, 1), (3, 1, 1)]))], [], SOURCE)
    assert (tables.visits.num_rows, tables.queues.num_rows, tables.queue_lengths.num_rows) == (0, 0, 0)


def test_store_replaces_a_sources_files_and_rejudges_from_stored_paths(tmp_path: Path) -> None:
    shopper = walk(1, [(0, 50, 50), (8, 150, 150), (10, 150, 150)])
    tables = judge_zones([PersonPath("p1", shopper)], [SHELF], SOURCE)
    written = write_zone_tables(tables, tmp_path, branch_id="b1", day=START.date(), source_key="c1-abc")
    assert [p.relative_to(tmp_path).as_posix() for p in written] == [
        "zone_visits/b1/2026-02-08/c1-abc.parquet",
        "queue_visits/b1/2026-02-08/c1-abc.parquet",
        "queue_lengths/b1/2026-02-08/c1-abc.parquet",
    ]
    assert read_zone_table(tmp_path, ZONE_VISITS_DIR).num_rows == 1
    empty = judge_zones([PersonPath("p1", shopper)], [], SOURCE)
    write_zone_tables(empty, tmp_path, branch_id="b1", day=START.date(), source_key="c1-abc")
    assert read_zone_table(tmp_path, ZONE_VISITS_DIR).num_rows == 0  # replaced, not added to
    assert read_zone_table(tmp_path, ZONE_VISITS_DIR, ["b2"]).num_rows == 0

    stored = pa.table(
        {
            "customer_id": ["p1"] * len(shopper),
            "time": pa.array([START + dt.timedelta(seconds=float(t)) for t in shopper.t], pa.timestamp("us", "UTC")),
            "frame": shopper.frames,
            "x": pa.array(shopper.x, pa.float32()),
            "y": pa.array(shopper.y, pa.float32()),
        }
    )
    again = judge_zones(paths_from_trajectories(stored), [SHELF], SOURCE)
    assert again.visits.column("dwell_seconds").to_pylist() == [7.0]


@pytest.mark.parametrize("rejoin_s", [0.0, 1.0])
def test_every_visit_lies_within_its_track(rejoin_s: float) -> None:
    track = walk(1, [(0, 50, 50), (3, 150, 50), (5, 50, 50), (9, 50, 50)])
    for visit in zone_visits(track, SHELF.polygon, rejoin_s):
        assert track.start <= visit.enter_t <= visit.exit_t <= track.end


def test_people_without_a_movement_row_get_no_visits_but_count_in_the_queue_length() -> None:
    # A clerk who never steps into the ROI has no movement row, so nothing tells the zone KPIs
    # that they are staff: their visits (TUD-Stadtmitte: a man standing in one spot the whole
    # clip, in a staff zone outside the ROI) were counted as a shopper's and joined no movement.
    clerk = walk(1, [(0, 50, 50), (20, 250, 50), (30, 250, 50)])  # shelf 0..19, queue 20..30
    shopper = walk(2, [(0, 250, 50), (10, 250, 50)])  # in the queue 0..10
    paths = [PersonPath("clerk", clerk, counted=False), PersonPath("shopper", shopper)]
    tables = judge_zones(paths, [SHELF, QUEUE, TILL], SOURCE)
    assert set(tables.visits.column("customer_id").to_pylist()) == {"shopper"}
    assert tables.queues.column("customer_id").to_pylist() == ["shopper"]
    minute = tables.queue_lengths.to_pylist()[0]
    assert (minute["people_seconds"], minute["peak_people"]) == (10.0 + 10.0, 1)  # both people in the queue

    # re-judging from stored paths knows them by their null action_type
    stored = pa.table(
        {
            "customer_id": ["clerk"] * len(clerk) + ["shopper"] * len(shopper),
            "action_type": [None] * len(clerk) + ["passed"] * len(shopper),
            "time": pa.array(
                [START + dt.timedelta(seconds=float(t)) for t in [*clerk.t, *shopper.t]], pa.timestamp("us", "UTC")
            ),
            "frame": np.r_[clerk.frames, shopper.frames],
            "x": pa.array(np.r_[clerk.x, shopper.x], pa.float32()),
            "y": pa.array(np.r_[clerk.y, shopper.y], pa.float32()),
        }
    )
    again = judge_zones(paths_from_trajectories(stored, START), [SHELF, QUEUE, TILL], SOURCE)
    assert set(again.visits.column("customer_id").to_pylist()) == {"shopper"}
    assert again.queue_lengths.to_pylist()[0]["people_seconds"] == 20.0


def test_process_marks_people_who_were_not_an_event_as_not_counted() -> None:
    from retail_intel.movements.classify import Verdict
    from retail_intel.movements.events import Judgement
    from retail_intel.pipeline.zone_step import judgement_paths

    never_in_roi, passer = walk(1, [(0, 50, 50), (5, 50, 50)]), walk(2, [(0, 250, 50), (5, 250, 50)])
    judgement = Judgement([never_in_roi, passer], [Verdict(None), Verdict("passed", 0.0, 5.0)], 2, 0)
    paths = judgement_paths(judgement, "f" * 64, "c1")
    assert [p.counted for p in paths] == [False, True]
