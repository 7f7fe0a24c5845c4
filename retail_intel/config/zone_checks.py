"""Checks on the ``zones:`` of a branch's cameras that need more than one zone.

Field-level checks (polygon shape and area, kind, min_dwell) live on
:class:`~retail_intel.config.models.Zone`. Here: zone ids unique across the
whole branch (KPIs and reports key zones by branch and id), every queue's
``service`` naming a service zone of the same camera, and every service zone
being the service of some queue (a till without a queue has no wait to
measure). Whether a zone lies inside the frame is checked at process time,
when the frame size is known, by the same check as the ROI.

The checks read only ids, kinds and services (:class:`CameraZones`), so they
also run on a branch entry that has a field error elsewhere (read from its raw
YAML): ``validate`` lists every problem at once, not one layer per run.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import get_args

from retail_intel.config.models import Branch, Zone

_KINDS: tuple[str, ...] = get_args(Zone.model_fields["kind"].annotation)


@dataclass(frozen=True)
class ZoneRef:
    id: str
    kind: str | None  # None: the entry's kind is invalid (reported as a field error), so unknown here
    service: str | None


@dataclass(frozen=True)
class CameraZones:
    id: str
    zones: tuple[ZoneRef, ...]
    # False: a zone of this raw entry could not be read (no id, a service that is not text); it may
    # be the queue a service zone is paired with, so the pairing is not judged
    complete: bool = True


def branch_cameras(branch: Branch) -> tuple[CameraZones, ...]:
    """The cameras and zones of a valid branch."""
    return tuple(
        CameraZones(camera.id, tuple(ZoneRef(z.id, z.kind, z.service) for z in camera.zones))
        for camera in branch.cameras
    )


def _raw_id(value: object) -> str | None:
    # ids as the model reads them: text, or a number made text (id: 5 is "5")
    if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
        return str(value)
    return None


def raw_cameras(raw: Mapping[object, object]) -> tuple[CameraZones, ...]:
    """The cameras and zones of a raw branch entry that did not validate, as far as they can be read."""
    cameras = raw.get("cameras")
    found: list[CameraZones] = []
    for camera in cameras if isinstance(cameras, list) else []:
        camera_id = _raw_id(camera.get("id")) if isinstance(camera, Mapping) else None
        if camera_id is None:
            continue  # its missing id is a field error of its own
        zones = camera.get("zones")
        refs: list[ZoneRef] = []
        complete = zones is None or isinstance(zones, list)
        for zone in zones if isinstance(zones, list) else []:
            zone_id = _raw_id(zone.get("id")) if isinstance(zone, Mapping) else None
            service = zone.get("service") if isinstance(zone, Mapping) else None
            if zone_id is None or (service is not None and _raw_id(service) is None):
                complete = False
            if zone_id is None:
                continue
            kind = zone.get("kind", "area")
            refs.append(ZoneRef(zone_id, kind if kind in _KINDS else None, _raw_id(service)))
        found.append(CameraZones(camera_id, tuple(refs), complete))
    return tuple(found)


def _quoted(ident: str) -> str:
    # a problem is one line: an id holding a newline or another unprintable character is shown escaped
    return f'"{ident}"' if ident.isprintable() else repr(ident)


def _plain(ident: str) -> str:
    return ident if ident.isprintable() else repr(ident)


def _key(ident: str) -> str:
    return f"[{_quoted(ident)}]"


def camera_problems(prefix: str, cameras: tuple[CameraZones, ...]) -> list[str]:
    """Duplicate camera ids and the zone checks, each line starting with ``prefix`` (file and branch)."""
    problems = [
        f"{prefix}: duplicate camera id {_quoted(camera_id)} ({count} cameras use it)"
        for camera_id, count in Counter(c.id for c in cameras).items()
        if count > 1
    ]
    return problems + zone_problems(prefix, cameras)


def zone_problems(prefix: str, cameras: tuple[CameraZones, ...]) -> list[str]:
    """One line per problem, each naming the file and branch (``prefix``), camera and zone."""
    problems: list[str] = []
    counts = Counter(zone.id for camera in cameras for zone in camera.zones)
    for zone_id, count in counts.items():
        if count > 1:
            names = sorted({c.id for c in cameras if any(z.id == zone_id for z in c.zones)})
            problems.append(
                f"{prefix}: duplicate zone id {_quoted(zone_id)} ({count} zones use it, on camera(s) "
                f"{', '.join(_plain(n) for n in names)}); "
                "zone ids must be unique within a branch"
            )
    where = {zone.id: camera.id for camera in cameras for zone in camera.zones}
    for camera in cameras:
        here = {zone.id: zone for zone in camera.zones}
        # a zone of unknown (invalid) kind may be the queue: its service counts as served
        served = {zone.service for zone in camera.zones if zone.kind in ("queue", None) and zone.service}
        for zone in camera.zones:
            label = f"{prefix}: cameras{_key(camera.id)}.zones{_key(zone.id)}"
            if zone.kind == "queue" and zone.service is not None:
                target = here.get(zone.service)
                if target is None and zone.service in where:
                    problems.append(
                        f"{label}.service: {_quoted(zone.service)} is on camera {_quoted(where[zone.service])}; "
                        "a queue and its service zone must be on the same camera"
                    )
                elif target is None:
                    known = (
                        ", ".join(sorted(_plain(z.id) for z in camera.zones if z.kind == "service")) or "none defined"
                    )
                    problems.append(
                        f"{label}.service: unknown zone {_quoted(zone.service)} (service zones of this camera: {known})"
                    )
                elif target.kind not in ("service", None):
                    problems.append(
                        f"{label}.service: {_quoted(zone.service)} must be a zone of kind service, got {target.kind}"
                    )
            if zone.kind == "service" and zone.id not in served and camera.complete:
                problems.append(
                    f"{label}: a service zone must be paired with a queue (add service: {_plain(zone.id)} "
                    "to a queue zone of this camera)"
                )
    return problems
