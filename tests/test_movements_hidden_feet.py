"""Feet hidden behind someone nearer: hand-written tracks for the situation and its look-alikes.

The situation (PETS09-S2L1, frames 562-568): a person walks along below the end of a door line
while a nearer person stands in front of them; the detector sees only their upper body, the box's
bottom (the foot point) jumps 60 px up the picture, into the line's span, and a crossing is
counted that never happened.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import retail_intel.movements.hidden_feet as hidden_feet
from retail_intel.batch.carry import Carry, carried_into, read_carry, write_carry
from retail_intel.movements.classify import CountingRules, line_crossings
from retail_intel.movements.events import SourceInfo, judge
from retail_intel.movements.geometry import CountingLine, parse_rect
from retail_intel.movements.hidden_feet import hidden_behind_nearer, place_hidden_feet
from retail_intel.movements.person_boxes import person_boxes_table
from retail_intel.movements.stitch import StitchSettings
from retail_intel.movements.tracks import Track
from retail_intel.pipeline.continuity import CarriedPerson, Continuity, judge_across_cut

FPS = 10.0
# a door line whose lower end is at y = 450: people walking along y = 480 pass below it
LINE = CountingLine((250, 150), (250, 450), "left", band_px=10)
RULES = CountingRules(parse_rect("0,0,640,600"), 1.0, line=LINE)
HEIGHT = 140.0


def track(track_id: int, t: np.ndarray, x: np.ndarray, y: np.ndarray, height: np.ndarray, width: float) -> Track:
    n = len(t)
    return Track(
        track_id=track_id,
        frames=np.round(t * FPS).astype(np.int64),
        t=t,
        x=x.astype(np.float64),
        y=y.astype(np.float64),
        height=height.astype(np.float64),
        confidence=np.full(n, 0.9),
        width=np.full(n, width),
    )


def walker(cut: float = 60.0, t_hidden: tuple[float, float] = (0.5, 1.5), top_drops: bool = False) -> Track:
    """Walks right along y = 480 (below the line's end), 50 px/s, for 2 s; while ``t_hidden`` its box
    loses ``cut`` px at the bottom (or, with ``top_drops``, at the top: crouching)."""
    t = np.round(np.arange(0, 2.01, 0.1), 6)
    x = 200 + 50 * t
    y = np.full(len(t), 480.0)
    height = np.full(len(t), HEIGHT)
    during = (t >= t_hidden[0]) & (t <= t_hidden[1])
    height[during] = HEIGHT - cut
    if not top_drops:
        y[during] = 480 - cut
    return track(1, t, x, y, height, width=50)


def stander(x: float = 250.0, y: float = 560.0, height: float = 150.0) -> Track:
    """Stands still, nearer the camera (feet lower in the picture), from 0.4 s to 1.6 s."""
    t = np.round(np.arange(0.4, 1.61, 0.1), 6)
    n = len(t)
    return track(2, t, np.full(n, x), np.full(n, y), np.full(n, height), width=60)


def test_the_cut_box_alone_counts_a_crossing_that_never_happened() -> None:
    # the situation without the rule: the cut boxes' foot points reach into the line's span
    assert line_crossings(walker(), LINE) == (1, 0)
    assert line_crossings(walker(cut=0.0), LINE) == (0, 0)


def test_feet_hidden_behind_a_nearer_person_are_placed_below_the_box_top() -> None:
    person, front = place_hidden_feet([walker(), stander()])
    assert front.visible_height is None  # nobody stands in front of the stander
    hidden = (person.t >= 0.5) & (person.t <= 1.5)
    # the box's top is kept, the feet are the usual height below it: back on y = 480
    np.testing.assert_allclose(person.y, 480.0)
    np.testing.assert_allclose(person.height, HEIGHT)
    np.testing.assert_allclose(person.y - person.height, walker().y - walker().height)
    # the detector's box is kept beside it
    assert person.visible_height is not None
    np.testing.assert_allclose(person.visible_height[hidden], HEIGHT - 60)
    np.testing.assert_allclose(person.box_bottom[hidden], 420.0)
    np.testing.assert_allclose(person.box_bottom[~hidden], 480.0)
    assert line_crossings(person, LINE) == (0, 0)


def test_judge_counts_no_crossing_for_the_hidden_walker_and_the_setting_turns_it_off() -> None:
    on = judge([walker(), stander()], RULES, min_track_s=0.5)
    off = judge([walker(), stander()], RULES, min_track_s=0.5, stitch_settings=StitchSettings(hidden_feet=False))
    assert (on.counts["line_in"], on.counts["line_out"]) == (0, 0)
    assert (off.counts["line_in"], off.counts["line_out"]) == (1, 0)


def test_a_person_crouching_in_the_open_keeps_the_feet_the_detector_gave() -> None:
    crouching = walker(top_drops=True)
    (person,) = place_hidden_feet([crouching])
    assert person is crouching
    # with a stander far to the side, nobody hides them either
    person, _ = place_hidden_feet([crouching, stander(x=450)])
    assert person is crouching


def test_a_person_in_front_whose_feet_are_higher_hides_nothing() -> None:
    # the "stander" is farther away (feet at y 400, above the walker's box bottom): the walker is in front
    person, _ = place_hidden_feet([walker(), stander(y=400, height=100)])
    assert person.visible_height is None
    np.testing.assert_allclose(person.y, walker().y)


def test_a_whole_box_behind_a_nearer_person_is_left_as_it_is() -> None:
    whole = walker(cut=0.0)
    person, _ = place_hidden_feet([whole, stander()])
    assert person is whole  # marked as possibly hidden, but no shorter than usual


def test_without_enough_boxes_around_the_usual_height_is_unknown_and_nothing_changes() -> None:
    # 7 samples, the last two cut: all 7 are within 1 s of them, so the usual height is known
    short = walker().take(walker().t <= 0.6)
    person, _ = place_hidden_feet([short, stander()])
    assert person.visible_height is not None
    np.testing.assert_allclose(person.y, 480.0)
    # one whole box and one cut one: two boxes are too few to tell the usual height
    few = walker().take((walker().t >= 0.4) & (walker().t <= 0.5))
    assert few.height.tolist() == [HEIGHT, HEIGHT - 60]
    person, _ = place_hidden_feet([few, stander()])
    assert person is few


def test_interpolated_samples_are_placed_but_do_not_set_the_usual_height() -> None:
    # the tracker lost the walker behind the stander for 0.8-1.2 s; gap filling gave those frames
    # boxes (confidence 0) on a ramp between the cut boxes around them, shorter still
    hidden_walker = walker()
    confidence = hidden_walker.confidence.copy()
    height = hidden_walker.height.copy()
    y = hidden_walker.y.copy()
    gap = (hidden_walker.t >= 0.8) & (hidden_walker.t <= 1.2)
    confidence[gap], height[gap], y[gap] = 0.0, 75.0, 415.0
    lost = Track(
        1, hidden_walker.frames, hidden_walker.t, hidden_walker.x, y, height, confidence, hidden_walker.box_width
    )
    person, _ = place_hidden_feet([lost, stander()])
    np.testing.assert_allclose(person.y, 480.0)  # the usual height comes from the 16 boxes seen
    np.testing.assert_allclose(person.height, HEIGHT)


def test_hidden_for_longer_than_the_window_allows_the_middle_stays_as_seen() -> None:
    # hidden for 2.8 s of a 4 s walk: around its middle nearly every box within a second is cut, so
    # the upper quartile is the cut height and the feet there stay where the detector put them
    t = np.round(np.arange(0, 4.01, 0.1), 6)
    during = (t >= 0.6) & (t <= 3.4)
    height = np.where(during, HEIGHT - 60, HEIGHT)
    y = np.where(during, 420.0, 480.0)
    person = track(1, t, 200 + 25 * t, y, height, width=50)
    front = track(2, t, np.full(len(t), 250.0), np.full(len(t), 560.0), np.full(len(t), 150.0), width=200)
    placed, _ = place_hidden_feet([person, front])
    np.testing.assert_allclose(placed.y[(t >= 1.3) & (t <= 2.7)], 420.0)
    # where over a quarter of the boxes within a second are whole, they set the usual height
    np.testing.assert_allclose(placed.y[(t >= 0.6) & (t <= 0.7)], 480.0)


def test_exported_boxes_are_the_ones_the_detector_gave() -> None:
    judgement = judge([walker(), stander()], RULES, min_track_s=0.5)
    source = SourceInfo(
        "b1",
        "cam",
        "v.mp4",
        "f" * 64,
        None,
        dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    )
    boxes = person_boxes_table(judgement, source)
    walker_rows = boxes.filter(np.asarray(boxes.column("track_id").to_numpy()) == 1)
    y1 = walker_rows.column("y1").to_numpy()
    y2 = walker_rows.column("y2").to_numpy()
    np.testing.assert_allclose(sorted(set(np.round(y2 - y1).tolist())), [HEIGHT - 60, HEIGHT])
    np.testing.assert_allclose(y1, 340.0)


def test_visible_height_travels_with_take_and_join_and_is_checked() -> None:
    person, _ = place_hidden_feet([walker(), stander()])
    first, second = person.take(person.t < 1.0), person.take(person.t >= 1.0)
    joined = Track.join([second, first])
    assert joined.visible_height is not None
    np.testing.assert_allclose(joined.visible_height, person.visible_box_height)
    with pytest.raises(ValueError, match="visible_height has 2 samples"):
        Track(
            1, np.arange(3), np.arange(3.0), np.zeros(3), np.zeros(3), np.ones(3), np.ones(3), visible_height=np.ones(2)
        )


def _naive_hidden(people: list[Track]) -> list[np.ndarray]:
    out = []
    for i, a in enumerate(people):
        marks = np.zeros(len(a), dtype=bool)
        for k in range(len(a)):
            for j, b in enumerate(people):
                if j == i:
                    continue
                for m in np.flatnonzero(b.frames == a.frames[k]):
                    marks[k] |= bool(
                        b.y[m] > a.y[k]
                        and b.y[m] - b.height[m] < a.y[k]
                        and abs(a.x[k] - b.x[m]) < (a.box_width[k] + b.box_width[m]) / 2
                    )
        out.append(marks)
    return out


@settings(max_examples=60, deadline=None)
@given(
    data=st.lists(
        st.lists(
            st.tuples(
                st.integers(0, 12),
                st.floats(0, 300),
                st.floats(50, 400),
                st.floats(20, 200),
                st.floats(5, 80),
            ),
            min_size=1,
            max_size=12,
        ),
        min_size=0,
        max_size=6,
    ),
    chunk=st.sampled_from([1, 3, 1 << 20]),
)
def test_the_same_frame_comparison_matches_a_plain_loop_in_any_chunking(
    data: list[list[tuple[int, float, float, float, float]]], chunk: int
) -> None:
    people = []
    for number, samples in enumerate(data):
        samples = sorted(samples)
        cols = np.asarray(samples, dtype=np.float64)
        people.append(
            Track(
                number,
                cols[:, 0].astype(np.int64),
                cols[:, 0] / FPS,
                cols[:, 1],
                cols[:, 2],
                cols[:, 3],
                np.full(len(samples), 0.9),
                cols[:, 4],
            )
        )
    previous = hidden_feet._PAIRS_PER_CHUNK
    hidden_feet._PAIRS_PER_CHUNK = chunk
    try:
        found = hidden_behind_nearer(people)
    finally:
        hidden_feet._PAIRS_PER_CHUNK = previous
    for got, want in zip(found, _naive_hidden(people), strict=True):
        np.testing.assert_array_equal(got, want)


@settings(max_examples=60, deadline=None)
@given(
    heights=st.lists(st.floats(10, 300), min_size=1, max_size=40),
    seen=st.lists(st.booleans(), min_size=40, max_size=40),
)
def test_usual_heights_are_the_upper_quartile_of_the_boxes_seen_within_a_second(
    heights: list[float], seen: list[bool]
) -> None:
    n = len(heights)
    t = np.arange(n) / FPS
    person = Track(
        1, np.arange(n), t, np.zeros(n), np.asarray(heights), np.asarray(heights), np.where(seen[:n], 0.9, 0.0)
    )
    got = hidden_feet.usual_heights(person, np.arange(n))
    for i in range(n):
        w = hidden_feet.USUAL_HEIGHT_WINDOW_S
        window = (t >= t[i] - w) & (t <= t[i] + w) & (person.confidence > 0)
        if window.sum() < hidden_feet.MIN_USUAL_SAMPLES:
            assert np.isnan(got[i])
        else:
            assert got[i] == pytest.approx(np.quantile(person.height[window], hidden_feet.USUAL_HEIGHT_QUANTILE))


def test_a_person_continued_after_a_cut_keeps_the_feet_placed_before_it() -> None:
    # segment N: the walker passes behind the stander and is still in view as the file ends;
    # segment N+1 continues them, and the stander, who hid them, is not in it
    segment_start = dt.datetime(2026, 1, 1, 10, tzinfo=dt.UTC)
    first = judge_across_cut([walker(), stander()], RULES, min_track_s=0.5, continuity=Continuity(), end_t=2.0)
    assert (first.judgement.counts["line_in"], first.judgement.counts["line_out"]) == (0, 0)
    people = tuple(CarriedPerson(f"c{p.track_id}", p) for p in first.open_tracks)
    path = write_carry(Path(tempfile.mkdtemp()) / "carry.json", Carry("k", segment_start, 21, FPS, people))
    carried = carried_into(read_carry(path), segment_start + dt.timedelta(seconds=2.1))
    t = np.round(np.arange(0, 1.01, 0.1), 6)
    onward = track(7, t, 300 + 50 * t, np.full(len(t), 480.0), np.full(len(t), HEIGHT), width=50)
    second = judge_across_cut([onward], RULES, min_track_s=0.5, continuity=Continuity(carry_in=carried), end_t=1.0)
    assert second.claimed == ("c1",)  # the walker, written whole by segment N+1
    (person,) = second.judgement.people
    np.testing.assert_allclose(person.y, 480.0)
    assert sorted(set(np.round(person.box_bottom).tolist())) == [420.0, 480.0]  # the boxes seen, kept
    assert (second.judgement.counts["line_in"], second.judgement.counts["line_out"]) == (0, 0)


def test_in_front_of_marks_the_samples_of_people_that_hide_someone_else() -> None:
    # the stander's box covers the walker's box bottom in the frames the walker is marked hidden in
    # (whole boxes at 0.4 and 1.6 s too: marked, though not cut short); the walker hides nobody
    stand, walk = stander(), walker()
    (front,) = hidden_feet.in_front_of([stand], [walk])
    _, walker_hidden = hidden_behind_nearer([stand, walk])
    np.testing.assert_array_equal(stand.frames[front], walk.frames[walker_hidden])
    assert walk.frames[walker_hidden].tolist() == list(range(4, 17))
    (front,) = hidden_feet.in_front_of([walk], [stand])
    assert not front.any()
    assert hidden_feet.in_front_of([stand], []) == [pytest.approx(np.zeros(len(stand), dtype=bool))]
