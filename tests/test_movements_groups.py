"""The grouping rule on hand-written tracks: who walks with whom, exactly."""

from __future__ import annotations

import numpy as np

from retail_intel.movements.groups import GroupRules, PersonPath, find_groups, moves_with, together_fraction


def path(
    arrival: float, t0: float, t1: float, a: tuple[float, float], b: tuple[float, float], h: float = 100.0
) -> PersonPath:
    """A straight walk from ``a`` at ``t0`` to ``b`` at ``t1``, sampled at 10 Hz, box height ``h``."""
    t = np.linspace(t0, t1, round((t1 - t0) * 10) + 1)
    s = (t - t0) / (t1 - t0)
    return PersonPath(arrival, t, a[0] + (b[0] - a[0]) * s, a[1] + (b[1] - a[1]) * s, np.full(len(t), h))


def test_a_pair_walking_side_by_side_is_one_group() -> None:
    left = path(1.0, 0.0, 10.0, (0, 200), (500, 200))
    right = path(1.5, 0.0, 10.0, (0, 250), (500, 250))  # 50 px apart = 0.5 body heights
    assert together_fraction(left, right) == 1.0
    assert find_groups([left, right]) == [0, 0]


def test_arrivals_too_far_apart_are_not_a_group_even_side_by_side() -> None:
    left = path(1.0, 0.0, 10.0, (0, 200), (500, 200))
    right = path(5.5, 0.0, 10.0, (0, 250), (500, 250))  # arrival 4.5 s later, gap allows 4 s
    assert find_groups([left, right]) == [None, None]


def test_same_arrival_but_walking_apart_is_not_a_group() -> None:
    # Both start together, then one turns away: within reach only while 0.8 * 100 px apart.
    one = path(0.0, 0.0, 10.0, (0, 200), (500, 200))
    other = path(0.0, 0.0, 10.0, (0, 220), (0, 520))  # 30 px/s downwards while the first walks right
    near = together_fraction(one, other, max_relative_speed=float("inf"))  # nearness alone
    assert 0.0 < near < 0.7
    assert together_fraction(one, other) <= near
    assert not moves_with(one, other, GroupRules())
    assert find_groups([one, other]) == [None, None]


def test_distance_scales_with_body_height() -> None:
    # 120 px apart: too far for people 100 px tall (reach 80 px), near for people 200 px tall (reach 160).
    small = [path(0.0, 0.0, 5.0, (0, 200), (300, 200)), path(0.0, 0.0, 5.0, (0, 320), (300, 320))]
    tall = [path(0.0, 0.0, 5.0, (0, 200), (300, 200), 200.0), path(0.0, 0.0, 5.0, (0, 320), (300, 320), 200.0)]
    assert find_groups(small) == [None, None]
    assert find_groups(tall) == [0, 0]


def test_too_short_a_shared_time_proves_nothing() -> None:
    a = path(0.0, 0.0, 10.0, (0, 200), (500, 200))
    b = path(0.5, 8.5, 10.0, (425, 230), (500, 230))  # only 1.5 s together
    assert find_groups([a, b]) == [None, None]


def test_groups_are_linked_transitively_and_separate_groups_stay_apart() -> None:
    # A family of three in a row (each beside the next), a couple later, a loner in between.
    parent = path(10.0, 10.0, 20.0, (0, 300), (400, 300))
    child1 = path(10.5, 10.0, 20.0, (0, 240), (400, 240))  # 60 px above the parent
    child2 = path(11.0, 10.0, 20.0, (0, 360), (400, 360))  # 60 px below: 120 px from child1
    loner = path(12.0, 10.0, 20.0, (400, 100), (0, 100))  # walks the other way
    couple_a = path(40.0, 40.0, 50.0, (0, 300), (400, 300))
    couple_b = path(41.0, 40.0, 50.0, (10, 330), (410, 330))
    people = [couple_b, parent, loner, child1, couple_a, child2]
    assert find_groups(people) == [0, 1, None, 1, 0, 1]


def test_strangers_passing_each_other_head_on_are_not_a_group() -> None:
    # An eye-level street (TUD-Stadtmitte): people 200 px tall walk towards each other 20 px
    # apart in depth, each at 50 px/s, so they are within reach (160 px) from 0.4 s to 3.6 s:
    # 80 % of their 4 s together, though they only pass. Their offset changes at 0.5 heights/s.
    going_right = path(0.0, 0.0, 4.0, (0, 300), (200, 300), 200.0)
    going_left = path(0.0, 0.0, 4.0, (200, 320), (0, 320), 200.0)
    assert not moves_with(going_right, going_left, GroupRules())
    assert find_groups([going_right, going_left]) == [None, None]


def test_a_pair_drifting_slowly_apart_and_back_is_still_a_group() -> None:
    # One walks a little faster for a while (offset 0 -> 60 px -> 0 over 6 s: 0.2 heights/s).
    t = np.linspace(0.0, 6.0, 61)
    lead = PersonPath(
        0.0, t, 50.0 * t + np.where(t < 3.0, 20.0 * t, 120.0 - 20.0 * t), np.full(61, 300.0), np.full(61, 100.0)
    )
    follow = PersonPath(0.5, t, 50.0 * t, np.full(61, 340.0), np.full(61, 100.0))
    assert find_groups([lead, follow]) == [0, 0]
