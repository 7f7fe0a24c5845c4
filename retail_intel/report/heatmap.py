"""Where people walked and stood: a density grid of foot points (pure numpy, no drawing).

Trajectories hold one foot point every half second of each person's track,
so the number of samples in a cell is proportional to the time people spent there:
someone standing still piles samples into one cell, someone walking spreads
them along a line. The grid is blurred a little so a path reads as a band
rather than a dotted line.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

Grid = npt.NDArray[np.float64]


def gaussian_kernel(sigma: float) -> npt.NDArray[np.float64]:
    """A normalised 1-D Gaussian of standard deviation ``sigma`` cells (``[1.0]`` for no blur)."""
    # Below a tenth of a cell the neighbours' weights underflow to nothing
    # (and the exponent overflows for tiny sigmas): that is no blur at all.
    if sigma < 0.1:
        return np.ones(1)
    radius = max(1, math.ceil(3 * sigma))
    offsets = np.arange(-radius, radius + 1, dtype=np.float64)
    kernel: npt.NDArray[np.float64] = np.exp(-0.5 * (offsets / sigma) ** 2)
    kernel /= kernel.sum()
    return kernel


def blur(grid: Grid, sigma: float) -> Grid:
    """Separable Gaussian blur with zero padding; the total weight inside the grid is kept where it can be."""
    kernel = gaussian_kernel(sigma)
    if kernel.size == 1:
        return grid.astype(np.float64, copy=True)
    rows = np.apply_along_axis(lambda line: np.convolve(line, kernel, mode="same"), 1, grid)
    return np.apply_along_axis(lambda line: np.convolve(line, kernel, mode="same"), 0, rows)


def density_grid(
    xs: npt.ArrayLike,
    ys: npt.ArrayLike,
    *,
    width: int,
    height: int,
    cell: int = 8,
    sigma_cells: float = 1.5,
) -> Grid:
    """Samples per ``cell``-pixel square of a ``width`` x ``height`` frame, blurred by ``sigma_cells``.

    Row 0 is the top of the frame (image coordinates). Points outside the
    frame are dropped: a foot point can lie just below the bottom edge when a
    person's box is cut off there.
    """
    if width <= 0 or height <= 0 or cell <= 0:
        raise ValueError(f"width, height and cell must be positive, got {width}, {height}, {cell}")
    x = np.asarray(xs, dtype=np.float64)
    y = np.asarray(ys, dtype=np.float64)
    if x.shape != y.shape:
        raise ValueError(f"xs and ys must have the same length, got {x.shape} and {y.shape}")
    cols = math.ceil(width / cell)
    rows = math.ceil(height / cell)
    inside = (x >= 0) & (x < width) & (y >= 0) & (y < height)
    col = (x[inside] // cell).astype(np.int64)
    row = (y[inside] // cell).astype(np.int64)
    counts = np.zeros((rows, cols), dtype=np.float64)
    np.add.at(counts, (row, col), 1.0)
    return blur(counts, sigma_cells)
