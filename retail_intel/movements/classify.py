"""Judging each person once, from their whole trajectory, against a camera's regions.

Rules (documented in docs/counting.md):

* ``entered``: the foot point was inside the ROI and the span from the first
  to the last moment inside is at least ``min_dwell`` seconds.
  enter_time = first moment inside, exit_time = last moment inside;
  ``exit_observed`` is false when the person was never seen outside the ROI
  after that last moment (the video or their track ended while inside).
* ``passed``: inside the ROI, but for less than ``min_dwell``; or, where a
  pass-by zone is configured, seen in it without ever being inside the ROI.
* anybody else (never in the ROI or the pass-by zone) is not an event.
* line crossings are counted per direction with a hysteresis band.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from retail_intel.movements.geometry import CountingLine, Polygon
from retail_intel.movements.tracks import Track


@dataclass(frozen=True)
class CountingRules:
    roi: Polygon
    min_dwell_s: float = 2.0
    passby_zone: Polygon | None = None
    line: CountingLine | None = None

    def check_inside_frame(self, width: int, height: int) -> None:
        """Refuse (:class:`InputError`) an ROI, pass-by zone or line reaching outside a ``width`` x ``height`` frame."""
        self.roi.check_inside_frame(width, height)
        if self.passby_zone is not None:
            self.passby_zone.check_inside_frame(width, height, "pass-by zone")
        if self.line is not None:
            self.line.check_inside_frame(width, height)


@dataclass(frozen=True)
class Verdict:
    """What one person did. ``action`` is None when they are not an event."""

    action: str | None
    enter_t: float | None = None
    exit_t: float | None = None
    exit_observed: bool = True
    line_in: int = 0
    line_out: int = 0

    @property
    def dwell(self) -> float:
        if self.enter_t is None or self.exit_t is None:
            return 0.0
        return self.exit_t - self.enter_t


def line_crossings(track: Track, line: CountingLine) -> tuple[int, int]:
    """(in, out) crossings of ``line``: the foot point must leave the band on the far side.

    Only samples that project onto the line segment (with a band of slack at
    its ends) take part, so walking around the end of a door line is no crossing.
    A crossing counts once the foot point has been seen beyond the band on the
    far side in ``line.confirm_samples`` samples, with none beyond the band on
    the near side in between (samples inside the band are ignored): one jumpy
    box poking over the band is no crossing and no crossing back, and a track
    that ends before its crossing is confirmed does not count it. The side a
    track starts on is its first sample's beyond the band (confirming it too
    would lose people first seen just before the line).
    """
    dist = line.signed_distance(track.x, track.y)
    near = line.within_span(track.x, track.y, slack=line.band_px)
    state = 0  # -1 out side, +1 in side, 0 unknown yet
    across = 0  # samples beyond the band on the far side of ``state``, not yet a crossing
    crossings_in = crossings_out = 0
    for d, ok in zip(dist.tolist(), near.tolist(), strict=True):
        if not ok or abs(d) <= line.band_px:
            continue
        side = 1 if d > 0 else -1
        if state and side != state:
            across += 1
            if across < line.confirm_samples:
                continue
            if side > 0:
                crossings_in += 1
            else:
                crossings_out += 1
        across = 0
        state = side
    return crossings_in, crossings_out


def classify(track: Track, rules: CountingRules) -> Verdict:
    """Judge one (stitched) person track against the rules."""
    line_in = line_out = 0
    if rules.line is not None:
        line_in, line_out = line_crossings(track, rules.line)
    inside = rules.roi.contains(track.x, track.y)
    if inside.any():
        idx = np.flatnonzero(inside)
        first, last = int(idx[0]), int(idx[-1])
        enter_t, exit_t = float(track.t[first]), float(track.t[last])
        exit_observed = last < len(track) - 1  # seen outside after the last moment inside
        action = "entered" if exit_t - enter_t >= rules.min_dwell_s else "passed"
        return Verdict(action, enter_t, exit_t, exit_observed, line_in, line_out)
    if rules.passby_zone is not None:
        near = rules.passby_zone.contains(track.x, track.y)
        if near.any():
            idx = np.flatnonzero(near)
            return Verdict("passed", float(track.t[idx[0]]), float(track.t[idx[-1]]), True, line_in, line_out)
    return Verdict(None, line_in=line_in, line_out=line_out)
