"""Where a person's feet are when someone nearer hides them.

Counting reads the foot point, the bottom centre of a person's box. When a
person walks behind someone nearer the camera, the detector sees only their
upper body and the box ends where the nearer person begins: the foot point
jumps up the picture by the hidden part, which on an elevated camera is a
step of a metre or more across the floor. Such a jump can cross a counting
line (or its end), leave an ROI or enter a zone that the person never did.

The rule, applied to judged people (after stitching), uses what the picture
does show:

* a sample's feet may be hidden when the bottom of its box lies between the top
  and the bottom of another person's box, that person's feet being lower in the
  picture (nearer the camera, on a floor seen from above the feet, which every
  ceiling or wall camera is) and the two boxes overlapping from side to side;
* such a sample whose box is shorter than the person's usual height (the upper
  quartile of their own detected box heights within a second either side) had
  its bottom cut off: its top is kept, and the feet are placed the usual height
  below it.

Nothing changes for someone nobody stands in front of, so a person who
crouches at a shelf in the open keeps the feet the detector gave. The box the
detector gave is kept beside the estimate (:attr:`Track.visible_height`), so
exported boxes are still the ones that were seen.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import numpy.typing as npt

from retail_intel.movements.tracks import Track

BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.intp]

# A person's usual height is taken from their own detected boxes this far either side (seconds):
# long enough to hold unhidden boxes around a passing occluder, short enough that walking towards
# or away from the camera hardly changes it.
USUAL_HEIGHT_WINDOW_S = 1.0
# The upper quartile: hidden boxes are the short ones, so the usual height comes from the rest.
USUAL_HEIGHT_QUANTILE = 0.75
# With fewer detected boxes in the window the usual height is not known, and nothing is changed.
MIN_USUAL_SAMPLES = 3
# Pairs of samples compared at a time (same-frame pairs of a crowded video are many).
_PAIRS_PER_CHUNK = 1 << 20


def _behind(people: Sequence[Track]) -> tuple[npt.NDArray[np.int64], Iterator[tuple[IntArray, IntArray]]]:
    """Each person's first sample's position in the samples of ``people`` laid end to end, and, in
    chunks, the pairs ``(i, j)`` of those positions where sample ``i``'s box bottom is hidden behind
    sample ``j`` of another person in the same frame."""
    counts = np.array([len(p) for p in people], dtype=np.int64)
    return np.cumsum(counts) - counts, _behind_pairs(people, counts)


def _behind_pairs(people: Sequence[Track], counts: npt.NDArray[np.int64]) -> Iterator[tuple[IntArray, IntArray]]:
    if len(people) < 2:
        return
    owner = np.repeat(np.arange(len(people)), counts)
    frame = np.concatenate([p.frames for p in people])
    x = np.concatenate([p.x for p in people])
    y = np.concatenate([p.y for p in people])
    height = np.concatenate([p.height for p in people])
    width = np.concatenate([p.box_width for p in people])
    order = np.argsort(frame, kind="stable")
    sorted_frames = frame[order]
    starts = np.flatnonzero(np.r_[True, sorted_frames[1:] != sorted_frames[:-1]])
    sizes = np.diff(np.r_[starts, len(order)])
    # consecutive frames whose same-frame pairs add up to about _PAIRS_PER_CHUNK
    bounds = np.searchsorted(np.cumsum(sizes**2), np.arange(_PAIRS_PER_CHUNK, int((sizes**2).sum()), _PAIRS_PER_CHUNK))
    for groups in np.split(np.arange(len(starts)), np.unique(bounds)):
        if not len(groups):
            continue
        group_sizes = sizes[groups]
        lo = int(starts[groups[0]])
        per_sample = np.repeat(group_sizes, group_sizes)  # each sample's frame's number of samples
        first = np.repeat(starts[groups], group_sizes)  # each sample's frame's first position
        a = np.repeat(np.arange(lo, lo + len(per_sample)), per_sample)
        offset = np.arange(len(a)) - np.repeat(np.cumsum(per_sample) - per_sample, per_sample)
        b = np.repeat(first, per_sample) + offset
        i, j = order[a], order[b]
        behind = (
            (owner[i] != owner[j])
            & (y[j] > y[i])  # j's feet are lower: j stands nearer
            & (y[j] - height[j] < y[i])  # and j's box reaches up past i's box bottom
            & (np.abs(x[i] - x[j]) < (width[i] + width[j]) / 2)  # the boxes overlap side to side
        )
        yield i[behind], j[behind]


def hidden_behind_nearer(people: Sequence[Track]) -> list[BoolArray]:
    """Per person, which samples have their box bottom within the height of a nearer person's box that
    overlaps theirs from side to side, in the same frame."""
    first, pairs = _behind(people)
    hidden = np.zeros(sum(len(p) for p in people), dtype=bool)
    for i, _ in pairs:
        hidden[i] = True
    return [hidden[a : a + len(p)] for a, p in zip(first.tolist(), people, strict=True)]


def in_front_of(people: Sequence[Track], others: Sequence[Track]) -> list[BoolArray]:
    """Per person of ``people``, which samples stand in front of a sample of one of ``others`` (hiding
    its box bottom, as :func:`hidden_behind_nearer` has it)."""
    if not others:  # nobody to hide: the pairs among ``people`` need not be found
        return [np.zeros(len(p), dtype=bool) for p in people]
    first, pairs = _behind([*people, *others])
    mine = int(sum(len(p) for p in people))
    front = np.zeros(mine, dtype=bool)
    for i, j in pairs:
        front[j[(j < mine) & (i >= mine)]] = True
    return [front[a : a + len(p)] for a, p in zip(first[: len(people)].tolist(), people, strict=True)]


def usual_heights(track: Track, at: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    """The person's usual box height around each sample of ``at`` (NaN where too few boxes were seen)."""
    seen = (track.confidence > 0) & np.isfinite(track.height)
    t, heights = track.t[seen], track.height[seen]
    lo = np.searchsorted(t, track.t[at] - USUAL_HEIGHT_WINDOW_S, side="left")
    hi = np.searchsorted(t, track.t[at] + USUAL_HEIGHT_WINDOW_S, side="right")
    usual = np.full(len(at), np.nan)
    known = hi - lo >= MIN_USUAL_SAMPLES
    if known.any():
        # one row per sample: its window's heights, sorted, padded with inf to the longest window;
        # the quantile interpolates linearly between the two ranks around q * (n - 1), as numpy's does
        lo, hi = lo[known], hi[known]
        index = lo[:, None] + np.arange(int((hi - lo).max()))[None, :]
        rows = np.sort(np.where(index < hi[:, None], heights[np.minimum(index, len(heights) - 1)], np.inf), axis=1)
        rank = USUAL_HEIGHT_QUANTILE * (hi - lo - 1)
        below = np.floor(rank).astype(np.int64)
        above = np.minimum(below + 1, hi - lo - 1)
        pick = np.arange(len(rows))
        usual[known] = rows[pick, below] + (rank - below) * (rows[pick, above] - rows[pick, below])
    return usual


def place_hidden_feet(people: Sequence[Track], others: Sequence[Track] = ()) -> list[Track]:
    """``people`` with the feet of samples hidden behind a nearer person placed below their box's top.

    Such a sample gets ``height`` = the person's usual height and ``y`` = its box's top plus it;
    the detector's box height is kept in ``visible_height``. Everyone else is returned as is.
    ``others`` may hide ``people`` but are not placed themselves (a live stream's people judged
    earlier, or still tracked).
    """
    placed: list[Track] = []
    hidden_all = hidden_behind_nearer([*people, *others])[: len(people)]
    for person, hidden in zip(people, hidden_all, strict=True):
        at = np.flatnonzero(hidden)
        if not len(at):
            placed.append(person)
            continue
        usual = usual_heights(person, at)
        short = usual > person.height[at]  # NaN compares false: unknown usual height, unchanged
        at, usual = at[short], usual[short]
        if not len(at):
            placed.append(person)
            continue
        y, height = person.y.copy(), person.height.copy()
        visible = person.visible_box_height.copy()
        y[at] = person.y[at] - person.height[at] + usual
        height[at] = usual
        placed.append(person.with_feet(y, height, visible))
    return placed
