"""Adaptive stride's decision on hand-written positions (pure: no video, no tracker)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from retail_intel.movements.adaptive_stride import (
    JITTER_HEIGHTS,
    NEW_PERSON_S,
    WALK_HEIGHTS_PER_S,
    Edges,
    PeopleNow,
    edge_margin,
    next_stride,
)
from retail_intel.movements.geometry import CountingLine, Polygon

ROI = Polygon.from_rect(100, 100, 300, 200)
LINE = CountingLine((100, 220), (300, 220))
# a 640x480 picture; at 10 frames/s and a stride of 4 a 50 px tall person is near within
# 50 * (0.5 + 1.5 * 0.4) = 55 px
EDGES = Edges.of([ROI], [LINE]).with_frame(640, 480)
FPS = 10.0


def people(*rows: tuple[float, float, float, float]) -> PeopleNow:
    """``(x, y, height, age_s)`` per person."""
    arr = np.asarray(rows, dtype=np.float64).reshape(-1, 4)
    return PeopleNow(x=arr[:, 0], y=arr[:, 1], height=arr[:, 2], age_s=arr[:, 3])


def test_distance_to_sides_line_and_corners() -> None:
    edges = Edges.of([ROI], [LINE])
    x = np.array([200.0, 200.0, 50.0, 200.0, 400.0])
    y = np.array([150.0, 105.0, 50.0, 230.0, 220.0])
    # centre of the ROI: 50 to the top and bottom sides; 5 below the top; from a corner
    # diagonally (50, 50) away; 10 below the line; 100 beyond the line's end (not the infinite line)
    assert edges.distance(x, y) == pytest.approx([50.0, 5.0, np.hypot(50, 50), 10.0, 100.0])


def test_no_edges_is_infinitely_far() -> None:
    assert Edges.of([]).distance(np.array([1.0]), np.array([2.0])).tolist() == [np.inf]


def test_margin_grows_with_stride_and_shrinks_with_frame_rate() -> None:
    height = np.array([50.0])
    assert edge_margin(height, 4, FPS)[0] == pytest.approx(50 * (JITTER_HEIGHTS + WALK_HEIGHTS_PER_S * 0.4))
    assert edge_margin(height, 8, FPS)[0] > edge_margin(height, 4, FPS)[0] > edge_margin(height, 4, 25.0)[0]


def test_nobody_there_skips() -> None:
    assert next_stride(people(), EDGES, 4, FPS) == 4


def test_settled_person_far_from_every_edge_skips() -> None:
    # in the middle of the ROI, 50 px from its long sides; 55 px is near for a 50 px person
    assert next_stride(people((200, 150, 40, 5.0)), EDGES, 4, FPS) == 4


def test_person_near_an_edge_means_every_frame() -> None:
    for where in [(200, 150, 50, 5.0), (200, 215, 30, 5.0), (340, 120, 50, 5.0), (610, 300, 50, 5.0)]:
        # 50 px from the ROI's sides (near for a 50 px person), 5 px above the line,
        # 40 px right of the ROI, 30 px from the picture's right border
        assert next_stride(people((500, 400, 40, 5.0), where), EDGES, 4, FPS) == 1, where


def test_new_person_means_every_frame_until_settled() -> None:
    far = (450, 400, 40, 5.0)
    assert next_stride(people(far, (450, 350, 40, 0.0)), EDGES, 4, FPS) == 1
    assert next_stride(people(far, (450, 350, 40, NEW_PERSON_S - 0.01)), EDGES, 4, FPS) == 1
    assert next_stride(people(far, (450, 350, 40, NEW_PERSON_S)), EDGES, 4, FPS) == 4


def test_stride_one_is_off() -> None:
    assert next_stride(people((450, 400, 40, 5.0)), EDGES, 1, FPS) == 1


def test_named_zone_and_passby_edges_count() -> None:
    shelf = Polygon(((400, 300), (500, 300), (450, 360)))
    edges = Edges.of([ROI, shelf], [LINE]).with_frame(640, 480)
    assert next_stride(people((450, 330, 40, 5.0)), EDGES, 4, FPS) == 4
    assert next_stride(people((450, 330, 40, 5.0)), edges, 4, FPS) == 1


@given(
    x=st.floats(0, 640),
    y=st.floats(0, 480),
    height=st.floats(10, 200),
    stride=st.integers(2, 30),
)
def test_a_skip_never_lets_a_brisk_walker_reach_an_edge(x: float, y: float, height: float, stride: int) -> None:
    # whoever is allowed a skip cannot touch any edge within the skipped frames at 1.5 heights/s
    if next_stride(people((x, y, height, 5.0)), EDGES, stride, FPS) == stride:
        reach = height * WALK_HEIGHTS_PER_S * stride / FPS
        assert EDGES.distance(np.array([x]), np.array([y]))[0] > reach


def test_a_searching_tracker_means_every_frame() -> None:
    # someone far from every edge, but the tracker lost a person or holds an unconfirmed track
    settled = people((450, 400, 40, 5.0))
    assert next_stride(settled, EDGES, 4, FPS, searching=True) == 1
    assert next_stride(people(), EDGES, 4, FPS, searching=True) == 1
