"""The counting rules on hand-written tracks: no video, no model."""

import pytest

from retail_intel.errors import InputError
from retail_intel.movements.classify import CountingRules, classify, line_crossings
from retail_intel.movements.geometry import CountingLine, Polygon, parse_rect
from retail_intel.movements.tracks import Track

ROI = parse_rect("100,100,300,300")


def walk(track_id: int, points: list[tuple[float, float, float]]) -> Track:
    return Track.from_samples(track_id, points, fps=10)


def linear(track_id: int, t0: float, t1: float, a: tuple[float, float], b: tuple[float, float], fps: int = 10) -> Track:
    n = round((t1 - t0) * fps) + 1
    samples = [(t0 + i / fps, a[0] + (b[0] - a[0]) * i / (n - 1), a[1] + (b[1] - a[1]) * i / (n - 1)) for i in range(n)]
    return walk(track_id, samples)


def test_person_who_stays_is_entered_with_first_and_last_moment_inside() -> None:
    # outside at t=0..1, inside from t=1.5 to t=6.0, then outside again
    person = walk(
        1, [(0.0, 50, 200), (1.0, 90, 200), (1.5, 150, 200), (4.0, 200, 200), (6.0, 250, 200), (7.0, 350, 200)]
    )
    verdict = classify(person, CountingRules(ROI, min_dwell_s=2.0))
    assert verdict.action == "entered"
    assert verdict.enter_t == 1.5
    assert verdict.exit_t == 6.0
    assert verdict.dwell == pytest.approx(4.5)
    assert verdict.exit_observed


def test_person_who_crosses_quickly_is_passed() -> None:
    person = linear(2, 0.0, 3.0, (50, 200), (350, 200))  # 100 px/s: inside 1.0 s
    verdict = classify(person, CountingRules(ROI, min_dwell_s=2.0))
    assert verdict.action == "passed"
    assert verdict.dwell < 2.0


def test_min_dwell_boundary_is_inclusive() -> None:
    person = walk(3, [(0.0, 50, 200), (1.0, 150, 200), (3.0, 150, 210), (4.0, 50, 200)])
    assert classify(person, CountingRules(ROI, min_dwell_s=2.0)).action == "entered"
    assert classify(person, CountingRules(ROI, min_dwell_s=2.01)).action == "passed"


def test_still_inside_at_the_end_has_no_observed_exit() -> None:
    person = walk(4, [(0.0, 50, 200), (1.0, 150, 200), (9.0, 160, 220)])
    verdict = classify(person, CountingRules(ROI, min_dwell_s=2.0))
    assert verdict.action == "entered"
    assert verdict.exit_t == 9.0
    assert not verdict.exit_observed


def test_never_near_is_not_an_event() -> None:
    person = linear(5, 0.0, 5.0, (400, 50), (400, 500))
    assert classify(person, CountingRules(ROI)).action is None


def test_passby_zone_counts_people_who_never_entered() -> None:
    pavement = Polygon(((350, 0), (450, 0), (450, 600), (350, 600)))
    person = linear(6, 0.0, 5.0, (400, 50), (400, 500))
    verdict = classify(person, CountingRules(ROI, passby_zone=pavement))
    assert verdict.action == "passed"
    assert verdict.enter_t == 0.0 and verdict.exit_t == 5.0


def test_entering_wins_over_passby() -> None:
    pavement = Polygon(((0, 0), (600, 0), (600, 90), (0, 90)))
    person = walk(7, [(0.0, 200, 50), (1.0, 200, 150), (5.0, 200, 200), (6.0, 200, 50)])
    assert classify(person, CountingRules(ROI, passby_zone=pavement)).action == "entered"


DOOR = CountingLine((100.0, 200.0), (300.0, 200.0), in_side="right", band_px=10.0)  # right of -> is y > 200


def test_line_counts_each_direction() -> None:
    person = walk(8, [(0, 200, 150), (1, 200, 190), (2, 200, 230), (3, 200, 260), (4, 200, 180), (5, 200, 150)])
    assert line_crossings(person, DOOR) == (1, 1)


def test_jitter_inside_the_band_is_not_counted() -> None:
    # the foot point wobbles across the line but never leaves the +-10 px band on the far side
    ys = [150, 195, 205, 196, 204, 198, 207, 150]
    person = walk(9, [(i, 200, y) for i, y in enumerate(ys)])
    assert line_crossings(person, DOOR) == (0, 0)


def test_walking_around_the_end_of_the_line_is_no_crossing() -> None:
    person = walk(10, [(0, 400, 150), (1, 400, 250), (2, 400, 300)])
    assert line_crossings(person, DOOR) == (0, 0)


def test_line_crossings_reach_the_verdict() -> None:
    ys = [150, 150, 260, 260, 150, 150, 260, 260]  # each side seen twice: every crossing is confirmed
    person = walk(11, [(i, 200, y) for i, y in enumerate(ys)])
    verdict = classify(person, CountingRules(ROI, line=DOOR))
    assert (verdict.line_in, verdict.line_out) == (2, 1)


def test_one_outlying_box_beyond_the_band_is_no_crossing() -> None:
    # someone standing just outside the door line; one box's foot point jumps 25 px over it (a bag,
    # a leg) and straight back: before crossings needed confirming, that was one in and one out
    ys = [180, 182, 181, 225, 183, 180, 181]
    person = walk(12, [(i / 10, 200, y) for i, y in enumerate(ys)])
    assert line_crossings(person, DOOR) == (0, 0)
    assert line_crossings(person, CountingLine(DOOR.start, DOOR.end, "right", 10.0, confirm_samples=1)) == (1, 1)


def test_a_crossing_not_confirmed_before_the_track_ends_is_not_counted() -> None:
    # PETS09-S2L1 east door: a person drifting back onto the line as the video ends, their last foot
    # point 11 px past it (1 px beyond the band), the ground truth's 6 px: no crossing out
    ys = [260, 240, 222, 214, 207, 203, 199, 189]
    person = walk(13, [(i / 7, 200, y) for i, y in enumerate(ys)])
    assert line_crossings(person, DOOR) == (0, 0)
    walked_on = walk(14, [(i / 7, 200, y) for i, y in enumerate([*ys, 185])])  # seen beyond once more
    assert line_crossings(walked_on, DOOR) == (0, 1)


def test_samples_inside_the_band_do_not_reset_a_crossing_being_confirmed() -> None:
    # across (225), back inside the band (205), across again (230): two samples beyond, one crossing
    ys = [150, 190, 225, 205, 230, 205]
    person = walk(15, [(i / 10, 200, y) for i, y in enumerate(ys)])
    assert line_crossings(person, DOOR) == (1, 0)
    # but a sample beyond the band on the side it came from does: it never left
    back = walk(16, [(i / 10, 200, y) for i, y in enumerate([150, 190, 225, 185, 230, 205])])
    assert line_crossings(back, DOOR) == (0, 0)


def test_confirm_samples_must_be_positive() -> None:
    with pytest.raises(InputError, match="confirm_samples"):
        CountingLine((0.0, 0.0), (10.0, 0.0), confirm_samples=0)
