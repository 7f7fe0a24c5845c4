"""Checks on the ``zones:`` of a branch's cameras that need more than one zone.

Field-level checks (polygon shape and area, kind, min_dwell) live on
:class:`~retail_intel.config.models.Zone`. Here: zone ids unique across the
whole branch (KPIs and reports key zones by branch and id), every queue's
``service`` naming a service zone of the same camera, and every service zone
being the service of some queue (a till without a queue has no wait to
measure). Whether a zone lies inside the frame is checked at process time,
when the frame size is known, by the same check as the ROI.
"""

from __future__ import annotations

from collections import Counter

from retail_intel.config.models import Branch


def zone_problems(branch: Branch, filename: str) -> list[str]:
    """One line per problem, each naming the file, branch, camera and zone."""
    problems: list[str] = []
    prefix = f'{filename}: branch "{branch.id}"'
    counts = Counter(zone.id for camera in branch.cameras for zone in camera.zones)
    for zone_id, count in counts.items():
        if count > 1:
            cameras = sorted({c.id for c in branch.cameras if any(z.id == zone_id for z in c.zones)})
            problems.append(
                f'{prefix}: duplicate zone id "{zone_id}" ({count} zones use it, on camera(s) {", ".join(cameras)}); '
                "zone ids must be unique within a branch"
            )
    where = {zone.id: camera.id for camera in branch.cameras for zone in camera.zones}
    for camera in branch.cameras:
        here = {zone.id: zone for zone in camera.zones}
        served = {zone.service for zone in camera.zones if zone.kind == "queue" and zone.service}
        for zone in camera.zones:
            label = f'{prefix}: cameras["{camera.id}"].zones["{zone.id}"]'
            if zone.kind == "queue" and zone.service is not None:
                target = here.get(zone.service)
                if target is None and zone.service in where:
                    problems.append(
                        f'{label}.service: "{zone.service}" is on camera "{where[zone.service]}"; '
                        "a queue and its service zone must be on the same camera"
                    )
                elif target is None:
                    known = ", ".join(sorted(z.id for z in camera.zones if z.kind == "service")) or "none defined"
                    problems.append(
                        f'{label}.service: unknown zone "{zone.service}" (service zones of this camera: {known})'
                    )
                elif target.kind != "service":
                    problems.append(
                        f'{label}.service: "{zone.service}" must be a zone of kind service, got {target.kind}'
                    )
            if zone.kind == "service" and zone.id not in served:
                problems.append(
                    f"{label}: a service zone must be paired with a queue (add service: {zone.id} "
                    "to a queue zone of this camera)"
                )
    return problems
