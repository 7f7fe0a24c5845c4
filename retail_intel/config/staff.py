"""The ``staff:`` block of a branch in ``branches.yaml``: which evidence flags a person as staff.

One settings model for the concept; :meth:`StaffSettings.rules` turns it into
the pure :class:`~retail_intel.movements.staff.StaffRules` for one camera.
The staff polygons are per camera (pixels of that camera's frame); when
named zones of kind ``staff`` exist on a camera they are meant to feed the
same list.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from retail_intel.config.camera_settings import refuse_bool_number
from retail_intel.config.region_shape import crossing_problem
from retail_intel.errors import RetailIntelError
from retail_intel.movements.geometry import Polygon
from retail_intel.movements.staff import StaffRules, UniformRule

Point = tuple[float, float]
HSV = tuple[int, int, int]


class _Block(BaseModel):
    # as every other block of the config: .inf and .nan are no minutes, seconds or coordinates
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    _bool_number = field_validator("*", mode="before")(refuse_bool_number)


class UniformColour(_Block):
    """An HSV box (OpenCV ranges: H 0-179, S and V 0-255); a low hue above the high one wraps around red."""

    low: HSV
    high: HSV
    min_share: float = Field(default=0.35, gt=0, le=1, description="share of upper-body pixels in the box")

    @model_validator(mode="after")
    def _ranges(self) -> UniformColour:
        for name, value in (("low", self.low), ("high", self.high)):
            h, s, v = value
            if not (0 <= h <= 179 and 0 <= s <= 255 and 0 <= v <= 255):
                raise ValueError(f"{name} must be [H 0-179, S 0-255, V 0-255], got {list(value)}")
        # only hue wraps (around red); a saturation or value range upside down matches no pixel
        for index, channel in ((1, "S"), (2, "V")):
            if self.low[index] > self.high[index]:
                raise ValueError(
                    f"low {channel} must not be above high {channel} (only hue wraps), "
                    f"got low {list(self.low)}, high {list(self.high)}"
                )
        return self


class StaffSettings(_Block):
    """Staff evidence of a branch; ``null`` switches a rule off (docs/staff-groups.md)."""

    min_presence_minutes: float | None = Field(default=45.0, gt=0, description="in view this long: staff")
    zone_seconds: float | None = Field(default=60.0, gt=0, description="this long in a staff zone: staff")
    door_crossings: int | None = Field(default=4, ge=2, description="door-line crossings by one person: staff")
    uniform: UniformColour | None = None
    # camera id -> polygons [[x, y], ...] where only staff stay (behind the counter, stockroom door)
    zones: dict[str, list[list[Point]]] = Field(default_factory=dict)

    @field_validator("zones")
    @classmethod
    def _polygons(cls, value: dict[str, list[list[Point]]]) -> dict[str, list[list[Point]]]:
        # checked here, where the file and branch can be named, not when a run builds the geometry
        for camera, polygons in value.items():
            for index, points in enumerate(polygons):
                # a bow tie (corners out of order) has an area, but the even-odd rule judges two
                # triangles, not the counter meant: staff standing in the rest would pass as customers
                crossing = crossing_problem(points)
                if crossing is not None:
                    raise ValueError(f"camera {camera!r}, polygon #{index + 1}: {crossing}")
                try:
                    Polygon(tuple(points))
                except RetailIntelError as exc:
                    raise ValueError(f"camera {camera!r}, polygon #{index + 1}: {exc}") from exc
        return value

    def rules(self, camera_id: str) -> StaffRules:
        uniform = self.uniform
        return StaffRules(
            staff_zones=tuple(Polygon(tuple(points)) for points in self.zones.get(camera_id, [])),
            zone_min_s=self.zone_seconds,
            min_presence_s=None if self.min_presence_minutes is None else self.min_presence_minutes * 60.0,
            min_door_crossings=self.door_crossings,
            uniform=None if uniform is None else UniformRule(uniform.low, uniform.high, uniform.min_share),
        )
