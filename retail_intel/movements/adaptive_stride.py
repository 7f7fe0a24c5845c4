"""When the frame loop may look at fewer frames: nobody near an edge that counting reads (pure).

Adaptive stride (issue 19): while every tracked person is well inside or well outside
the regions judging reads (the ROI, the counting line, the pass-by zone, named zones)
and away from the picture's border (where stitching tells exits and entries apart),
what they do over the next few frames cannot move them across an edge, so the detector
may look only at every k-th frame; stitching's gap fill interpolates the frames between.
As soon as someone is within a margin of an edge, or a person has just appeared (a new
track has no velocity yet and is easily lost), or the tracker is searching (it lost
someone, or holds a detection that matched nobody: a person who started to walk while
frames were skipped moves further than a box's width between two looks), every frame is
detected again.

Foot points (bottom-centre of the box) in image pixels, as everywhere in judging.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from retail_intel.movements.geometry import CountingLine, Polygon

FloatArray = npt.NDArray[np.float64]

# A person is "near" an edge within this many of their own box heights, plus the distance
# a brisk walker covers while frames are skipped: half a height absorbs box jitter (feet
# hidden, a box that grows and shrinks), and 1.5 heights per second (about 2.5 m/s for a
# 1.7 m person, faster than shoppers walk) keeps anyone from crossing an edge unseen.
JITTER_HEIGHTS = 0.5
WALK_HEIGHTS_PER_S = 1.5
# A person tracked for less than this is new: every frame is detected until their track
# has settled (ByteTrack confirms a track on its second hit and needs a few for a velocity).
NEW_PERSON_S = 1.0


@dataclass(frozen=True)
class Edges:
    """Every edge the policy watches, as line segments ``(x1, y1, x2, y2)``, shape ``(M, 4)``."""

    segments: FloatArray

    @classmethod
    def of(cls, polygons: Iterable[Polygon], lines: Iterable[CountingLine] = ()) -> Edges:
        """The sides of ``polygons`` (closed) and the segments of ``lines``."""
        rows: list[tuple[float, float, float, float]] = []
        for polygon in polygons:
            points = polygon.points
            for (ax, ay), (bx, by) in zip(points, points[1:] + points[:1], strict=True):
                rows.append((ax, ay, bx, by))
        for line in lines:
            rows.append((*line.start, *line.end))
        return cls(np.asarray(rows, dtype=np.float64).reshape(-1, 4))

    def with_frame(self, width: int, height: int) -> Edges:
        """These edges and the border of a ``width`` x ``height`` picture."""
        border = Edges.of([Polygon.from_rect(0.0, 0.0, float(width), float(height))])
        return Edges(np.concatenate([self.segments, border.segments]))

    def distance(self, x: FloatArray, y: FloatArray) -> FloatArray:
        """Distance in pixels from each point to its nearest edge (inf when there are no edges)."""
        px, py = np.asarray(x, np.float64)[:, None], np.asarray(y, np.float64)[:, None]
        if len(self.segments) == 0:
            return np.full(px.shape[0], np.inf)
        ax, ay, bx, by = (self.segments[:, i][None, :] for i in range(4))
        dx, dy = bx - ax, by - ay
        length2 = dx * dx + dy * dy
        # projection of the point onto each segment, clamped to its ends (a zero-length segment is its point)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(length2 > 0, ((px - ax) * dx + (py - ay) * dy) / length2, 0.0)
        t = np.clip(t, 0.0, 1.0)
        gaps = np.hypot(px - (ax + t * dx), py - (ay + t * dy))
        return np.asarray(gaps.min(axis=1), dtype=np.float64)


@dataclass(frozen=True)
class PeopleNow:
    """The tracked people in the frame just judged: foot points, box heights and how long each was tracked."""

    x: FloatArray
    y: FloatArray
    height: FloatArray
    age_s: FloatArray


def edge_margin(height: FloatArray, max_stride: int, fps: float) -> FloatArray:
    """How near an edge (pixels) counts as near, per person: jitter plus a brisk walk over ``max_stride`` frames."""
    return np.asarray(height, np.float64) * (JITTER_HEIGHTS + WALK_HEIGHTS_PER_S * max_stride / fps)


def next_stride(people: PeopleNow, edges: Edges, max_stride: int, fps: float, *, searching: bool = False) -> int:
    """Frames until the detector looks again: 1 when someone is near an edge or new, else ``max_stride``.

    ``fps`` is the rate of the frames the loop may detect (the video's, divided by a fixed stride);
    ``searching``: the tracker lost someone since the last decision or holds an unconfirmed track.
    """
    if max_stride <= 1 or searching:
        return 1
    if len(people.x) == 0:
        return max_stride
    if bool(np.any(people.age_s < NEW_PERSON_S)):
        return 1
    near = edges.distance(people.x, people.y) <= edge_margin(people.height, max_stride, fps)
    return 1 if bool(np.any(near)) else max_stride
