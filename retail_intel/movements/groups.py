"""Groups (buying units): people who arrive together and walk together.

A family of four is one buying unit; counting it as four buyers understates
conversion per party. The rule, over the judged people of one video:

1. **Arrive together.** Two people's arrival times (the moment each first
   stepped into the ROI, or was first seen for a passer-by) are at most
   :attr:`GroupRules.arrival_gap_s` apart.
2. **Move together.** Over the time both are tracked (at least
   :attr:`GroupRules.min_shared_s`), their foot points are within
   :attr:`GroupRules.distance_heights` body heights of each other (the mean
   of the two box heights at that moment, so the rule does not depend on the
   camera's resolution or on how far from the camera they walk) *and* keep
   their places beside each other (their offset changes by at most
   :attr:`GroupRules.max_relative_speed` body heights per second, over
   :attr:`GroupRules.speed_window_s`) for at least
   :attr:`GroupRules.together_fraction` of the shared time. Nearness alone
   is not enough: two strangers walking towards each other along a street
   seen at eye level stay within reach for seconds while they pass.

Pairs that pass both tests are linked and a group is a connected set of
links (a parent walking with two children who are each beside the parent
makes one group of three). Pure numpy: tested on hand-written tracks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class GroupRules:
    """The constants of the grouping rule (module docstring); defaults checked on the sample video."""

    arrival_gap_s: float = 4.0  # a few seconds: people walking in a line through a door
    distance_heights: float = 0.8  # side by side is about half a body height; 0.8 leaves room for jitter
    together_fraction: float = 0.7  # "most of the time": a brief split around a shelf is allowed
    min_shared_s: float = 2.0  # two people seen together for less than this prove nothing
    step_s: float = 0.25  # comparison grid: both paths are interpolated at this spacing
    # Companions drift apart or together slowly (a median 0.03-0.13 body heights/s on the TUD-Stadtmitte,
    # TUD-Campus and PETS09-S2L1 ground truth); people passing or overtaking close their gap at
    # 0.35-0.65 even where the street runs away from the camera and walking looks slow in the picture.
    max_relative_speed: float = 0.4  # body heights per second
    speed_window_s: float = 1.0  # the offset's change is measured over this long (smooths box jitter)


@dataclass(frozen=True)
class PersonPath:
    """One person's foot-point path: times (s, sorted), positions and box heights (px)."""

    arrival: float  # ROI entry (or first sighting of a passer-by), seconds
    t: FloatArray
    x: FloatArray
    y: FloatArray
    height: FloatArray


def together_fraction(
    a: PersonPath,
    b: PersonPath,
    step_s: float = 0.25,
    distance_heights: float = 0.8,
    max_relative_speed: float = 0.4,
    speed_window_s: float = 1.0,
) -> float:
    """Share of the shared tracked time during which ``a`` and ``b`` are within reach and keep their places; 0 without overlap.

    Keeping their places: the offset between the two foot points changes by at
    most ``max_relative_speed`` body heights per second, measured across
    ``speed_window_s`` (shorter at the ends of the shared time).
    """
    lo, hi = max(a.t[0], b.t[0]), min(a.t[-1], b.t[-1])
    if hi <= lo:
        return 0.0
    grid = np.arange(lo, hi + step_s / 2, step_s)
    ax, ay, ah = (np.interp(grid, a.t, v) for v in (a.x, a.y, a.height))
    bx, by, bh = (np.interp(grid, b.t, v) for v in (b.x, b.y, b.height))
    height = (ah + bh) / 2
    dx, dy = ax - bx, ay - by
    close = np.hypot(dx, dy) <= distance_heights * height
    before = np.clip(grid - speed_window_s / 2, lo, hi)
    after = np.clip(grid + speed_window_s / 2, lo, hi)
    moved = np.hypot(
        np.interp(after, grid, dx) - np.interp(before, grid, dx),
        np.interp(after, grid, dy) - np.interp(before, grid, dy),
    )
    steady = moved <= max_relative_speed * height * (after - before)
    return float(np.count_nonzero(close & steady)) / len(grid)


def moves_with(a: PersonPath, b: PersonPath, rules: GroupRules) -> bool:
    """Both tests of the rule for one pair."""
    if abs(a.arrival - b.arrival) > rules.arrival_gap_s:
        return False
    shared = min(a.t[-1], b.t[-1]) - max(a.t[0], b.t[0])
    if shared < rules.min_shared_s:
        return False
    fraction = together_fraction(
        a, b, rules.step_s, rules.distance_heights, rules.max_relative_speed, rules.speed_window_s
    )
    return fraction >= rules.together_fraction


def find_groups(people: Sequence[PersonPath], rules: GroupRules | None = None) -> list[int | None]:
    """Per person, the lowest index among their group's members, or None for someone alone.

    Only pairs whose arrivals are close are compared, so the cost follows
    the number of people arriving at the same time, not the square of everybody.
    """
    rules = rules or GroupRules()
    parent = list(range(len(people)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    order = sorted(range(len(people)), key=lambda i: people[i].arrival)
    for pos, i in enumerate(order):
        for j in order[pos + 1 :]:
            if people[j].arrival - people[i].arrival > rules.arrival_gap_s:
                break
            if moves_with(people[i], people[j], rules):
                ri, rj = root(i), root(j)
                parent[max(ri, rj)] = min(ri, rj)
    roots = [root(i) for i in range(len(people))]
    sizes: dict[int, int] = {}
    for r in roots:
        sizes[r] = sizes.get(r, 0) + 1
    return [r if sizes[r] > 1 else None for r in roots]
