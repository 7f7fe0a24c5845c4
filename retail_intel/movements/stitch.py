"""Joining track fragments of one person before they are judged.

A tracker loses people behind pillars and other shoppers and gives them a
new id when they reappear; counted naively, that person is counted twice.
A batch job sees the whole video, so fragments are joined offline: fragment
B continues fragment A when B starts shortly after A ends, near where A was
heading, at a similar apparent size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from retail_intel.movements.tracks import Track


@dataclass(frozen=True)
class StitchSettings:
    max_gap_s: float = 3.0  # longest occlusion bridged
    # allowed distance between predicted and observed position, in person
    # heights: base + growth per second of gap (people change speed and turn)
    base_heights: float = 0.6
    heights_per_s: float = 0.5
    max_height_ratio: float = 1.5  # apparent size may change this much
    velocity_window_s: float = 1.0
    max_speed_heights_per_s: float = 2.5  # cap extrapolation of jittery velocities


def _link_cost(a: Track, b: Track, s: StitchSettings) -> float | None:
    gap = b.start - a.end
    if gap <= 0 or gap > s.max_gap_s:
        return None
    tail = a.t >= a.end - s.velocity_window_s
    head = b.t <= b.start + s.velocity_window_s
    ha = float(np.median(a.height[tail]))
    hb = float(np.median(b.height[head]))
    if ha <= 0 or hb <= 0 or max(ha, hb) / min(ha, hb) > s.max_height_ratio:
        return None
    scale = (ha + hb) / 2
    vx, vy = a.velocity(s.velocity_window_s, at_end=True)
    speed = float(np.hypot(vx, vy))
    cap = s.max_speed_heights_per_s * scale
    if speed > cap:
        vx, vy = vx * cap / speed, vy * cap / speed
    px, py = a.x[-1] + vx * gap, a.y[-1] + vy * gap
    dist = float(np.hypot(b.x[0] - px, b.y[0] - py)) / scale
    allowed = s.base_heights + s.heights_per_s * gap
    if dist > allowed:
        return None
    return dist / allowed + gap / s.max_gap_s


def stitch(fragments: list[Track], settings: StitchSettings | None = None) -> list[Track]:
    """Join fragments into one track per person (greedy, cheapest links first).

    Each fragment gets at most one successor and one predecessor, so chains
    never branch; the result is sorted by start time.
    """
    s = settings or StitchSettings()
    ordered = sorted(fragments, key=lambda f: (f.start, f.track_id))
    candidates: list[tuple[float, int, int]] = []
    for i, a in enumerate(ordered):
        for j, b in enumerate(ordered):
            if b.start <= a.end or b.start - a.end > s.max_gap_s:
                continue
            cost = _link_cost(a, b, s)
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
