"""Judging people while the stream runs gives the same people as judging the whole recording at the end."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from retail_intel.live.people import OpenFragments, PeoplePool
from retail_intel.movements.stitch import StitchSettings, stitch
from retail_intel.movements.tracks import Track
from retail_intel.vision.detections import Detections

IDLE_S = 3.0  # the track buffer: a fragment is closed this long after its last sample
STEP_S = 0.5  # how often the session looks for finished people


@st.composite
def fragments(draw: st.DrawFn) -> list[Track]:
    """Short straight walks that start near a few shared spots, so many could be stitched."""
    spots = [(100.0, 200.0), (130.0, 210.0), (400.0, 220.0)]
    out = []
    for fid in range(1, draw(st.integers(1, 9)) + 1):
        start = draw(st.floats(0, 20)) // 0.2 * 0.2
        duration = draw(st.floats(0.2, 4.0)) // 0.2 * 0.2
        x0, y0 = spots[draw(st.integers(0, len(spots) - 1))]
        vx = draw(st.sampled_from([-40.0, 0.0, 40.0]))
        height = draw(st.sampled_from([90.0, 100.0, 120.0]))
        t = np.round(np.arange(start, start + duration + 1e-9, 0.2), 6)
        samples = [(float(ti), x0 + vx * (ti - start), y0, height, 0.9) for ti in t]
        out.append(Track.from_samples(fid, samples, fps=5))
    return out


def people(tracks: list[Track], settings: StitchSettings | None = None) -> set[tuple[int, ...]]:
    return {tuple(sorted(p.fragment_ids)) for p in stitch(tracks, settings)}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fragments())
def test_live_finalisation_matches_the_offline_stitch(tracks: list[Track]) -> None:
    pool = PeoplePool(StitchSettings())
    closed: set[int] = set()
    finished: list[list[Track]] = []
    last_end = max(t.end for t in tracks)
    now = 0.0
    while now <= last_end + 2 * IDLE_S + 10:  # bounded: a finite stretch of time
        ended = [t for t in tracks if t.track_id not in closed and now - t.end > IDLE_S]
        closed.update(t.track_id for t in ended)
        pool.add(ended)
        # what the session would know of the fragments still open: their span so far
        spans = [(t.start, min(t.end, now)) for t in tracks if t.track_id not in closed and t.start <= now]
        taken = pool.take_final(now, spans)
        if taken:
            finished.append(taken)
        now += STEP_S
    finished.append(pool.take_all())
    assert len(pool) == 0
    # every fragment is judged exactly once, and each batch re-stitches into the same people
    assert sorted(t.track_id for batch in finished for t in batch) == sorted(t.track_id for t in tracks)
    live = set().union(*(people(batch) for batch in finished))
    assert live == people(tracks)


def standing(fid: int, t0: float, t1: float, x: float, y: float) -> Track:
    t = np.round(np.arange(t0, t1 + 1e-9, 0.2), 6)
    return Track.from_samples(fid, [(float(ti), x, y) for ti in t], fps=5)


def test_a_later_fragment_can_change_who_an_earlier_one_joins() -> None:
    """Four fragments of people standing still; the last one to arrive decides the pairs.

    Without fragment 1, stitching joins 4 -> 2 and leaves 3 alone. Fragment 1
    takes 4 (a cheaper link), which frees 2 for 3. Fragment 3 must not be
    judged alone before fragment 1 has been seen, although nothing could link
    to 3 itself by then.
    """
    f1, f2 = standing(1, 7.4, 8.2, 100, 200), standing(2, 5.8, 7.6, 130, 210)
    f3, f4 = standing(3, 0.0, 0.8, 100, 200), standing(4, 0.0, 1.8, 100, 200)
    # 3 and 4 stand on one spot at the same time, which the overlap merge would take for one
    # person under two ids; this test is about the order of links, so that merge is off
    no_merge = StitchSettings(max_overlap_s=0.0)
    assert people([f2, f3, f4], no_merge) == {(3,), (2, 4)}
    assert people([f1, f2, f3, f4], no_merge) == {(2, 3), (1, 4)}
    assert people([f3, f4]) == {(3, 4)}
    pool = PeoplePool(no_merge)
    pool.add([f2, f3, f4])
    # at 11 s: 3 ended 10 s ago, 2 and 4 are a group that fragment 1 (still tracked) may join
    assert pool.take_final(11.0, [(7.4, 8.2)]) == []
    pool.add([f1])
    taken = pool.take_final(15.0, [])
    assert people(taken, no_merge) == {(2, 3), (1, 4)} and len(pool) == 0
    # a group is not held forever: past max_hold_s its people that are final on their own go
    impatient = PeoplePool(no_merge, max_hold_s=5.0)
    impatient.add([f2, f3, f4])
    assert impatient.take_final(11.0, [(7.4, 8.2)]) == [f3]
    assert len(impatient) == 2


def test_nobody_is_final_while_a_continuation_could_still_come() -> None:
    pool = PeoplePool(StitchSettings(max_gap_s=3.0, still_gap_s=0.0))  # bridges 3 s at most
    first = Track.from_samples(1, [(0.0, 100, 200), (1.0, 140, 200)])
    pool.add([first])
    assert pool.take_final(3.5, []) == []  # 2.5 s after the end: a fragment may still start
    # an open fragment that started 1 s after the end might continue the person
    assert pool.take_final(5.0, [(2.0, 4.9)]) == []
    assert pool.take_final(5.0, []) == [first]


def test_a_tracker_id_seen_again_after_closing_is_a_new_fragment() -> None:
    frags = OpenFragments()
    box = np.array([[10, 10, 40, 100]], np.float32)
    conf = np.array([0.9], np.float32)
    seen = Detections(box, conf, tracker_id=np.array([7], np.int64))
    frags.add(0, 0.0, seen)
    frags.add(1, 0.1, seen)
    assert frags.close_idle(2.0, 3.0) == []
    (first,) = frags.close_idle(3.2, 3.0)
    frags.add(40, 4.0, seen)
    (second,) = frags.close_all()
    assert (first.track_id, len(first)) == (1, 2)
    assert (second.track_id, len(second)) == (2, 1)
    assert first.x[0] == 25.0 and first.y[0] == 100.0 and first.height[0] == 90.0
    assert len(frags) == 0


def test_uniform_shares_are_summed_per_fragment_as_the_file_run_does() -> None:
    # two people, ids 7 and 8; 8's crop is unusable in the second frame (NaN): left out
    frags = OpenFragments()
    boxes = Detections(
        np.array([[0, 0, 10, 20], [50, 0, 60, 20]], np.float32),
        np.array([0.9, 0.9], np.float32),
        tracker_id=np.array([7, 8], np.int64),
    )
    frags.add(0, 0.0, boxes, uniform=np.array([0.5, 0.1], np.float32))
    frags.add(1, 0.1, boxes, uniform=np.array([0.75, np.nan], np.float32))
    frags.add(2, 0.2, boxes)  # a frame measured nothing (no uniform configured then)
    one, two = frags.close_all()
    assert one.uniform_share == 0.625 and one.uniform is not None and one.uniform.n == 2
    assert two.uniform_share == np.float32(0.1) and two.uniform is not None and two.uniform.n == 1
    assert OpenFragments().close_all() == []


def test_a_snapshot_copies_the_open_fragments_seen_in_a_time_span_and_they_keep_growing() -> None:
    frags = OpenFragments()
    conf = np.array([0.9], np.float32)
    long_one = Detections(np.array([[10, 10, 40, 100]], np.float32), conf, tracker_id=np.array([7], np.int64))
    short_one = Detections(np.array([[60, 10, 90, 100]], np.float32), conf, tracker_id=np.array([8], np.int64))
    for frame in range(10):
        frags.add(frame, frame / 10, long_one)
    frags.add(9, 0.9, short_one)
    (part,) = frags.snapshot(0.25, 0.55, min_span_s=0.5)  # the short one is too short so far
    assert part.frames.tolist() == [3, 4, 5]
    assert {p.frames.tolist()[0] for p in frags.snapshot(0.85, 2.0)} == {9}
    assert len(frags.snapshot(0.85, 2.0)) == 2
    assert frags.snapshot(5.0, 6.0) == []
    frags.add(10, 1.0, long_one)  # a copy, not a view: the fragment still grows (no BufferError)
    first, _ = frags.close_all()
    assert len(first) == 11
