"""The shapes a camera's config holds, as the setup page draws them, and back to YAML.

Pure: no file access, no OpenCV. :data:`SHAPE_KINDS` is the one list the
page is built from (it draws whatever kinds the server sends); each kind says
which geometries it may be drawn as, whether the config needs it, how to read
it off a :class:`Camera` and which YAML keys it sets and removes. Named zones,
once the config has them, are one more entry here.

A shape travels as JSON: ``{"kind", "geometry", "points": [[x, y], ...]}``
plus ``"in_side"`` for a line; points are pixels of the camera frame.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from retail_intel.config.models import Camera
from retail_intel.errors import InputError

Geometry = Literal["rect", "polygon", "line"]
GEOMETRIES: tuple[Geometry, ...] = ("rect", "polygon", "line")
IN_SIDES = ("left", "right")
MAX_POLYGON_POINTS = 10_000  # far more than anyone clicks; bounds the crossing check's work


@dataclass(frozen=True)
class Shape:
    kind: str
    geometry: Geometry
    points: tuple[tuple[float, float], ...]
    in_side: str | None = None  # lines only

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind, "geometry": self.geometry, "points": [list(p) for p in self.points]}
        if self.in_side is not None:
            data["in_side"] = self.in_side
        return data


# What a kind's YAML edit is: keys to set (plain YAML data) and keys to remove.
YamlEdit = tuple[dict[str, object], list[str]]


@dataclass(frozen=True)
class ShapeKind:
    name: str
    label: str
    geometries: tuple[Geometry, ...]
    required: bool
    hint: str
    read: Callable[[Camera], Shape | None]
    write: Callable[[Shape | None, Camera], YamlEdit]

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "geometries": list(self.geometries),
            "required": self.required,
            "hint": self.hint,
        }


def _number(value: float) -> float | int:
    """Pixel coordinates as the YAML shows them: whole numbers without '.0', else one decimal."""
    rounded = round(float(value), 1)
    return int(rounded) if rounded.is_integer() else rounded


def _points(points: Sequence[tuple[float, float]]) -> list[list[float | int]]:
    return [[_number(x), _number(y)] for x, y in points]


# ---- the region of interest: `roi` (rectangle) or `zone` (polygon) ---------------------------------


def _read_region(camera: Camera) -> Shape | None:
    if camera.zone is not None:
        return Shape("region", "polygon", tuple(camera.zone))
    if camera.roi is not None:
        x1, y1, x2, y2 = camera.roi
        return Shape("region", "rect", ((x1, y1), (x2, y2)))
    return None


def _write_region(shape: Shape | None, camera: Camera) -> YamlEdit:
    if shape is None:
        raise InputError("region: every camera needs a region of interest; draw a rectangle or a polygon")
    if shape.geometry == "rect":
        (ax, ay), (bx, by) = shape.points
        return {"roi": [_number(min(ax, bx)), _number(min(ay, by)), _number(max(ax, bx)), _number(max(ay, by))]}, [
            "zone"
        ]
    return {"zone": _points(shape.points)}, ["roi"]


# ---- the door line: `line` {start, end, in_side, band_px} -----------------------------------------


def _read_line(camera: Camera) -> Shape | None:
    if camera.line is None:
        return None
    return Shape("line", "line", (camera.line.start, camera.line.end), camera.line.in_side)


def _write_line(shape: Shape | None, camera: Camera) -> YamlEdit:
    if shape is None:
        return {}, ["line"]
    start, end = shape.points
    value: dict[str, object] = {"start": _points([start])[0], "end": _points([end])[0], "in_side": shape.in_side}
    if camera.line is not None:
        value["band_px"] = _number(camera.line.band_px)  # not drawn on the page: keep what the file says
    return {"line": value}, []


# ---- the pass-by zone: `passby_zone` (polygon) -----------------------------------------------------


def _read_passby(camera: Camera) -> Shape | None:
    return None if camera.passby_zone is None else Shape("passby_zone", "polygon", tuple(camera.passby_zone))


def _write_passby(shape: Shape | None, camera: Camera) -> YamlEdit:
    return ({}, ["passby_zone"]) if shape is None else ({"passby_zone": _points(shape.points)}, [])


SHAPE_KINDS: tuple[ShapeKind, ...] = (
    ShapeKind(
        "region",
        "Region of interest",
        ("rect", "polygon"),
        True,
        "Where a person's feet must stay to count as entered (roi or zone).",
        _read_region,
        _write_region,
    ),
    ShapeKind(
        "line",
        "Door line",
        ("line",),
        False,
        "Drag from one door post to the other; crossing to the in side counts in (line).",
        _read_line,
        _write_line,
    ),
    ShapeKind(
        "passby_zone",
        "Pass-by zone",
        ("polygon",),
        False,
        "The pavement in front of the shop: people seen only here passed by (passby_zone).",
        _read_passby,
        _write_passby,
    ),
)


def camera_shapes(camera: Camera) -> list[Shape]:
    """The shapes the camera's config holds now, one per kind that has one."""
    return [shape for kind in SHAPE_KINDS if (shape := kind.read(camera)) is not None]


