"""Regions of interest and counting lines in image coordinates (pure numpy).

Image coordinates: x grows to the right, y grows downwards, in pixels of the
decoded frame. A person's floor position is the foot point (bottom-centre of
the box).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from retail_intel.errors import InputError

Point = tuple[float, float]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Polygon:
    """A simple polygon; a rectangle ROI ``x1,y1,x2,y2`` is the 4-point case."""

    points: tuple[Point, ...]

    def __post_init__(self) -> None:
        if len(self.points) < 3:
            raise InputError(f"a region needs at least 3 points, got {len(self.points)}")
        # a NaN area passes "<= 0", and an infinite corner makes every test meaningless
        if not np.isfinite(np.asarray(self.points, dtype=np.float64)).all():
            raise InputError(f"a region's coordinates must be finite numbers, got points {list(self.points)}")
        if self.area() <= 0:
            raise InputError(f"a region must have a positive area, got points {list(self.points)}")

    @classmethod
    def from_rect(cls, x1: float, y1: float, x2: float, y2: float) -> Polygon:
        if x2 <= x1 or y2 <= y1:
            raise InputError(f"a rectangle ROI needs x1 < x2 and y1 < y2, got {x1:g},{y1:g},{x2:g},{y2:g}")
        return cls(((x1, y1), (x2, y1), (x2, y2), (x1, y2)))

    def area(self) -> float:
        pts = np.asarray(self.points, dtype=np.float64)
        x, y = pts[:, 0], pts[:, 1]
        return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2)

    def bounds(self) -> tuple[float, float, float, float]:
        pts = np.asarray(self.points, dtype=np.float64)
        return float(pts[:, 0].min()), float(pts[:, 1].min()), float(pts[:, 0].max()), float(pts[:, 1].max())

    def contains(self, x: FloatArray, y: FloatArray) -> npt.NDArray[np.bool_]:
        """Vectorised even-odd rule; points exactly on an edge may fall either way."""
        inside = np.zeros(np.shape(x), dtype=bool)
        pts = self.points
        j = len(pts) - 1
        for i in range(len(pts)):
            xi, yi = pts[i]
            xj, yj = pts[j]
            crosses = (yi > y) != (yj > y)
            with np.errstate(divide="ignore", invalid="ignore"):
                x_at = (xj - xi) * (y - yi) / (yj - yi) + xi
            inside ^= crosses & (x < x_at)
            j = i
        return inside

    def check_inside_frame(self, width: int, height: int, what: str = "ROI") -> None:
        """Refuse a region that lies (partly) outside a ``width`` x ``height`` frame."""
        x1, y1, x2, y2 = self.bounds()
        if x1 < 0 or y1 < 0 or x2 > width or y2 > height:
            raise InputError(
                f"{what} {_fmt(self.points)} reaches outside the {width}x{height} frame "
                f"(x must be within 0..{width}, y within 0..{height})"
            )


@dataclass(frozen=True)
class CountingLine:
    """A directional line: moving from the out side to the in side is an ``in`` crossing.

    ``in_side`` is left or right as seen walking from ``start`` to ``end`` in
    image coordinates. A crossing counts only once the foot point has left a
    band of ``band_px`` around the line on the far side, so jitter on the line
    is not counted over and over, and only once it has been seen there in
    ``confirm_samples`` samples, so one outlying box is no crossing.
    """

    start: Point
    end: Point
    in_side: str = "left"
    band_px: float = 10.0
    confirm_samples: int = 2

    def __post_init__(self) -> None:
        if self.start == self.end:
            raise InputError(f"a counting line needs two different points, got {self.start} twice")
        if self.in_side not in ("left", "right"):
            raise InputError(f"line in_side must be 'left' or 'right', got {self.in_side!r}")
        if self.confirm_samples < 1:
            raise InputError(f"line confirm_samples must be at least 1, got {self.confirm_samples}")

    def signed_distance(self, x: FloatArray, y: FloatArray) -> FloatArray:
        """Distance to the (infinite) line, positive on the in side."""
        (ax, ay), (bx, by) = self.start, self.end
        dx, dy = bx - ax, by - ay
        # cross > 0 means left of the direction start->end in y-down image coordinates
        cross = dx * (np.asarray(y) - ay) - dy * (np.asarray(x) - ax)
        left_positive = -cross / np.hypot(dx, dy)
        return np.asarray(left_positive if self.in_side == "left" else -left_positive, dtype=np.float64)

    def within_span(self, x: FloatArray, y: FloatArray, slack: float) -> npt.NDArray[np.bool_]:
        """Whether the foot point projects onto the segment (plus ``slack`` px at each end)."""
        (ax, ay), (bx, by) = self.start, self.end
        dx, dy = bx - ax, by - ay
        length = float(np.hypot(dx, dy))
        t = ((np.asarray(x) - ax) * dx + (np.asarray(y) - ay) * dy) / length
        return np.asarray((t >= -slack) & (t <= length + slack))

    def check_inside_frame(self, width: int, height: int) -> None:
        for px, py in (self.start, self.end):
            if not (0 <= px <= width and 0 <= py <= height):
                raise InputError(f"line point ({px:g}, {py:g}) is outside the {width}x{height} frame")


def _fmt(points: Sequence[Point]) -> str:
    return "[" + ", ".join(f"({x:g}, {y:g})" for x, y in points) + "]"


def parse_rect(text: str, what: str = "roi") -> Polygon:
    """``"100,100,500,400"`` -> rectangle polygon; ``what`` names ``text`` in messages (a caller's flag: ``--roi``)."""
    parts = [p for p in text.replace(" ", "").split(",") if p]
    try:
        values = [float(p) for p in parts]
    except ValueError as exc:
        raise InputError(f"{what} expects x1,y1,x2,y2 numbers, got {text!r}") from exc
    if len(values) != 4:
        raise InputError(f"{what} expects 4 numbers x1,y1,x2,y2, got {len(values)} in {text!r}")
    return Polygon.from_rect(*values)


def parse_points(text: str, what: str = "zone") -> tuple[Point, ...]:
    """``"10,10 200,10 200,300"`` or ``"10,10;200,10;..."`` -> points; ``what`` names ``text`` in messages."""
    chunks = [c for c in text.replace(";", " ").split() if c]
    points: list[Point] = []
    for chunk in chunks:
        xy = chunk.split(",")
        try:
            if len(xy) != 2:
                raise ValueError
            points.append((float(xy[0]), float(xy[1])))
        except ValueError as exc:
            raise InputError(f"{what} expects points as 'x,y x,y ...', got {chunk!r} in {text!r}") from exc
    return tuple(points)


def parse_line(text: str, what: str = "line") -> CountingLine:
    """``"x1,y1 x2,y2[:left|right]"`` -> counting line (in side defaults to left); ``what`` names ``text``."""
    body, _, side = text.partition(":")
    points = parse_points(body, what)
    if len(points) != 2:
        raise InputError(f"{what} expects two points 'x1,y1 x2,y2[:left|right]', got {text!r}")
    return CountingLine(points[0], points[1], side.strip() or "left")
