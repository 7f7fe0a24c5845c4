"""The zone step of ``process``: config zones to judging specs, frame check, judge and write.

Kept out of :mod:`retail_intel.pipeline.run` so the frame loop only needs a
few lines to call it (after the ROI is judged, before the movement file lands).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from retail_intel.errors import InputError
from retail_intel.movements.classify import CountingRules
from retail_intel.movements.events import Judgement, customer_id
from retail_intel.movements.geometry import Polygon
from retail_intel.movements.zone_store import write_zone_tables
from retail_intel.movements.zones import PersonPath, ZoneSource, ZoneSpec, ZoneTables, judge_zones

if TYPE_CHECKING:
    from retail_intel.config.camera_settings import Zone


def zone_specs(zones: Sequence[Zone] | None) -> tuple[ZoneSpec, ...]:
    """Configured zones as judging specs."""
    return tuple(
        ZoneSpec(
            id=zone.id,
            polygon=Polygon(tuple(zone.polygon)),
            kind=zone.kind,
            min_dwell_s=zone.min_dwell,
            service=zone.service,
        )
        for zone in zones or ()
    )


def check_zones_inside_frame(zones: Sequence[ZoneSpec], width: int, height: int, camera_id: str) -> None:
    """The ROI's frame check, for every zone; the message names the camera and zone."""
    for zone in zones:
        try:
            zone.polygon.check_inside_frame(width, height, f'zone "{zone.id}"')
        except InputError as exc:
            raise InputError(f'branches.yaml: camera "{camera_id}": {exc}') from exc


def check_regions_inside_frame(
    rules: CountingRules,
    zones: Sequence[ZoneSpec],
    width: int,
    height: int,
    camera_id: str,
    where: str = "",
    *,
    staff_zones: Sequence[Polygon] = (),
) -> None:
    """Refuse an ROI, pass-by zone, line, named zone or staff zone reaching outside a ``width`` x ``height`` frame.

    ``where`` leads the message about the ROI, pass-by zone or line (``ProcessPlan.regions_from``).
    ``staff_zones``: the plan's staff polygons (``StaffRules.staff_zones``), the branch's ``staff: zones:``
    for this camera first, numbered as listed there."""
    try:
        rules.check_inside_frame(width, height)
    except InputError as exc:
        if not where:
            raise
        raise InputError(f"{where}{exc}") from exc
    check_zones_inside_frame(zones, width, height, camera_id)
    # a staff polygon drawn on another camera's picture (or at another resolution) never holds a foot
    # point, so the staff-zone rule would never fire and clerks would count as customers, unannounced
    for index, polygon in enumerate(staff_zones, start=1):
        try:
            polygon.check_inside_frame(width, height, f"staff.zones polygon #{index}")
        except InputError as exc:
            raise InputError(f'branches.yaml: camera "{camera_id}": {exc}') from exc


def judgement_paths(
    judgement: Judgement, video_fingerprint: str, camera_id: str, carried_ids: Mapping[int, str] | None = None
) -> list[PersonPath]:
    """Everybody kept by judging, with the customer id the movement table gives them.

    People who were not an event (never in the ROI) have no movement row: they
    count in the queue length only (:class:`PersonPath`). ``carried_ids`` (a
    batch segment's carried track ids -> the id the segment before gave them)
    as :func:`~retail_intel.pipeline.continuity.keep_carried_ids` renames their movement.
    """
    carried = carried_ids or {}
    return [
        PersonPath(
            carried.get(p.track_id) or customer_id(video_fingerprint, camera_id, p.track_id), p, v.action is not None
        )
        for p, v in zip(judgement.people, judgement.verdicts, strict=True)
    ]


def last_frame_t(duration_s: float, frames: int) -> float:
    """A video's last frame's time from its run summary: the ``covered_s`` of :class:`ZoneSource`.

    The summary's ``duration_s`` runs one (mean) frame interval past the last
    frame, ``duration_s / frames`` (by the rate and by timestamps alike).
    """
    return duration_s * (frames - 1) / frames if frames > 0 else 0.0


def judge_and_write_zones(
    judgement: Judgement,
    zones: Sequence[ZoneSpec],
    *,
    data_dir: Path,
    branch_id: str,
    camera_id: str,
    video_fingerprint: str,
    start_time: dt.datetime,
    covered_s: float,
    source_key: str,
    carried_ids: Mapping[int, str] | None = None,
) -> ZoneTables:
    """Judge every kept person against ``zones`` and write the three zone tables for this source.

    A camera without zones still writes empty tables, so zones removed from
    the config lose their visits when the video is processed again. A person
    carried in from the segment before (``carried_ids``) is judged over their
    whole path, under the id their movement keeps: the batch then removes that
    id's visits from the segment before, as it removes their movement.
    """
    source = ZoneSource(branch_id, camera_id, video_fingerprint, start_time, covered_s)
    tables = judge_zones(judgement_paths(judgement, video_fingerprint, camera_id, carried_ids), zones, source)
    write_zone_tables(tables, data_dir, branch_id=branch_id, day=start_time.date(), source_key=source_key)
    return tables