def _parse_point(value: object, where: str, width: int, height: int) -> tuple[float, float]:
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise InputError(f"{where}: expected a point [x, y], got {value!r}")
    x, y = value
    # an int is finite however long (math.isfinite would overflow on one past float's range)
    if not all(
        isinstance(v, int | float) and not isinstance(v, bool) and (isinstance(v, int) or math.isfinite(v))
        for v in (x, y)
    ):
        raise InputError(f"{where}: expected two numbers [x, y], got {value!r}")
    if not (0 <= x <= width and 0 <= y <= height):
        raise InputError(f"{where}: {[x, y]} is outside the {width}x{height} frame")
    return float(x), float(y)


Edge = tuple[tuple[float, float], tuple[float, float]]


def _crossing_edges(points: Sequence[tuple[float, float]]) -> tuple[Edge, Edge] | None:
    """Two edges of the closed polygon that cross each other (a bow tie: corners clicked out of order), or None.

    Only proper crossings count; edges that merely touch (a shared corner) do not.
    """
    start = np.asarray(points, dtype=np.float64)
    end = np.roll(start, -1, axis=0)

    def side(a: npt.NDArray[np.float64], b: npt.NDArray[np.float64], p: npt.NDArray[np.float64]) -> Any:
        return np.sign(
            (b[..., 0] - a[..., 0]) * (p[..., 1] - a[..., 1]) - (b[..., 1] - a[..., 1]) * (p[..., 0] - a[..., 0])
        )

    for i in range(len(start) - 2):
        a, b, c, d = start[i], end[i], start[i + 2 :], end[i + 2 :]
        crosses = (side(a, b, c) * side(a, b, d) < 0) & (side(c, d, a) * side(c, d, b) < 0)
        if crosses.any():
            j = i + 2 + int(np.argmax(crosses))
            return (points[i], points[(i + 1) % len(points)]), (points[j], points[(j + 1) % len(points)])
    return None


def parse_shape(data: object, width: int, height: int) -> Shape:
    """One shape from the page's JSON, checked against its kind and the frame size."""
    if not isinstance(data, Mapping):
        raise InputError(f"shapes: expected objects with kind, geometry and points, got {data!r}")
    kinds = {k.name: k for k in SHAPE_KINDS}
    name = data.get("kind")
    kind = kinds.get(name) if isinstance(name, str) else None
    if kind is None:
        raise InputError(f"kind: expected one of {', '.join(kinds)}, got {name!r}")
    geometry = data.get("geometry")
    if geometry not in kind.geometries:
        raise InputError(f"{kind.name}.geometry: expected one of {', '.join(kind.geometries)}, got {geometry!r}")
    raw = data.get("points")
    if not isinstance(raw, list):
        raise InputError(f"{kind.name}.points: expected a list of [x, y], got {raw!r}")
    points = tuple(_parse_point(p, f"{kind.name}.points[{i}]", width, height) for i, p in enumerate(raw))
    fewest, most = {"rect": (2, 2), "line": (2, 2), "polygon": (3, MAX_POLYGON_POINTS)}[geometry]
    if not fewest <= len(points) <= most:
        # a polygon's bound on either side, so a too-long one is not told it needs "at least 3"
        want = str(fewest) if fewest == most else f"at least {fewest}" if len(points) < fewest else f"at most {most:,}"
        raise InputError(f"{kind.name}: a {geometry} needs {want} points, got {len(points):,}")
    if geometry in ("rect", "line") and points[0] == points[1]:
        raise InputError(f"{kind.name}: the two points of the {geometry} are the same point {list(points[0])}")
    if geometry == "rect" and (points[0][0] == points[1][0] or points[0][1] == points[1][1]):
        raise InputError(f"{kind.name}: the rectangle {[list(p) for p in points]} has no area")
    if geometry == "polygon" and (crossing := _crossing_edges(points)) is not None:
        (a, b), (c, d) = crossing
        raise InputError(
            f"{kind.name}: the polygon's edge {[list(a), list(b)]} crosses its edge {[list(c), list(d)]}; "
            "click the corners in order around the area"
        )
    in_side = data.get("in_side")
    if geometry == "line":
        if in_side not in IN_SIDES:
            raise InputError(f"{kind.name}.in_side: expected left or right, got {in_side!r}")
    else:
        in_side = None
    return Shape(kind.name, geometry, points, in_side if isinstance(in_side, str) else None)


def parse_shapes(data: object, width: int, height: int) -> dict[str, Shape]:
    """The page's ``{"shapes": [...]}``, one shape per kind at most."""
    shapes_list = data.get("shapes") if isinstance(data, Mapping) else None
    if not isinstance(shapes_list, list):
        raise InputError(f'expected {{"shapes": [...]}}, got {str(data)[:80]!r}')
    shapes: dict[str, Shape] = {}
    for item in shapes_list:
        shape = parse_shape(item, width, height)
        if shape.kind in shapes:
            raise InputError(f"{shape.kind}: drawn twice; a camera has one")
        shapes[shape.kind] = shape
    return shapes


def yaml_edit(shapes: Mapping[str, Shape], camera: Camera) -> YamlEdit:
    """The keys to set and remove in the camera's YAML entry so it holds exactly ``shapes``."""
    values: dict[str, object] = {}
    remove: list[str] = []
    for kind in SHAPE_KINDS:
        kind_values, kind_remove = kind.write(shapes.get(kind.name), camera)
        values.update(kind_values)
        remove.extend(kind_remove)
    return values, remove
