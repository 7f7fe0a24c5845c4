"""Joining track fragments of one person before they are judged.

A tracker loses people behind pillars and other shoppers and gives them a
new id when they reappear; counted naively, that person is counted twice.
A batch job sees the whole video, so fragments are joined offline: fragment
B continues fragment A when B starts shortly after A ends, near where A was
heading (and, looking back, where B came from), at a similar apparent size.

Two more rules, both about *place*:

* someone standing still and missed for a while (behind a pillar, in a
  queue) is joined across a longer gap, if they reappear where they stood;
* a fragment that ends at the edge of the picture is a person walking out
  of view, and one that starts at the edge a person walking in: those two
  are never joined, however close in time and place (one customer leaves by
  the door as the next one comes in). This needs the frame size.

Two more for shoppers who stand (browsing, talking, queueing):

* a tracker sometimes starts a second id on a person whose first track is
  still alive; the two overlap in time for a moment. Fragments that overlap
  briefly and whose boxes agree over the whole overlap are one person and are
  merged before linking (the better-confirmed sample wins in shared frames);
* someone lost for longer than ``still_gap_s`` (up to ``appearance_gap_s``)
  and found again where they stood is joined only if they also *look* the
  same: the colour histograms of the upper and lower halves of their boxes
  agree. That keeps two different people who take the same spot apart.

A joined person's dwell runs from their first to their last moment inside
the ROI, so the time they were hidden between linked fragments counts.

Before linking, the frames a tracker missed *inside* one fragment (it lost
the person and found them again under the same id) are filled in by linear
interpolation; those samples have confidence 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from retail_intel.movements.tracks import FloatArray, Track


@dataclass(frozen=True)
class StitchSettings:
    max_gap_s: float = 3.0  # longest occlusion bridged for a moving person
    # allowed distance between predicted and observed position, in person
    # heights: base + growth per second of gap (people change speed and turn)
    base_heights: float = 0.6
    heights_per_s: float = 0.5
    max_height_ratio: float = 1.5  # apparent size may change this much
    velocity_window_s: float = 1.0
    max_speed_heights_per_s: float = 2.5  # cap extrapolation of jittery velocities
    # someone standing still (slower than still_speed at both ends) is joined
    # across up to still_gap_s if they reappear within still_heights of where they stood
    still_gap_s: float = 6.0
    still_heights: float = 0.5
    still_speed_heights_per_s: float = 0.3
    # (width, height) of the frame; with it, fragments that end and start at
    # the edge (within edge_px) are exits and entries and never joined
    frame_size: tuple[int, int] | None = None
    edge_px: float = 5.0
    # with the frame size: a moving link is refused when A, carried on at its
    # (capped) velocity, would have left the picture before B appeared, and B,
    # carried back, came from outside it (a person lost just short of the edge
    # while walking out, and somebody else walking in there). Off: on PETS09-S2L1
    # it splits the one wrong join it targets (IDF1 .854 -> .888), but that join
    # had been cancelling another error, so the counts get worse (docs/accuracy.md)
    predicted_exits: bool = False
    # frames the tracker missed inside one fragment (it lost and re-found the
    # same id) are filled in by linear interpolation, for gaps up to this long;
    # filled samples have confidence 0. 0 turns it off.
    fill_gap_s: float = 1.0
    # two fragments overlapping in time for up to max_overlap_s whose boxes
    # agree (median IoU over the shared frames >= overlap_iou) are one person
    # with two tracker ids. 0 turns it off.
    max_overlap_s: float = 2.0
    overlap_iou: float = 0.5
    # someone standing still and missed for longer than still_gap_s, up to
    # appearance_gap_s, is joined only if both fragments carry an appearance
    # descriptor and they look alike (similarity >= min_similarity, 0..1)
    appearance_gap_s: float = 60.0
    min_similarity: float = 0.85
    # ... and found within appearance_heights of where they stood. Standing that
    # long, people shift and step aside (and a small person's foot point is
    # noisy); 0.75 joins two such people on PETS09-S2L1 but changes no count, so
    # leave-one-clip-out keeps the standing allowance (docs/accuracy.md)
    appearance_heights: float = 0.5
    # not a join: once people are stitched, the feet of a person whose box bottom is hidden behind
    # someone nearer are placed their usual height below the box's top (retail_intel.movements.hidden_feet)
    hidden_feet: bool = True


def fill_gaps(track: Track, max_gap_s: float) -> Track:
    """``track`` with the frames missing inside it (gaps up to ``max_gap_s``) linearly interpolated.

    Only the frame step the track itself shows (its smallest frame difference:
    the stride) is filled; filled samples get confidence 0, so they are never
    mistaken for detections.
    """
    if len(track) < 2 or max_gap_s <= 0:
        return track
    steps = np.diff(track.frames)
    step = int(steps[steps > 0].min()) if (steps > 0).any() else 0
    if step <= 0:
        return track
    dt = np.diff(track.t)
    holes = np.flatnonzero((steps > step) & (dt <= max_gap_s))
    if not len(holes):
        return track
    added = np.concatenate([np.arange(track.frames[i] + step, track.frames[i + 1], step) for i in holes])
    frames = np.sort(np.concatenate([track.frames, added]))
    observed = np.isin(frames, track.frames)
    at = frames.astype(np.float64)
    known = track.frames.astype(np.float64)

    def interp(values: FloatArray) -> FloatArray:
        return np.asarray(np.interp(at, known, values), dtype=np.float64)

    return Track(
        track_id=track.track_id,
        frames=frames.astype(np.int64),
        t=interp(track.t),
        x=interp(track.x),
        y=interp(track.y),
        height=interp(track.height),
        confidence=np.where(observed, interp(track.confidence), 0.0),
        width=interp(track.box_width),
        fragment_ids=track.fragment_ids,
        appearance=track.appearance,
        uniform=track.uniform,
    )


def _at_edge(track: Track, index: int, s: StitchSettings) -> bool:
    if s.frame_size is None:
        return False
    width, height = s.frame_size
    half = float(track.box_width[index]) / 2
    x, y, h = float(track.x[index]), float(track.y[index]), float(track.height[index])
    m = s.edge_px
    return x - half <= m or x + half >= width - m or y - h <= m or y >= height - m


def _outside(point: npt.NDArray[np.float64], s: StitchSettings) -> bool:
    """Whether a foot point lies beyond the picture (False without a frame size)."""
    if s.frame_size is None:
        return False
    width, height = s.frame_size
    x, y = float(point[0]), float(point[1])
    return x < 0 or x > width or y < 0 or y > height


def _capped(v: tuple[float, float], cap: float) -> np.ndarray:
    vec = np.asarray(v, dtype=np.float64)
    speed = float(np.hypot(*vec))
    return vec * cap / speed if speed > cap else vec


def appearance_similarity(a: FloatArray, b: FloatArray) -> float:
    """How alike two descriptors look, 0..1: the Bhattacharyya coefficient of each half, averaged.

    A descriptor is two histograms of equal length (upper half of the box, then
    lower half), each summing to 1; 1.0 means identical colour distributions.
    """
    if a.shape != b.shape or len(a) % 2:
        raise ValueError(f"appearance descriptors must be two equal halves of one length, got {a.shape}, {b.shape}")
    half = len(a) // 2
    coeffs = []
    for part in (slice(0, half), slice(half, None)):
        p, q = np.clip(a[part], 0, None), np.clip(b[part], 0, None)
        norm = float(np.sqrt(p.sum() * q.sum()))
        coeffs.append(float(np.sqrt(p * q).sum()) / norm if norm > 0 else 0.0)
    return float(np.mean(coeffs))


def _look_alike(a: Track, b: Track, s: StitchSettings) -> bool:
    if a.appearance is None or b.appearance is None:
        return False  # beyond still_gap_s, place alone is not enough
    return appearance_similarity(a.appearance, b.appearance) >= s.min_similarity


def _boxes(track: Track, index: npt.NDArray[np.int64]) -> FloatArray:
    half = track.box_width[index] / 2
    x, y, h = track.x[index], track.y[index], track.height[index]
    return np.stack([x - half, y - h, x + half, y], axis=1)


def _iou(p: FloatArray, q: FloatArray) -> FloatArray:
    w = np.clip(np.minimum(p[:, 2], q[:, 2]) - np.maximum(p[:, 0], q[:, 0]), 0, None)
    h = np.clip(np.minimum(p[:, 3], q[:, 3]) - np.maximum(p[:, 1], q[:, 1]), 0, None)
    inter = w * h
    union = (p[:, 2] - p[:, 0]) * (p[:, 3] - p[:, 1]) + (q[:, 2] - q[:, 0]) * (q[:, 3] - q[:, 1]) - inter
    return np.asarray(np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0), dtype=np.float64)


def _overlap_agreement(a: Track, b: Track, s: StitchSettings) -> float | None:
    """Median IoU of ``a`` and ``b`` over their shared frames, if they overlap briefly and agree."""
    overlap = min(a.end, b.end) - max(a.start, b.start)
    if overlap < 0 or overlap > s.max_overlap_s:
        return None
    _, ia, ib = np.intersect1d(a.frames, b.frames, return_indices=True)
    # frames where neither was detected hold two interpolations, which agree by construction
    # whenever the two ends do: only frames with a detection in at least one are evidence
    seen = (a.confidence[ia] > 0) | (b.confidence[ib] > 0)
    ia, ib = ia[seen], ib[seen]
    if not len(ia):
        return None
    agreement = float(np.median(_iou(_boxes(a, ia.astype(np.int64)), _boxes(b, ib.astype(np.int64)))))
    return agreement if agreement >= s.overlap_iou else None


def _merge_samples(parts: list[Track]) -> Track:
    """One track from fragments that share frames: per frame, the most confident sample."""
    joined = Track.join(parts)
    order = np.lexsort((-joined.confidence, joined.frames))
    first = np.zeros(len(joined), dtype=bool)
    _, at = np.unique(joined.frames[order], return_index=True)
    first[order[at]] = True
    return joined.take(first)


def merge_overlapping(fragments: list[Track], settings: StitchSettings | None = None) -> list[Track]:
    """Merge fragments that follow the same person at the same time (two tracker ids on one person).

    Pairs overlapping for at most ``max_overlap_s`` whose boxes agree over the
    overlap (median IoU >= ``overlap_iou``) are merged, best agreement first.
    """
    s = settings or StitchSettings()
    if s.max_overlap_s <= 0 or len(fragments) < 2:
        return fragments
    ordered = sorted(fragments, key=lambda f: (f.start, f.track_id))
    starts = np.array([f.start for f in ordered])
    pairs: list[tuple[float, int, int]] = []
    for i, a in enumerate(ordered):
        # fragments starting while A is alive (ordered by start; the same start included)
        hi = int(np.searchsorted(starts, a.end, side="right"))
        for j in range(i + 1, hi):
            agreement = _overlap_agreement(a, ordered[j], s)
            if agreement is not None:
                pairs.append((-agreement, i, j))
    group = list(range(len(ordered)))

    def root(i: int) -> int:
        while group[i] != i:
            group[i] = group[group[i]]
            i = group[i]
        return i

    agreeing = {(i, j) for _neg, i, j in pairs}
    members: dict[int, list[int]] = {i: [i] for i in range(len(ordered))}
    for _neg, i, j in sorted(pairs):
        ri, rj = root(i), root(j)
        if ri == rj:
            continue
        # never through a third fragment: every two members alive at the same time must agree
        if any(
            (min(p, q), max(p, q)) not in agreeing
            for p in members[ri]
            for q in members[rj]
            if min(ordered[p].end, ordered[q].end) >= max(ordered[p].start, ordered[q].start)
        ):
            continue
        keep, gone = min(ri, rj), max(ri, rj)
        group[gone] = keep
        members[keep].extend(members.pop(gone))
    return [
        ordered[parts[0]] if len(parts) == 1 else _merge_samples([ordered[k] for k in parts])
        for parts in members.values()
    ]


def _link_cost(a: Track, b: Track, s: StitchSettings) -> float | None:
    """How well ``b`` continues ``a`` (lower is better); None when it cannot be the same person."""
    gap = b.start - a.end
    if gap <= 0 or gap > _horizon(s):
        return None
    if _at_edge(a, -1, s) and _at_edge(b, 0, s):
        return None  # walked out of view; somebody else walked in
    tail = a.t >= a.end - s.velocity_window_s
    head = b.t <= b.start + s.velocity_window_s
    ha = float(np.median(a.height[tail]))
    hb = float(np.median(b.height[head]))
    if ha <= 0 or hb <= 0 or max(ha, hb) / min(ha, hb) > s.max_height_ratio:
        return None
    scale = (ha + hb) / 2
    va = a.velocity(s.velocity_window_s, at_end=True)
    vb = b.velocity(s.velocity_window_s, at_end=False)
    end_a = np.array([a.x[-1], a.y[-1]])
    start_b = np.array([b.x[0], b.y[0]])
    if gap > s.max_gap_s:
        # only someone who stood still, seen again where they stood (steady: one jolted box as
        # they were hidden is no walk; carrying a moving person on keeps the end points' velocity)
        slow = s.still_speed_heights_per_s * scale
        sa = a.steady_velocity(s.velocity_window_s, at_end=True)
        sb = b.steady_velocity(s.velocity_window_s, at_end=False)
        if np.hypot(*sa) > slow or np.hypot(*sb) > slow:
            return None
        moved = float(np.hypot(*(start_b - end_a))) / scale
        if gap > s.still_gap_s:
            # hidden for long: the same spot is not enough, they must look the same
            if moved > s.appearance_heights or not _look_alike(a, b, s):
                return None
            return 2.0 + moved / s.appearance_heights + gap / s.appearance_gap_s
        if moved > s.still_heights:
            return None
        return 1.0 + moved / s.still_heights + gap / s.still_gap_s
    cap = s.max_speed_heights_per_s * scale
    # where A was heading, and (looking back) where B came from
    heading = end_a + _capped(va, cap) * gap
    came_from = start_b - _capped(vb, cap) * gap
    if s.predicted_exits and _outside(heading, s) and _outside(came_from, s):
        return None  # A walked out of view during the gap, and B walked in
    forward = float(np.hypot(*(heading - start_b))) / scale
    backward = float(np.hypot(*(came_from - end_a))) / scale
    dist = (forward + backward) / 2
    allowed = s.base_heights + s.heights_per_s * gap
    if dist > allowed:
        return None
    return dist / allowed + gap / s.max_gap_s


def _horizon(s: StitchSettings) -> float:
    """The longest gap any rule may bridge."""
    return max(s.max_gap_s, s.still_gap_s, s.appearance_gap_s if s.still_gap_s > 0 else 0.0)


def stitch(fragments: list[Track], settings: StitchSettings | None = None) -> list[Track]:
    """Join fragments into one track per person (greedy, cheapest links first).

    Briefly overlapping fragments that agree are merged first
    (:func:`merge_overlapping`). Each fragment gets at most one successor and
    one predecessor, so chains never branch; the result is sorted by start time.
    """
    s = settings or StitchSettings()
    horizon = _horizon(s)
    filled = merge_overlapping([fill_gaps(f, s.fill_gap_s) for f in fragments], s)
    ordered = sorted(filled, key=lambda f: (f.start, f.track_id))
    starts = np.array([f.start for f in ordered])
    candidates: list[tuple[float, int, int]] = []
    for i, a in enumerate(ordered):
        # fragments starting after A ends, within the horizon (ordered by start)
        lo, hi = np.searchsorted(starts, [a.end, a.end + horizon], side="right")
        for j in range(int(lo), int(hi)):
            cost = _link_cost(a, ordered[j], s)
            if cost is not None:
                candidates.append((cost, i, j))
    successor: dict[int, int] = {}
    predecessor: dict[int, int] = {}
    for _cost, i, j in sorted(candidates):
        if i in successor or j in predecessor:
            continue
        successor[i] = j
        predecessor[j] = i
    people = []
    for i in range(len(ordered)):
        if i in predecessor:
            continue
        chain = [ordered[i]]
        while i in successor:
            i = successor[i]
            chain.append(ordered[i])
        people.append(Track.join(chain))
    return sorted(people, key=lambda p: (p.start, p.track_id))
