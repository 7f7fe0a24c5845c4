"""``GET /quality/branch/{branch_id}``: the door balance of ``retail-intel quality`` over HTTP."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from retail_intel.kpis.quality import door_quality
from retail_intel.serve.params import IsoDate, bad_parameter
from retail_intel.serve.routes import _NOT_FOUND, BranchId, state_of

quality_router = APIRouter()


class QualityRow(BaseModel):
    """One camera's door balance on one local day (columns of ``retail_intel.kpis.quality.QUALITY_SCHEMA``)."""

    branch_id: str
    camera_id: str | None
    date: dt.date = Field(description="Local date in the branch's timezone.")
    people: int
    staff: int = Field(description="People flagged as staff.")
    ins: int = Field(description="Door ins of customers (line crossings, or one per visitor without a line).")
    outs: int = Field(description="Door outs of customers on the day they left (crossings, or exits seen).")
    imbalance: int = Field(description="ins - outs")
    imbalance_ratio: float | None = Field(description="|imbalance| / ins; null without ins.")
    flagged: bool = Field(description="imbalance_ratio over the threshold.")


@quality_router.get("/quality/branch/{branch_id}", response_model=list[QualityRow], responses=_NOT_FOUND, tags=["data"])
async def branch_quality(
    request: Request,
    branch_id: BranchId,
    # IsoDate, as /report's days: a pattern on a plain string answered "from=bad" with the regex
    # ("String should match pattern '^\\d{4}-...'") and never quoted the value
    start: Annotated[IsoDate | None, Query(alias="from", description="First local date, YYYY-MM-DD.")] = None,
    end: Annotated[IsoDate | None, Query(alias="to", description="Last local date (inclusive).")] = None,
    threshold: Annotated[float, Query(ge=0, le=1, description="Flag days over this imbalance ratio.")] = 0.1,
) -> Any:
    """Door in/out imbalance and staff flagged per camera and local day (docs/staff-groups.md)."""
    state = state_of(request)
    config = state.config_with(branch_id)
    if start is not None and end is not None and end < start:
        raise bad_parameter("to", f"must not be before from ({start})")
    table = await run_in_threadpool(
        door_quality, config, state.data_dir, branch=branch_id, start=start, end=end, threshold=threshold
    )
    return table.to_pylist()
