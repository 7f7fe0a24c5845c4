"""What the report's zones section shows: per-zone totals, queue KPIs over the range, camera pictures.

Numbers come from the zone KPI engines (:mod:`retail_intel.kpis.zone_compute`):
per-day zone rows summed over the range (mean dwell weighted by counted
visits), queue rows at the report's traffic window.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from retail_intel.storage import camera_frame_path, is_plain_name

if TYPE_CHECKING:
    from retail_intel.config.loader import Config


@dataclass(frozen=True)
class ZoneTotal:
    camera_id: str
    zone_id: str
    label: str
    kind: str
    polygon: tuple[tuple[float, float], ...]
    visits: int
    counted_visits: int
    mean_dwell_seconds: float | None  # over counted visits
    attention_rate: float | None  # counted visits / the camera's movements, over the range


@dataclass(frozen=True)
class ZonePicture:
    """A camera's latest picture (when process kept one) and its frame size, to outline its zones on."""

    camera_id: str
    frame_path: Path | None
    width: int
    height: int


@dataclass(frozen=True)
class ZoneReport:
    totals: tuple[ZoneTotal, ...]  # every configured zone, in config order (zero visits included)
    queues: pa.Table  # QUEUE_KPI_SCHEMA rows at the report's traffic window
    pictures: tuple[ZonePicture, ...]  # cameras with zones


def _picture(data_dir: Path, branch_id: str, camera_id: str, totals: list[ZoneTotal]) -> ZonePicture:
    frame = camera_frame_path(data_dir, branch_id, camera_id) if is_plain_name(camera_id) else None
    if frame is not None and frame.is_file():
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(frame) as image:
                width, height = image.size
            return ZonePicture(camera_id, frame, int(width), int(height))
        except (OSError, UnidentifiedImageError):
            pass
    # no picture: a canvas just big enough for the zones
    right = max((x for t in totals for x, _ in t.polygon), default=100.0)
    bottom = max((y for t in totals for _, y in t.polygon), default=100.0)
    return ZonePicture(camera_id, None, int(right) + 20, int(bottom) + 20)


def collect_zone_report(
    config: Config,
    data_dir: Path,
    branch_id: str,
    start: dt.datetime,
    end: dt.datetime,
    traffic_minutes: int,
    engine: str = "duckdb",
) -> ZoneReport | None:
    """The zones section's numbers; None when the branch has no zones configured."""
    from retail_intel.kpis.zone_compute import compute_zone_kpis

    branch = config.branch(branch_id)
    cameras = [c for c in branch.cameras if c.zones]
    if not cameras:
        return None
    daily = compute_zone_kpis(
        config, data_dir, window_minutes=1440, branch=branch_id, start=start, end=end, engine=engine
    )
    sums: dict[tuple[str, str], dict[str, Any]] = defaultdict(
        lambda: {"visits": 0, "counted": 0, "dwell": 0.0, "roi": 0}
    )
    for row in daily.zones.to_pylist():
        entry = sums[(row["camera_id"], row["zone_id"])]
        entry["visits"] += row["visits"]
        entry["counted"] += row["counted_visits"]
        entry["dwell"] += (row["mean_dwell_seconds"] or 0.0) * row["counted_visits"]
        entry["roi"] += row["roi_people"]
    totals = []
    for camera in cameras:
        for zone in camera.zones:
            entry = sums.get((camera.id, zone.id), {"visits": 0, "counted": 0, "dwell": 0.0, "roi": 0})
            totals.append(
                ZoneTotal(
                    camera_id=camera.id,
                    zone_id=zone.id,
                    label=zone.title,
                    kind=zone.kind,
                    polygon=tuple(zone.polygon),
                    visits=entry["visits"],
                    counted_visits=entry["counted"],
                    mean_dwell_seconds=entry["dwell"] / entry["counted"] if entry["counted"] else None,
                    attention_rate=entry["counted"] / entry["roi"] if entry["roi"] else None,
                )
            )
    queues = compute_zone_kpis(
        config, data_dir, window_minutes=traffic_minutes, branch=branch_id, start=start, end=end, engine=engine
    ).queues
    pictures = tuple(
        _picture(data_dir, branch_id, camera.id, [t for t in totals if t.camera_id == camera.id]) for camera in cameras
    )
    return ZoneReport(tuple(totals), queues, pictures)
