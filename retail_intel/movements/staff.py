"""Telling staff from customers without tags: evidence rules over a person's path.

A clerk walking through the door twenty times a day inflates traffic and
ruins conversion. Each rule below looks at one judged person (foot-point
path, times, door-line crossings) and, when it fires, names its evidence;
a person is staff when any rule fires, and ``staff_reason`` lists every
rule that did ("staff zone 312 s; in view 52 min").

* **staff zone**: at least :attr:`StaffRules.zone_min_s` seconds with the
  foot point inside a ``staff`` polygon (behind the counter, the stockroom
  door). Customers pass such places; they do not stay there.
* **presence**: tracked for at least :attr:`StaffRules.min_presence_s` in
  one video (45 minutes by default): few customers stay that long in view.
* **door cycles**: at least :attr:`StaffRules.min_door_crossings` crossings
  of the door line (in and out both count) by one person: someone who goes
  in and out twice within one video is fetching stock or smoking, not shopping.
* **uniform** (optional, needs pixels): the share of upper-body pixels
  inside a configured HSV colour range, computed by the video side with
  :func:`uniform_share` on each sample's crop and averaged over the track, is at least
  :attr:`UniformRule.min_share`. Without a measured share this rule stays silent.

Everything here is pure numpy; the roster (scheduled shifts) is compared
with the people flagged here by the KPI engines, never used to flag.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from retail_intel.movements.geometry import Polygon

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class UniformRule:
    """A uniform colour as an OpenCV-style HSV box (H 0-179, S and V 0-255) and the share that counts."""

    low: tuple[int, int, int]
    high: tuple[int, int, int]
    min_share: float = 0.35  # a shirt fills about half of the upper-body crop; logos and arms the rest


@dataclass(frozen=True)
class StaffRules:
    """Which evidence counts, per branch (and per camera for the zones). None switches a rule off."""

    staff_zones: tuple[Polygon, ...] = ()
    zone_min_s: float | None = 60.0
    min_presence_s: float | None = 45 * 60.0
    min_door_crossings: int | None = 4
    uniform: UniformRule | None = None


@dataclass(frozen=True)
class StaffPath:
    """What the rules look at for one person."""

    t: FloatArray  # seconds, sorted
    x: FloatArray  # foot point, pixels
    y: FloatArray
    door_crossings: int = 0  # line_in + line_out
    uniform_share: float | None = None  # from uniform_share(), when the video side measured it


@dataclass(frozen=True)
class StaffVerdict:
    is_staff: bool
    reasons: tuple[str, ...] = field(default=())

    @property
    def reason(self) -> str | None:
        return "; ".join(self.reasons) if self.reasons else None


def seconds_inside(path: StaffPath, zones: Sequence[Polygon]) -> float:
    """Seconds with the foot point inside any zone: each step between samples counts when both ends are in."""
    if not zones or len(path.t) < 2:
        return 0.0
    inside = np.zeros(len(path.t), dtype=bool)
    for zone in zones:
        inside |= zone.contains(path.x, path.y)
    both = inside[:-1] & inside[1:]
    return float(np.diff(path.t)[both].sum())


def uniform_share(hsv: npt.NDArray[np.uint8], rule: UniformRule) -> float:
    """Share of the pixels of an HSV crop (``(..., 3)``) inside the rule's box; 0 for an empty crop.

    A hue range that wraps around red (``low[0] > high[0]``, e.g. 170 to 10)
    is read as two ranges.
    """
    pixels = np.asarray(hsv).reshape(-1, 3)
    if len(pixels) == 0:
        return 0.0
    h, s, v = pixels[:, 0], pixels[:, 1], pixels[:, 2]
    (h0, s0, v0), (h1, s1, v1) = rule.low, rule.high
    hue = (h >= h0) & (h <= h1) if h0 <= h1 else (h >= h0) | (h <= h1)
    hit = hue & (s >= s0) & (s <= s1) & (v >= v0) & (v <= v1)
    return float(np.count_nonzero(hit)) / len(pixels)


def judge_staff(path: StaffPath, rules: StaffRules) -> StaffVerdict:
    """Every rule that fires for this person, in the order of the module docstring."""
    reasons: list[str] = []
    if rules.zone_min_s is not None and rules.staff_zones:
        zone_s = seconds_inside(path, rules.staff_zones)
        if zone_s >= rules.zone_min_s:
            reasons.append(f"staff zone {zone_s:.0f} s")
    if rules.min_presence_s is not None and len(path.t):
        seen_s = float(path.t[-1] - path.t[0])
        if seen_s >= rules.min_presence_s:
            reasons.append(f"in view {seen_s / 60:.0f} min")
    if rules.min_door_crossings is not None and path.door_crossings >= rules.min_door_crossings:
        reasons.append(f"door crossed {path.door_crossings} times")
    if rules.uniform is not None and path.uniform_share is not None and path.uniform_share >= rules.uniform.min_share:
        reasons.append(f"uniform colour {path.uniform_share:.0%} of upper body")
    return StaffVerdict(bool(reasons), tuple(reasons))
