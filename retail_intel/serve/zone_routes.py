"""Read-only routes of the zone and queue KPIs: ``/zones/{branch}`` and ``/queues/{branch}``.

Both compute the KPIs from the zone tables on each request (the files are
small: one row per visit) with the DuckDB engine, for one window size.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from retail_intel.kpis.zone_compute import ZoneKpiResult, compute_zone_kpis
from retail_intel.serve.params import check_range, window_minutes
from retail_intel.serve.routes import _NOT_FOUND, BranchId, From, To, state_of
from retail_intel.sqlviews.metadata import zone_rows

if TYPE_CHECKING:
    from retail_intel.config.loader import Config

zone_router = APIRouter()

Window = Annotated[
    str, Query(description="Window size: 15m, 60m, 1h, 1d, ... (must divide a day).", max_length=16, examples=["1d"])
]


class ZoneConfigRow(BaseModel):
    camera_id: str
    zone_id: str
    kind: str
    label: str
    min_dwell: float
    service_zone_id: str | None
    polygon: list[tuple[float, float]] = Field(description="Pixels of the camera frame.")


class ZoneKpiRow(BaseModel):
    camera_id: str
    zone_id: str
    zone_kind: str
    window_start: dt.datetime
    window_end: dt.datetime
    visits: int
    counted_visits: int
    mean_dwell_seconds: float | None
    median_dwell_seconds: float | None
    roi_people: int
    attention_rate: float | None


class QueueKpiRow(BaseModel):
    camera_id: str
    zone_id: str
    window_start: dt.datetime
    window_end: dt.datetime
    people_queued: int
    people_served: int
    mean_wait_seconds: float | None
    p90_wait_seconds: float | None
    mean_service_seconds: float | None
    abandonment_rate: float | None
    peak_queue_length: int | None
    mean_queue_length: float | None


class ZoneKpis(BaseModel):
    branch_id: str
    window_minutes: int
    zones: list[ZoneConfigRow] = Field(description="The branch's configured zones.")
    rows: list[ZoneKpiRow] = Field(description="Per zone and window with a visit, by zone then window_start.")


class QueueKpis(BaseModel):
    branch_id: str
    window_minutes: int
    rows: list[QueueKpiRow] = Field(description="Per queue zone and window, by zone then window_start.")


def _compute(
    request: Request, branch_id: str, window: str, start: dt.datetime | None, end: dt.datetime | None
) -> tuple[Config, int, Callable[[], ZoneKpiResult]]:
    """The checked config and window size, and the (blocking) computation to run in the thread pool."""
    state = state_of(request)
    config = state.config_with(branch_id)  # 404 for an unknown branch
    check_range(start, end)
    minutes = window_minutes(window)

    def run() -> ZoneKpiResult:
        return compute_zone_kpis(config, state.data_dir, window_minutes=minutes, branch=branch_id, start=start, end=end)

    return config, minutes, run


@zone_router.get("/zones/{branch_id}", response_model=ZoneKpis, responses=_NOT_FOUND, tags=["data"])
async def zones(
    request: Request, branch_id: BranchId, window: Window = "1d", start: From = None, end: To = None
) -> Any:
    """A branch's zones and, per zone and window, visits, counted visits, dwell and attention rate (docs/zones.md)."""
    config, minutes, compute = _compute(request, branch_id, window, start, end)
    result = await run_in_threadpool(compute)
    configured = [{k: v for k, v in row.items() if k != "branch_id"} for row in zone_rows(config.branch(branch_id))]
    return {"branch_id": branch_id, "window_minutes": minutes, "zones": configured, "rows": result.zones.to_pylist()}


@zone_router.get("/queues/{branch_id}", response_model=QueueKpis, responses=_NOT_FOUND, tags=["data"])
async def queues(
    request: Request, branch_id: BranchId, window: Window = "1d", start: From = None, end: To = None
) -> Any:
    """Per queue zone and window: people queued and served, wait (mean, p90), service time, abandonment, length."""
    _, minutes, compute = _compute(request, branch_id, window, start, end)
    result = await run_in_threadpool(compute)
    return {"branch_id": branch_id, "window_minutes": minutes, "rows": result.queues.to_pylist()}
