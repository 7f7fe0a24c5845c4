"""Stitching rules about place: people walking out of view, and people standing still."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from retail_intel.movements.stitch import StitchSettings, fill_gaps, merge_overlapping, stitch
from retail_intel.movements.tracks import Track

from .fakes import segment

FRAME = (640, 480)


def test_walking_out_at_the_edge_and_someone_walking_in_are_two_people() -> None:
    # A walks right and leaves the picture at x=640; B appears at the same spot 0.3 s later
    leaving = segment(1, 0.0, 4.0, (400, 300), (630, 300))
    arriving = segment(2, 4.3, 8.0, (632, 302), (400, 300))
    assert len(stitch([leaving, arriving], StitchSettings(frame_size=FRAME))) == 2
    # without the frame size the stitcher cannot know it was the edge
    assert len(stitch([leaving, arriving], StitchSettings())) == 1


def test_a_gap_away_from_the_edge_is_still_bridged() -> None:
    before = segment(1, 0.0, 3.0, (100, 300), (220, 300))
    after = segment(2, 4.0, 7.0, (260, 300), (380, 300))
    assert len(stitch([before, after], StitchSettings(frame_size=FRAME))) == 1


def test_predicted_exits_keep_apart_someone_lost_short_of_the_edge_and_someone_walking_in() -> None:
    # A walks right at 65 px/s and is lost at x=560, 80 px short of the edge: carried on for
    # the 2.5 s gap they would be at x=722, out of the picture. B appears at x=600 walking left:
    # carried back, B came from x=750, outside too. Motion alone finds the link plausible.
    leaving = segment(1, 0.0, 4.0, (300, 300), (560, 300))
    arriving = segment(2, 6.5, 10.0, (600, 300), (390, 300))
    assert len(stitch([leaving, arriving], StitchSettings(frame_size=FRAME))) == 1  # off by default
    on = StitchSettings(frame_size=FRAME, predicted_exits=True)
    assert len(stitch([leaving, arriving], on)) == 2
    assert len(stitch([leaving, arriving], StitchSettings(predicted_exits=True))) == 1  # no frame size: no edge


def test_predicted_exits_still_join_a_person_who_came_from_inside() -> None:
    on = StitchSettings(frame_size=FRAME, predicted_exits=True)
    # hidden for 2.5 s on the way out, seen again still walking out: B came from inside the picture
    leaving = segment(1, 0.0, 4.0, (300, 300), (560, 300))
    still_leaving = segment(2, 6.5, 7.0, (610, 300), (632, 300))
    assert [p.fragment_ids for p in stitch([leaving, still_leaving], on)] == [(1, 2)]
    # hidden mid-picture: carried on, A stays inside the picture
    before = segment(1, 0.0, 3.0, (100, 300), (220, 300))
    after = segment(2, 4.0, 7.0, (260, 300), (380, 300))
    assert len(stitch([before, after], on)) == 1


def test_someone_standing_still_is_joined_across_a_long_gap() -> None:
    # stands at (300, 250), hidden behind a pillar for 5 s, seen again where they stood
    before = segment(1, 0.0, 4.0, (300, 250), (302, 250))
    after = segment(2, 9.0, 14.0, (303, 252), (300, 250))
    people = stitch([before, after])
    assert [p.fragment_ids for p in people] == [(1, 2)]


def test_a_long_gap_is_not_bridged_for_someone_walking() -> None:
    before = segment(1, 0.0, 4.0, (100, 250), (260, 250))  # 40 px/s
    after = segment(2, 9.0, 12.0, (300, 250), (420, 250))
    assert len(stitch([before, after])) == 2


def test_standing_still_elsewhere_is_somebody_else() -> None:
    before = segment(1, 0.0, 4.0, (300, 250), (300, 250))
    elsewhere = segment(2, 8.0, 12.0, (420, 250), (420, 250))  # 1.2 heights away
    assert len(stitch([before, elsewhere])) == 2


def test_still_rule_can_be_switched_off() -> None:
    before = segment(1, 0.0, 4.0, (300, 250), (302, 250))
    after = segment(2, 9.0, 14.0, (303, 252), (300, 250))
    assert len(stitch([before, after], StitchSettings(still_gap_s=0.0))) == 2


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 30), st.floats(0.5, 5), st.floats(0, 600), st.floats(-60, 60)), max_size=8))
def test_every_fragment_ends_up_in_exactly_one_person(parts: list[tuple[float, float, float, float]]) -> None:
    fragments = [
        segment(i + 1, t0, t0 + d, (x, 300), (min(639.0, max(0.0, x + vx * d)), 300))
        for i, (t0, d, x, vx) in enumerate(parts)
    ]
    people = stitch(fragments, StitchSettings(frame_size=FRAME))
    ids = sorted(i for p in people for i in p.fragment_ids)
    assert ids == sorted(f.track_id for f in fragments)
    # fragments are chained one after another; two that overlap in time were merged only
    # because they follow the same person (briefly, boxes agreeing over the overlap)
    by_id = {f.track_id: f for f in fragments}
    for person in people:
        chain = sorted((by_id[i] for i in person.fragment_ids), key=lambda f: f.start)
        for a, b in itertools.pairwise(chain):
            assert a.end < b.start or len(merge_overlapping([a, b])) == 1


def with_hole(step: int = 1) -> Track:
    """A walk at 10 fps (frames 0..30 every ``step``) with frames 10-14 missing."""
    frames = [f for f in range(0, 31, step) if not 10 <= f <= 14]
    return Track.from_samples(5, [(f / 10, 100 + 4 * f, 200, 100, 0.9) for f in frames], fps=10)


def test_a_short_hole_inside_a_fragment_is_filled() -> None:
    track = with_hole()
    filled = fill_gaps(track, max_gap_s=1.0)
    assert filled.frames.tolist() == list(range(31))
    hole = np.isin(filled.frames, range(10, 15))
    assert np.allclose(filled.x[hole], 100 + 4 * filled.frames[hole])  # on the straight line
    assert np.allclose(filled.t, filled.frames / 10)
    assert (filled.confidence[hole] == 0).all() and (filled.confidence[~hole] == 0.9).all()
    assert filled.fragment_ids == track.fragment_ids


def test_long_holes_and_the_stride_are_respected() -> None:
    assert len(fill_gaps(with_hole(), max_gap_s=0.4)) == len(with_hole())  # the hole is 0.6 s
    strided = fill_gaps(with_hole(step=2), max_gap_s=1.0)
    assert strided.frames.tolist() == list(range(0, 31, 2))  # every 2nd frame, as detected
    assert len(fill_gaps(with_hole(), max_gap_s=0.0)) == 26  # 0 turns filling off


def test_stitch_fills_holes_but_never_between_fragments() -> None:
    before = segment(1, 0.0, 3.0, (100, 300), (220, 300))
    after = segment(2, 4.0, 7.0, (260, 300), (380, 300))
    (person,) = stitch([before, after], StitchSettings(fill_gap_s=2.0))
    assert len(person) == len(before) + len(after)  # the gap between fragments stays a gap
    (holed,) = stitch([with_hole()])
    assert len(holed) == 31
