"""One frame with a coordinate grid, for drawing an ROI; with a camera, its ROI, line and zones drawn."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from retail_intel.errors import InputError
from retail_intel.movements.classify import CountingRules
from retail_intel.movements.geometry import Polygon, parse_rect
from retail_intel.pipeline.zone_step import check_zones_inside_frame, zone_specs
from retail_intel.vision.annotate import grid_snapshot, write_image
from retail_intel.vision.video import probe, read_frame_at, seek_rate

if TYPE_CHECKING:
    pass
from retail_intel.config.models import Camera
from retail_intel.naming import CallerNames


def camera_rules(camera: Camera) -> CountingRules:
    """The camera's ROI, pass-by zone and line as drawing needs them."""
    from retail_intel.config.camera_settings import resolve
    from retail_intel.pipeline.plan import counting_rules

    return counting_rules(resolve([camera.settings()]), camera.id)


def _check_inside(region: Polygon, width: int, height: int, what: str, where: str) -> None:
    """``region``'s frame check, its message led by ``where`` (the flag or the config entry it came from)."""
    try:
        region.check_inside_frame(width, height, what)
    except InputError as exc:
        raise InputError(f"{where}{exc}") from exc


def take_snapshot(
    video: Path,
    at_s: float,
    output: Path,
    *,
    fps: float | None,
    grid: int,
    roi: str | None,
    camera: Camera | None = None,
    names: Mapping[str, str] | None = None,
) -> tuple[Path, int, tuple[int, int]]:
    """Write the frame at ``at_s`` seconds with a grid; returns (path, frame index, (width, height)).

    ``roi`` (x1,y1,x2,y2) wins over the ``camera``'s ROI; the camera's line and zones are drawn too.
    ``names`` say what the caller calls ``roi`` and ``fps`` in messages (its flags: ``{"roi": "--roi"}``);
    a parameter left out is named as it is here.
    """
    named = CallerNames(names)
    roi_name, fps_name = named("roi"), named("fps")
    info = probe(video)
    remedy = f"pass {fps_name} with the rate the camera records at"
    rate = seek_rate(info, at_s, fps or (camera.fps if camera is not None else None), remedy)
    index, frame = read_frame_at(video, at_s, rate)
    rules = camera_rules(camera) if camera is not None else None
    if roi:
        rules = CountingRules(
            parse_rect(roi, roi_name),
            passby_zone=rules.passby_zone if rules else None,
            line=rules.line if rules else None,
        )
    if rules is not None:
        # the ROI, pass-by zone and line, as process checks them, the message saying whose they are:
        # the roi given (the --roi flag), or the camera's entry in branches.yaml (a camera drawn on another camera's video)
        where = f'branches.yaml: camera "{camera.id}": ' if camera is not None else ""
        _check_inside(rules.roi, info.width, info.height, "ROI", f"{roi_name}: " if roi else where)
        if rules.passby_zone is not None:
            _check_inside(rules.passby_zone, info.width, info.height, "pass-by zone", where)
        if rules.line is not None:
            try:
                rules.line.check_inside_frame(info.width, info.height)
            except InputError as exc:
                raise InputError(f"{where}{exc}") from exc
    zones = zone_specs(camera.zones if camera is not None else None)
    if camera is not None:
        check_zones_inside_frame(zones, info.width, info.height, camera.id)
    path = write_image(output, grid_snapshot(frame, grid, rules, zones))
    return path, index, (info.width, info.height)
