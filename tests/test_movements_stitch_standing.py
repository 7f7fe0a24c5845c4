"""Stitching for shoppers who stand: hand-written tracks for each failure mode of issue 15.

1. a second tracker id on a person whose first track is still alive (brief overlap);
2. a person standing still, lost for longer than the standing window, found again where they stood
   (joined only if they look the same: two people can take the same spot);
3. the dwell of a joined standing person includes the time they were hidden.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from retail_intel.movements.classify import CountingRules
from retail_intel.movements.events import judge
from retail_intel.movements.geometry import parse_rect
from retail_intel.movements.stitch import (
    StitchSettings,
    appearance_similarity,
    fill_gaps,
    merge_overlapping,
    stitch,
)
from retail_intel.movements.tracks import Track, TrackAccumulator

from .fakes import segment

ROI = parse_rect("100,100,500,400")
HALF = 72  # bins per half of a descriptor (any even split works for the stitcher)


def look(upper: int, lower: int) -> np.ndarray:
    """A descriptor whose upper half is all in bin ``upper`` and lower half all in bin ``lower``."""
    vec = np.zeros(2 * HALF)
    vec[upper] = 1.0
    vec[HALF + lower] = 1.0
    return vec


RED_OVER_BLUE = look(0, 40)
GREEN_OVER_GREY = look(20, 60)


def standing(track_id: int, t0: float, t1: float, at: tuple[float, float], appearance: np.ndarray | None) -> Track:
    """Somebody standing at ``at`` (a few px of jitter) from ``t0`` to ``t1``, with an appearance."""
    rng = np.random.default_rng(track_id)
    n = round((t1 - t0) * 10) + 1
    samples = [(t0 + i / 10, at[0] + rng.uniform(-2, 2), at[1] + rng.uniform(-2, 2), 100.0, 0.8) for i in range(n)]
    track = Track.from_samples(track_id, samples)
    return Track(**{**track.__dict__, "appearance": appearance})


# --- 1. two tracker ids on one person at the same time ---------------------------------------


def test_a_second_id_on_a_person_still_tracked_is_merged() -> None:
    # walks into the ROI and stands; the tracker starts id 2 on them 1 s before id 1 dies
    first = segment(1, 0.0, 5.0, (50, 250), (300, 250))
    second = segment(2, 4.0, 12.0, (250, 250), (300, 250))
    second = Track(**{**second.__dict__, "x": np.where(second.t <= 5.0, 50 + 50 * second.t, 300.0)})
    judged = judge([first, second], CountingRules(ROI, 2.0))
    assert judged.counts["people"] == 1
    assert (judged.counts["entered"], judged.counts["passed"]) == (1, 0)
    (person,) = judged.people
    assert sorted(person.fragment_ids) == [1, 2]
    assert len(np.unique(person.frames)) == len(person.frames)  # one sample per frame
    assert person.start == 0.0 and person.end == 12.0


def test_without_the_merge_the_duplicate_is_an_extra_passer_by() -> None:
    # the failure this rule fixes: the same tracks, overlap merging switched off
    first = segment(1, 0.0, 5.0, (50, 250), (300, 250))
    second = segment(2, 4.0, 5.5, (250, 250), (300, 250))
    off = judge(
        [first, second], CountingRules(ROI, 2.0), min_track_s=1.0, stitch_settings=StitchSettings(max_overlap_s=0)
    )
    on = judge([first, second], CountingRules(ROI, 2.0), min_track_s=1.0)
    assert (off.counts["people"], off.counts["passed"]) == (2, 1)
    assert (on.counts["people"], on.counts["passed"]) == (1, 0)


def test_two_ids_born_in_the_same_frame_on_one_person_are_merged() -> None:
    a = Track.from_samples(1, [(t / 10, 200 + t, 250, 100, 0.9) for t in range(0, 30)])
    b = Track.from_samples(2, [(t / 10, 201 + t, 250, 100, 0.5) for t in range(0, 12)])
    (merged,) = merge_overlapping([a, b])
    assert sorted(merged.fragment_ids) == [1, 2] and len(merged) == 30


def test_shared_frames_keep_the_more_confident_sample() -> None:
    a = Track.from_samples(1, [(t / 10, 200 + t, 250, 100, 0.9) for t in range(0, 30)])
    b = Track.from_samples(2, [(t / 10, 202 + t, 251, 100, 0.4) for t in range(20, 60)])
    (merged,) = merge_overlapping([a, b])
    shared = (merged.frames >= 20) & (merged.frames < 30)
    assert merged.frames.tolist() == list(range(60))
    assert (merged.confidence[shared] == 0.9).all() and (merged.confidence[merged.frames >= 30] == 0.4).all()


def test_two_people_side_by_side_are_not_merged() -> None:
    # walking together a body width apart: their boxes do not agree
    left = segment(1, 0.0, 6.0, (100, 250), (400, 250))
    right = segment(2, 5.0, 9.0, (400, 250), (600, 250))
    right = Track(**{**right.__dict__, "x": right.x + 45})
    assert len(merge_overlapping([left, right])) == 2


def test_two_people_converging_behind_one_another_are_not_merged_on_interpolated_frames() -> None:
    # TUD-Campus: two people walk side by side (boxes 26 px apart, IoU ~0.3); both are then hidden
    # for two seconds while they close up, and seen again one behind the other (IoU ~0.7). The frames
    # where neither was detected are the stitcher's own interpolation and agree by construction;
    # only the frames with a detection are evidence, and there the boxes disagree.
    def walker(track_id: int, dx_seen: float, dx_end: float) -> Track:
        seen = [(t / 10, 200 + 5 * t + dx_seen, 360, 150, 0.7) for t in range(0, 6)]
        again = [(t / 10, 200 + 5 * t + dx_end, 360, 150, 0.7) for t in range(26, 30)]
        return Track.from_samples(track_id, seen + again)

    front, behind = walker(1, 0.0, 0.0), walker(2, 26.0, 6.0)
    filled = [fill_gaps(front, 3.0), fill_gaps(behind, 3.0)]
    assert len(merge_overlapping(filled, StitchSettings(max_overlap_s=3.0))) == 2
    # the same two fragments detected throughout at the end positions are one person's two ids
    close = Track.from_samples(2, [(t / 10, 200 + 5 * t + 6.0, 360, 150, 0.7) for t in range(0, 30)])
    assert len(merge_overlapping([fill_gaps(front, 3.0), close], StitchSettings(max_overlap_s=3.0))) == 1


def test_two_people_are_never_merged_through_a_third_fragment_between_them() -> None:
    # A and B stand 24 px apart (IoU 0.25); a jittery fragment C between them agrees with each
    a = standing(1, 0.0, 3.0, (100, 250), None)
    b = standing(2, 2.0, 5.0, (124, 250), None)
    c = standing(3, 2.5, 4.0, (112, 250), None)
    merged = merge_overlapping([a, b, c])
    assert not any({1, 2} <= set(m.fragment_ids) for m in merged)
    assert len(merged) == 2


def test_a_long_overlap_is_two_people_even_if_boxes_agree() -> None:
    # two people standing one behind the other for a long time (a queue seen from the front)
    front = standing(1, 0.0, 20.0, (300, 250), None)
    behind = standing(2, 3.0, 25.0, (300, 250), None)
    assert len(merge_overlapping([front, behind])) == 2
    assert len(merge_overlapping([front, behind], StitchSettings(max_overlap_s=30.0))) == 1


@settings(max_examples=40, deadline=None)
# times on the 10 fps grid, so that each hand-written fragment has one sample per frame
@given(
    st.lists(
        st.tuples(
            st.integers(0, 200).map(lambda i: i / 10), st.integers(5, 50).map(lambda i: i / 10), st.floats(0, 600)
        ),
        min_size=1,
        max_size=6,
    )
)
def test_merging_loses_no_frame_and_duplicates_none(parts: list[tuple[float, float, float]]) -> None:
    fragments = [segment(i + 1, t0, t0 + d, (x, 300), (x + 10, 300)) for i, (t0, d, x) in enumerate(parts)]
    merged = merge_overlapping(fragments)
    assert sorted(i for m in merged for i in m.fragment_ids) == list(range(1, len(parts) + 1))
    for person in merged:
        members = [f for f in fragments if f.track_id in person.fragment_ids]
        assert set(person.frames.tolist()) == {int(f) for m in members for f in m.frames}
        assert len(set(person.frames.tolist())) == len(person.frames)


# --- 2. a standing person lost for long, found again where they stood -------------------------


def test_standing_person_hidden_for_long_is_joined_if_they_look_the_same() -> None:
    # browsing a shelf at (300, 250): seen 0-5 s, hidden 5-20 s behind another shopper, seen 20-30 s
    before = standing(1, 0.0, 5.0, (300, 250), RED_OVER_BLUE)
    after = standing(2, 20.0, 30.0, (302, 251), RED_OVER_BLUE)
    (person,) = stitch([before, after])
    assert person.fragment_ids == (1, 2)


def test_someone_else_taking_the_same_spot_is_not_joined() -> None:
    before = standing(1, 0.0, 5.0, (300, 250), RED_OVER_BLUE)
    other = standing(2, 20.0, 30.0, (302, 251), GREEN_OVER_GREY)
    assert len(stitch([before, other])) == 2


def test_same_top_different_trousers_is_somebody_else() -> None:
    before = standing(1, 0.0, 5.0, (300, 250), look(0, 40))
    other = standing(2, 20.0, 30.0, (300, 250), look(0, 60))  # similarity 0.5
    assert len(stitch([before, other])) == 2


def test_beyond_the_standing_window_place_alone_is_not_enough() -> None:
    # no appearance known (e.g. tracks from elsewhere): the old 6 s standing window still holds
    before = standing(1, 0.0, 5.0, (300, 250), None)
    after = standing(2, 20.0, 30.0, (300, 250), None)
    assert len(stitch([before, after])) == 2
    within = standing(3, 9.0, 15.0, (300, 250), None)
    assert len(stitch([before, within])) == 1


def test_too_long_a_gap_or_another_spot_is_never_joined() -> None:
    before = standing(1, 0.0, 5.0, (300, 250), RED_OVER_BLUE)
    much_later = standing(2, 70.0, 80.0, (300, 250), RED_OVER_BLUE)  # 65 s > appearance_gap_s
    elsewhere = standing(3, 20.0, 30.0, (400, 250), RED_OVER_BLUE)  # 1 height away
    assert len(stitch([before, much_later])) == 2
    assert len(stitch([before, elsewhere])) == 2


def test_someone_walking_is_not_joined_across_a_long_gap_even_if_alike() -> None:
    walking = segment(1, 0.0, 5.0, (100, 250), (300, 250))
    walking = Track(**{**walking.__dict__, "appearance": RED_OVER_BLUE})
    later = standing(2, 20.0, 30.0, (300, 250), RED_OVER_BLUE)
    assert len(stitch([walking, later])) == 2


def test_how_far_a_person_hidden_for_long_may_have_moved_is_appearance_heights() -> None:
    # PETS09-S2L1, far end: someone standing lost for 8 s and found 0.67 heights from where they
    # stood (they shifted; a 60 px person's foot point is noisy), looking the same (similarity .97)
    before = standing(1, 0.0, 5.0, (300, 250), RED_OVER_BLUE)
    after = standing(2, 13.0, 20.0, (367, 250), RED_OVER_BLUE)
    assert len(stitch([before, after])) == 2  # the default allowance, 0.5 heights
    wider = StitchSettings(appearance_heights=0.75)
    (person,) = stitch([before, after], wider)
    assert person.fragment_ids == (1, 2)
    # looking different, or further than appearance_heights, they are somebody else
    assert len(stitch([before, standing(3, 13.0, 20.0, (367, 250), GREEN_OVER_GREY)], wider)) == 2
    assert len(stitch([before, standing(4, 13.0, 20.0, (385, 250), RED_OVER_BLUE)], wider)) == 2
    # within the 6 s standing window place alone decides, with the standing allowance
    assert len(stitch([before, standing(5, 9.0, 15.0, (367, 250), RED_OVER_BLUE)], wider)) == 2


def jolted_at_the_end(track_id: int, t0: float, t1: float, at: tuple[float, float], jolt: float) -> Track:
    """Somebody standing still whose last box jumps ``jolt`` px sideways (an occluder cuts it) as they are lost."""
    track = standing(track_id, t0, t1, at, RED_OVER_BLUE)
    x = track.x.copy()
    x[-1] = at[0] + jolt
    return Track(**{**track.__dict__, "x": x})


def test_a_standing_person_whose_last_box_jolts_still_counts_as_standing() -> None:
    # 100 px tall, still; the last box is 40 px off: the window's end points alone would say
    # 0.4 heights/s, over the 0.3 a standing link allows, and split one shopper in two
    before = jolted_at_the_end(1, 0.0, 5.0, (300, 250), jolt=40.0)
    assert float(np.hypot(*before.velocity(1.0, at_end=True))) / 100 > StitchSettings().still_speed_heights_per_s
    assert float(np.hypot(*before.steady_velocity(1.0, at_end=True))) / 100 < 0.05
    after = standing(2, 9.0, 15.0, (320, 250), RED_OVER_BLUE)  # seen again 4 s later, where they stood
    (person,) = stitch([before, after])
    assert person.fragment_ids == (1, 2)


def test_a_jolted_last_box_after_missed_frames_is_no_walk_either() -> None:
    # the occluder arrives: the tracker misses 0.4 s, then one cut box 40 px off, then nothing.
    # Gap filling bridges the miss with a straight ramp to that box; its samples are no detections
    track = jolted_at_the_end(1, 0.0, 5.0, (300, 250), jolt=40.0)
    keep = (track.t <= 4.5 + 1e-9) | (track.t >= 5.0 - 1e-9)
    before = Track(
        **{
            **track.__dict__,
            **{k: getattr(track, k)[keep] for k in ("frames", "t", "x", "y", "height")},
            "confidence": track.confidence[keep],
            "width": track.box_width[keep],
        }
    )
    filled = fill_gaps(before, 1.0)
    assert len(filled) == len(track)
    assert float(np.hypot(*filled.velocity(1.0))) / 100 > 0.3  # the ramp reads as walking
    assert float(np.hypot(*filled.steady_velocity(1.0))) / 100 < 0.05
    (person,) = stitch([before, standing(2, 9.0, 15.0, (320, 250), RED_OVER_BLUE)])
    assert person.fragment_ids == (1, 2)


def test_someone_who_walks_off_steadily_is_not_standing() -> None:
    # a shopper who leaves the shelf for the last half of the window walks: no standing link
    walk_off = standing(1, 0.0, 5.0, (300, 250), RED_OVER_BLUE)
    x = walk_off.x.copy()
    x[walk_off.t > 4.5] = 300 + 100 * (walk_off.t[walk_off.t > 4.5] - 4.5)  # 1 height/s
    walk_off = Track(**{**walk_off.__dict__, "x": x})
    assert float(np.hypot(*walk_off.steady_velocity(1.0))) / 100 > 0.3
    assert len(stitch([walk_off, standing(2, 9.0, 15.0, (350, 250), RED_OVER_BLUE)])) == 2


def test_a_moving_link_follows_a_late_turn() -> None:
    # walking right at 140 px/s, turning down 0.3 s before being lost, found 2.5 s later walking
    # down: carried on by where they were heading at the end (the end points), they are joined
    n = 31
    t = np.linspace(0.0, 3.0, n)
    x = np.where(t <= 2.7, 100 + 140 * t, 100 + 140 * 2.7)
    y = np.where(t <= 2.7, 200.0, 200 + 140 * (t - 2.7))
    before = Track.from_samples(
        1, [(float(a), float(b), float(c), 100.0, 0.8) for a, b, c in zip(t, x, y, strict=True)]
    )
    last_x, last_y = float(x[-1]), float(y[-1])
    after = segment(2, 5.5, 7.0, (last_x, last_y + 140 * 2.5), (last_x, last_y + 140 * 4.0))
    (person,) = stitch([before, after])
    assert person.fragment_ids == (1, 2)


# --- 3. dwell of a joined standing person --------------------------------------------------------


def test_dwell_includes_the_time_hidden_between_linked_fragments() -> None:
    # before: "entered 5 s" plus "passed 1.5 s"; after: one person entered, dwell 30 s
    before = standing(1, 0.0, 5.0, (300, 250), RED_OVER_BLUE)
    after = standing(2, 28.5, 30.0, (300, 250), RED_OVER_BLUE)
    rules = CountingRules(ROI, 2.0)
    split = judge([before, after], rules, stitch_settings=StitchSettings(appearance_gap_s=0.0))
    assert (split.counts["entered"], split.counts["passed"]) == (1, 1)
    joined = judge([before, after], rules)
    assert (joined.counts["entered"], joined.counts["passed"]) == (1, 0)
    assert joined.verdicts[0].dwell == pytest.approx(30.0)


# --- the descriptor maths ---------------------------------------------------------------------


def test_similarity_is_one_for_the_same_look_and_zero_for_disjoint_colours() -> None:
    assert appearance_similarity(RED_OVER_BLUE, RED_OVER_BLUE) == pytest.approx(1.0)
    assert appearance_similarity(RED_OVER_BLUE, GREEN_OVER_GREY) == pytest.approx(0.0)
    assert appearance_similarity(look(0, 40), look(0, 60)) == pytest.approx(0.5)
    flat = np.full(2 * HALF, 1.0 / HALF)
    assert 0 < appearance_similarity(flat, RED_OVER_BLUE) < 0.5
    with pytest.raises(ValueError, match="two equal halves"):
        appearance_similarity(RED_OVER_BLUE, RED_OVER_BLUE[:10])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=8, max_size=8), st.lists(st.floats(0, 1), min_size=8, max_size=8))
def test_similarity_is_symmetric_and_bounded(a: list[float], b: list[float]) -> None:
    va, vb = np.asarray(a), np.asarray(b)
    s = appearance_similarity(va, vb)
    assert s == pytest.approx(appearance_similarity(vb, va))
    assert -1e-9 <= s <= 1 + 1e-9


@dataclass(frozen=True)
class Tracked:
    """One frame's tracked boxes, as the video side hands them on."""

    xyxy: npt.NDArray[np.float32]
    confidence: npt.NDArray[np.float32]
    tracker_id: npt.NDArray[np.int64]


