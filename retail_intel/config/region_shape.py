"""Whether a list of corners makes a region: at least three, finite, not crossing itself, with an area.

Pure (no numpy): the same checks answer for a camera's ROI and pass-by zone, named zones and
staff zones, where the file and camera can still be named in the message;
:class:`retail_intel.movements.geometry.Polygon` is the numpy form used at process time.
"""

from __future__ import annotations

import math

Point = tuple[float, float]


def _polygon_area(points: list[Point]) -> float:
    # shoelace formula (geometry.Polygon.area is the numpy twin used at process time)
    total = 0.0
    for (x1, y1), (x2, y2) in zip(points, points[1:] + points[:1], strict=True):
        total += x1 * y2 - x2 * y1
    return abs(total) / 2


def _side(a: Point, b: Point, c: Point) -> float:
    """Which side of the line a->b the point c lies on: > 0 left, < 0 right, 0 on it."""
    return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])


def _first_crossing(points: list[Point]) -> tuple[int, int] | None:
    """The first two edges (0-based, edge i runs from point i to the next) that cross each other, or None.

    Only a proper crossing counts (each edge's ends strictly on both sides of the other):
    corners given out of order (a rectangle as corner, opposite corner, ...) make one, which
    the even-odd rule then judges as two triangles, not the region that was meant.
    """
    n = len(points)
    edges = [(points[i], points[(i + 1) % n]) for i in range(n)]
    for i in range(n):
        for j in range(i + 2, n):
            if i == 0 and j == n - 1:  # the last edge shares the first one's start
                continue
            (a, b), (c, d) = edges[i], edges[j]
            if _side(a, b, c) * _side(a, b, d) < 0 and _side(c, d, a) * _side(c, d, b) < 0:
                return i, j
    return None


def crossing_problem(points: list[Point]) -> str | None:
    """What is wrong with a region whose edges cross (named zones, ROI, pass-by and staff zones), or None."""
    crossing = _first_crossing(points)
    if crossing is None:
        return None
    i, j = crossing

    def edge(k: int) -> str:
        return f"{list(points[k])} to {list(points[(k + 1) % len(points)])}"

    return (
        f"must not cross itself: edge {i + 1} ({edge(i)}) crosses edge {j + 1} ({edge(j)}); "
        "give the corners in order around the region"
    )


def enclosing(points: list[Point]) -> list[Point]:
    """``points`` if they make a region (a named zone, a camera's ROI polygon or pass-by zone):
    refused here, where the file and camera are named, not later by the geometry."""
    if len(points) < 3:
        raise ValueError(f"must have at least 3 points [x, y], got {len(points)}")
    if not all(math.isfinite(c) for p in points for c in p):
        raise ValueError("must be finite numbers")
    crossing = crossing_problem(points)
    if crossing is not None:
        # before the area: a symmetric bow tie has none, and "points all on one line" would be wrong
        raise ValueError(crossing)
    if _polygon_area(points) <= 0:
        raise ValueError(f"must enclose an area (points not all on one line), got {[list(p) for p in points]}")
    return points
