"""Zone tables from hand-written stays, written into a data directory (serve, report and CLI tests)."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from pathlib import Path

from retail_intel.movements.geometry import Polygon
from retail_intel.movements.tracks import Track
from retail_intel.movements.zone_store import write_zone_tables
from retail_intel.movements.zones import PersonPath, ZoneSource, ZoneSpec, ZoneTables, judge_zones

# Zones of the sample config's b1/vtest camera (config/branches.yaml), plus a queue and its till.
SAMPLE_ZONES = (
    ZoneSpec("sign", Polygon(((350, 215), (490, 215), (490, 295), (350, 295))), "area", 5.0),
    ZoneSpec("east_path", Polygon(((560, 190), (700, 190), (700, 340), (560, 340))), "area", 3.0),
)
QUEUE_ZONES = (
    ZoneSpec("queue", Polygon.from_rect(200, 0, 300, 100), "queue", 3.0, service="till"),
    ZoneSpec("till", Polygon.from_rect(400, 0, 500, 100), "service", 5.0),
)


def stay(track_id: int, stops: Sequence[tuple[float, float, float]]) -> Track:
    """Sampled every second at each stop (t, x, y) until the next stop; ends at the last stop."""
    samples: list[tuple[float, float, float]] = []
    for (t0, x, y), (t1, _, _) in itertools.pairwise(stops):
        t = t0
        while t < t1:
            samples.append((t, x, y))
            t += 1.0
    samples.append(tuple(stops[-1]))  # type: ignore[arg-type]
    return Track.from_samples(track_id, samples)


def write_zone_day(
    data_dir: Path,
    branch: str,
    camera: str,
    start: dt.datetime,
    zones: Sequence[ZoneSpec] = SAMPLE_ZONES,
    people: int = 6,
) -> ZoneTables:
    """A few people standing in each zone for 2..12 s, one after another, over ten minutes of video."""
    paths = []
    for n in range(people):
        zone = zones[n % len(zones)]
        x1, y1, x2, y2 = zone.polygon.bounds()
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        t0 = 30.0 * n
        track = stay(n, [(t0, 10, 10), (t0 + 2, cx, cy), (t0 + 4 + 2 * n, 10, 10), (t0 + 6 + 2 * n, 10, 10)])
        paths.append(PersonPath(f"{branch}-{camera}-{n}", track))
    source = ZoneSource(branch, camera, "f" * 64, start, covered_s=600.0)
    tables = judge_zones(paths, zones, source)
    write_zone_tables(tables, data_dir, branch_id=branch, day=start.date(), source_key=f"{camera}-zones")
    return tables