def test_the_accumulator_keeps_the_mean_appearance_per_track_id() -> None:
    acc = TrackAccumulator()
    boxes = np.array([[0, 0, 10, 20], [50, 0, 60, 20]], np.float32)
    conf = np.array([0.9, 0.8], np.float32)
    both = Tracked(boxes, conf, np.array([1, 2], np.int64))
    acc.add(0, 0.0, both, np.array([[1, 0], [0, 1]], np.float32))
    acc.add(1, 0.1, both, np.array([[0, 1], [0, 1]], np.float32))
    acc.add(2, 0.2, Tracked(boxes[:1], conf[:1], np.array([1], np.int64)))  # a frame without descriptors
    one, two = acc.tracks()
    # stored and read back, the tracks (appearance included) are the same
    again = TrackAccumulator.from_table(acc.to_table()).tracks()
    assert [t.appearance.tolist() for t in again] == [t.appearance.tolist() for t in (one, two)]  # type: ignore[union-attr]
    assert one.appearance is not None and one.appearance.tolist() == [0.5, 0.5]
    assert two.appearance is not None and two.appearance.tolist() == [0.0, 1.0]
    assert len(one) == 3
    joined = Track.join([one, Track(**{**two.__dict__, "t": two.t + 1})])
    assert joined.appearance is not None
    assert joined.appearance.tolist() == pytest.approx([0.3, 0.7])  # weighted by samples: 3 and 2
