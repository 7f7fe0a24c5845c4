"""The heatmap's density grid: pure numpy, checked on hand-placed points and with hypothesis."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from retail_intel.report.heatmap import blur, density_grid, gaussian_kernel


def test_points_land_in_their_cells() -> None:
    grid = density_grid([5, 5, 13, 30], [2, 7, 2, 17], width=32, height=24, cell=8, sigma_cells=0)
    assert grid.shape == (3, 4)
    expected = np.zeros((3, 4))
    expected[0, 0] = 2  # (5, 2) and (5, 7)
    expected[0, 1] = 1  # (13, 2)
    expected[2, 3] = 1  # (30, 17)
    assert np.array_equal(grid, expected)


def test_points_outside_the_frame_are_dropped() -> None:
    grid = density_grid([-1, 32, 10, 10], [5, 5, 24, 23.9], width=32, height=24, cell=8, sigma_cells=0)
    assert grid.sum() == 1 and grid[2, 1] == 1


def test_a_partial_last_cell_still_counts() -> None:
    grid = density_grid([99], [49], width=100, height=50, cell=8, sigma_cells=0)
    assert grid.shape == (7, 13) and grid[6, 12] == 1


def test_blur_spreads_a_point_symmetrically_and_keeps_its_weight() -> None:
    grid = np.zeros((21, 21))
    grid[10, 10] = 1.0
    blurred = blur(grid, 1.5)
    assert blurred.sum() == pytest.approx(1.0)
    assert np.unravel_index(np.argmax(blurred), blurred.shape) == (10, 10)
    assert np.allclose(blurred, blurred.T) and np.allclose(blurred, blurred[::-1, ::-1])


def test_kernel_is_normalised() -> None:
    assert gaussian_kernel(0).tolist() == gaussian_kernel(1e-300).tolist() == [1.0]
    for sigma in (0.5, 1.5, 4.0):
        kernel = gaussian_kernel(sigma)
        assert kernel.sum() == pytest.approx(1.0) and len(kernel) % 2 == 1


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        density_grid([], [], width=0, height=10)
    with pytest.raises(ValueError, match="same length"):
        density_grid([1, 2], [1], width=10, height=10)


points = st.lists(st.tuples(st.floats(-50, 400, allow_nan=False), st.floats(-50, 300, allow_nan=False)), max_size=200)


@settings(max_examples=150, deadline=None)
@given(points=points, cell=st.integers(1, 40), sigma=st.floats(0, 3))
def test_every_point_in_the_frame_is_counted_once(points: list[tuple[float, float]], cell: int, sigma: float) -> None:
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    inside = sum(1 for x, y in points if 0 <= x < 320 and 0 <= y < 240)
    raw = density_grid(xs, ys, width=320, height=240, cell=cell, sigma_cells=0)
    assert raw.sum() == inside and (raw >= 0).all()
    blurred = density_grid(xs, ys, width=320, height=240, cell=cell, sigma_cells=sigma)
    # Blurring moves weight around (some past the edges), never creates any.
    assert blurred.sum() <= inside + 1e-9 and (blurred >= -1e-12).all()
