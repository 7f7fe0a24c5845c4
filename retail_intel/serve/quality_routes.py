"""``GET /quality/branch/{branch_id}``: the door balance of ``retail-intel quality`` over HTTP."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from retail_intel.kpis.quality import door_quality
from retail_intel.serve.params import bad_parameter
from retail_intel.serve.routes import _NOT_FOUND, BranchId, state_of

quality_router = APIRouter()

# A plain calendar date; pydantic's own date type would also take "0" (a Unix time).
_DATE = r"^\d{4}-\d{2}-\d{2}$"


def _date(name: str, text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise bad_parameter(name, f"must be a date YYYY-MM-DD, got {text!r}") from None


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
    start: Annotated[
        str | None, Query(alias="from", pattern=_DATE, description="First local date, YYYY-MM-DD.")
    ] = None,
    end: Annotated[str | None, Query(alias="to", pattern=_DATE, description="Last local date (inclusive).")] = None,
    threshold: Annotated[float, Query(ge=0, le=1, description="Flag days over this imbalance ratio.")] = 0.1,
) -> Any:
    """Door in/out imbalance and staff flagged per camera and local day (docs/staff-groups.md)."""
    state = state_of(request)
    config = state.config_with(branch_id)
    first, last = _date("from", start), _date("to", end)
    if first is not None and last is not None and last < first:
        raise bad_parameter("to", f"must not be before from ({first})")
    table = await run_in_threadpool(
        door_quality, config, state.data_dir, branch=branch_id, start=first, end=last, threshold=threshold
    )
    return table.to_pylist()
