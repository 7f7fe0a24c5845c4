"""Zone tables for bench_kpis.py --zones: derived from the movements it generated, one set per file.

Each movement file (branch and day) gets the demo-data's zones and their
visits, queue rows and queue lengths (:func:`retail_intel.demo.zones.demo_zone_tables`),
written beside it in the store's layout.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow.parquet as pq

if TYPE_CHECKING:
    from retail_intel.config.models import Branch


def zone_branch(branch_id: str, timezone: str) -> Branch:
    """A Branch whose one camera ``cam1`` (the camera of the generated movements) has the demo zones."""
    from retail_intel.config.models import Branch, Camera
    from retail_intel.demo.zones import DEMO_ZONES

    camera = Camera(id="cam1", roi=(320.0, 180.0, 960.0, 700.0), zones=list(DEMO_ZONES))
    return Branch(id=branch_id, name=branch_id, capacity=100, timezone=timezone, cameras=[camera])


def generate_zones(data_dir: Path, timezones: dict[str, str], seed: int) -> int:
    """Write zone tables for every movement file; returns the number of zone visits written."""
    from retail_intel.demo.zones import demo_zone_tables
    from retail_intel.movements.store import movements_root
    from retail_intel.movements.zone_store import ZONE_TABLES
    from retail_intel.storage import atomic_write_table

    rng = np.random.default_rng(seed)
    visits = 0
    for path in sorted(movements_root(data_dir).glob("*/*/*.parquet")):
        branch_id, day = path.parent.parent.name, path.parent.name
        branch = zone_branch(branch_id, timezones[branch_id])
        tables = demo_zone_tables(branch, pq.read_table(path), rng)
        for kind, table in zip(ZONE_TABLES, (tables.visits, tables.queues, tables.queue_lengths), strict=True):
            atomic_write_table(table, data_dir / kind / branch_id / day / path.name)
        visits += tables.visits.num_rows
    return visits
