"""Branch KPIs and zone KPIs together, reading the queue visits once for both.

Run one after the other, :func:`~retail_intel.kpis.compute.compute_kpis` and
:func:`~retail_intel.kpis.zone_compute.compute_zone_kpis` would each open the
thousands of queue-visit files (one per video): for the bottleneck score and
for the queue KPIs. Here they are read once. The zone KPIs run first: their
inputs are summed inside the scans and freed before the movements (the
largest table) are read for the branch KPIs, so the two never hold memory at
the same time (docs/zones.md).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

from retail_intel.datadir import require_retail_data
from retail_intel.kpis.compute import KpiResult, compute_kpis
from retail_intel.kpis.zone_compute import (
    ZoneKpiResult,
    compute_zone_kpis,
    queue_waits_of,
    read_queue_rows,
    read_staff_ids,
)

if TYPE_CHECKING:
    from retail_intel.config.loader import Config


def compute_kpis_with_zones(
    config: Config,
    data_dir: Path,
    *,
    window_minutes: int,
    branch: str | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    engine: str = "duckdb",
    write: bool = True,
) -> tuple[KpiResult, ZoneKpiResult]:
    """:func:`compute_kpis` (at its default baseline, momentum, staff and imbalance settings) and
    :func:`compute_zone_kpis` over the same branches and range, reading the queue visits once."""
    require_retail_data(data_dir)
    chosen = [config.branch(branch)] if branch is not None else list(config.branches)
    ids = [b.id for b in chosen]
    staff = read_staff_ids(data_dir, ids)  # left out of both, as compute_kpis does by default
    queue_rows = read_queue_rows(data_dir, ids, staff_ids=staff)
    zones = compute_zone_kpis(
        config,
        data_dir,
        window_minutes=window_minutes,
        branch=branch,
        start=start,
        end=end,
        engine=engine,
        queue_rows=queue_rows,
        staff_ids=staff,
    )
    waits = queue_waits_of(queue_rows)
    del queue_rows  # only the waits are needed from here on
    kpis = compute_kpis(
        config,
        data_dir,
        window_minutes=window_minutes,
        branch=branch,
        start=start,
        end=end,
        engine=engine,
        write=write,
        queue_waits=waits,
    )
    return kpis, zones
