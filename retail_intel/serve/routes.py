"""The read-only routes of the API, on one :class:`APIRouter` that other modules can extend.

Every route is a GET. Routes that only read the (cached) config run on the
event loop; routes that read Parquet files hand the work to the thread pool
so one slow query never stalls the others.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from retail_intel.config.models import TaskStatus
from retail_intel.config.records import (
    DEFAULT_EVENT_WINDOW_DAYS,
    EARLIEST_EVENT_TIME,
    branch_detail,
    branch_rows,
    event_rows,
    event_window,
    promotion_rows,
    task_rows,
)
from retail_intel.serve.files import kpi_windows
from retail_intel.serve.jsonio import JSONBytes
from retail_intel.serve.kpicache import KpiRequest
from retail_intel.serve.models import (
    BranchDetail,
    BranchSummary,
    CustomerSummary,
    EventRow,
    Health,
    KpiSeries,
    MovementPage,
    Problem,
    PromotionRow,
    TaskRow,
    ValidationProblem,
)
from retail_intel.serve.params import (
    MAX_EVENT_SPAN,
    MAX_ID_LENGTH,
    UtcTime,
    bad_parameter,
    check_range,
    decode_cursor,
    window_minutes,
)
from retail_intel.serve.state import ServeState

router = APIRouter()

_UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: {"model": Problem, "description": "The config or data directory cannot be read."},
}
_ERRORS: dict[int | str, dict[str, Any]] = {
    422: {"model": ValidationProblem, "description": "A parameter is invalid; detail names it."},
    **_UNAVAILABLE,
}
_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": Problem, "description": "Unknown branch."}, **_ERRORS}
_NO_KPIS: dict[int | str, dict[str, Any]] = {
    404: {"model": Problem, "description": "Unknown branch, or no KPIs of this window size computed for it."},
    **_ERRORS,
}

# Examples appear in /docs and are among the values the property-based test sends.
BranchId = Annotated[
    str, Path(description="A branch id from branches.yaml.", max_length=MAX_ID_LENGTH, examples=["b1"])
]
BranchFilter = Annotated[
    str | None, Query(description="Only this branch (404 if unknown).", max_length=MAX_ID_LENGTH, examples=["b1"])
]
From = Annotated[
    UtcTime | None,
    Query(alias="from", description="ISO 8601 with timezone; inclusive.", examples=["2026-03-02T00:00:00Z"]),
]
To = Annotated[
    UtcTime | None,
    Query(alias="to", description="ISO 8601 with timezone; exclusive.", examples=["2026-03-03T00:00:00Z"]),
]


def state_of(request: Request) -> ServeState:
    state: ServeState = request.app.state.retail_intel
    return state


@router.get("/health", response_model=Health, responses=_UNAVAILABLE, tags=["status"])
async def health(request: Request) -> Any:
    """Data and config directories, record counts, and the last processed video.

    ``status`` is ``degraded`` while the config on disk failed to reload (the last good one is
    served), while the data directory is missing or holds no retail-intel data, or while a movement
    file was copied into it under another name (``data.problem``: the line the data routes that
    need it, such as /report or /movements, answer 503 with). Still a 200: the
    server runs and picks up data written later without a restart.
    """
    return await run_in_threadpool(state_of(request).health)


@router.get("/branches", response_model=list[BranchSummary], responses=_UNAVAILABLE, tags=["config"])
async def branches(request: Request) -> Any:
    """Every configured branch, in file order."""
    return branch_rows(state_of(request).config())


@router.get("/branches/{branch_id}", response_model=BranchDetail, responses=_NOT_FOUND, tags=["config"])
async def branch(request: Request, branch_id: BranchId) -> Any:
    """One branch: opening hours, cameras, staff, open tasks and promotions."""
    state = state_of(request)
    detail = branch_detail(state.config_with(branch_id), branch_id)
    detail["kpi_windows"] = kpi_windows(state.data_dir, branch_id)
    return detail


@router.get("/tasks/{branch_id}", response_model=list[TaskRow], responses=_NOT_FOUND, tags=["config"])
async def tasks(
    request: Request,
    branch_id: BranchId,
    status: Annotated[TaskStatus | None, Query(description="Only tasks with this status.")] = None,
) -> Any:
    """A branch's tasks: open first, most urgent first, earliest due first."""
    return task_rows(state_of(request).config_with(branch_id), branch_id, status)


@router.get("/events", response_model=list[EventRow], responses=_NOT_FOUND, tags=["config"])
async def events(request: Request, start: From = None, end: To = None, branch: BranchFilter = None) -> Any:
    """Event occurrences overlapping [from, to), repeating events expanded.

    Without from/to: today (UTC) and the next 30 days. With only one of them,
    a 30-day range from (or to) it, cut at 1900-01-01 and 3000-01-01.
    At most 3,660 days at once.
    """
    state = state_of(request)
    config = state.config() if branch is None else state.config_with(branch)
    # UtcTime already refused a from/to outside [1900-01-01, 3000-01-01) as a 422 naming it; the
    # defaults below stay inside those bounds, so event_window never refuses them.
    defaulted = start is None or end is None
    if start is None and end is not None:  # 30 days back from `to`, as event_window goes 30 days on from `from`
        start = max(end - dt.timedelta(days=DEFAULT_EVENT_WINDOW_DAYS), EARLIEST_EVENT_TIME)
    start, end = event_window(start, end, dt.datetime.now(dt.UTC))
    if defaulted and end <= start:  # only `to`, at 1900-01-01: nothing lies in the range
        return []
    check_range(start, end)
    if end - start > MAX_EVENT_SPAN:
        raise bad_parameter("to", f"must be at most {MAX_EVENT_SPAN.days} days after from")
    return event_rows(config, start, end, branch)


@router.get("/promotions", response_model=list[PromotionRow], responses=_NOT_FOUND, tags=["config"])
async def promotions(
    request: Request,
    branch: BranchFilter = None,
    active_at: Annotated[UtcTime | None, Query(description="Only promotions running at this time.")] = None,
) -> Any:
    """Promotions (a branch's own and those for all branches), by start."""
    state = state_of(request)
    config = state.config() if branch is None else state.config_with(branch)
    return promotion_rows(config, branch, active_at)


@router.get("/kpis/branch/{branch_id}", response_model=KpiSeries, responses=_NO_KPIS, tags=["data"])
async def branch_kpis(
    request: Request,
    branch_id: BranchId,
    window: Annotated[
        str,
        Query(
            description="Window size, as computed by retail-intel kpis: 15m, 60m, 1h, 1d, ...",
            max_length=16,
            examples=["60m"],
        ),
    ] = "60m",
    start: From = None,
    end: To = None,
    limit: Annotated[int, Query(ge=1, le=10_000, description="Windows per page.")] = 1000,
    offset: Annotated[int, Query(ge=0, le=10_000_000, description="Windows to skip.")] = 0,
) -> Response:
    """A branch's KPI time series (branch_kpi_timeseries) for one window size, by window_start.

    Rows are the windows overlapping [from, to) (window_end > from, window_start < to), as
    retail-intel kpis --from/--to takes them. 404 for an unknown branch, or when
    no KPIs of this window size were computed (the message lists the sizes
    that were for the branch; so does GET /branches/{id}); a branch without
    movements has an empty series.
    """
    state = state_of(request)
    _, config_signature = state.config_signature_with(branch_id)
    check_range(start, end)
    wanted = KpiRequest(branch_id, window_minutes(window), start, end, limit, offset)
    body = state.kpis.cached_response(wanted)
    if body is None:
        body = await run_in_threadpool(state.kpis.response, wanted)
    state.kpis.remember_url((request.scope["path"], request.scope["query_string"]), wanted, config_signature)
    return JSONBytes(body)


@router.get("/movements", response_model=MovementPage, responses=_NOT_FOUND, tags=["data"])
async def movements(
    request: Request,
    branch: BranchFilter = None,
    start: Annotated[
        UtcTime | None,
        Query(alias="from", description="enter_time >= from (ISO 8601).", examples=["2026-03-02T00:00:00Z"]),
    ] = None,
    end: Annotated[
        UtcTime | None,
        Query(alias="to", description="enter_time < to (ISO 8601).", examples=["2026-03-03T00:00:00Z"]),
    ] = None,
    action_type: Annotated[Literal["entered", "passed"] | None, Query(description="Only this action.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="Rows per page.")] = 100,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page.", max_length=400)] = None,
) -> Response:
    """Movement events (customer_branch_movement), by enter_time then customer_id; paginated by cursor."""
    state = state_of(request)
    if branch is not None:
        state.config_with(branch)
    check_range(start, end)
    after = None if cursor is None else decode_cursor(cursor)
    body = await run_in_threadpool(
        lambda: state.movement_page(
            branch_id=branch, start=start, end=end, action_type=action_type, after=after, limit=limit
        )
    )
    return JSONBytes(body)


@router.get(
    "/customers/{customer_id}",
    response_model=CustomerSummary,
    responses={404: {"model": Problem, "description": "No movements for this customer."}, **_ERRORS},
    tags=["data"],
)
async def customer(
    request: Request,
    customer_id: Annotated[str, Path(description="customer_id of a movement row.", max_length=MAX_ID_LENGTH)],
) -> Response:
    """One person's visits summarised (the customers view) with their movements."""
    body = await run_in_threadpool(state_of(request).customer, customer_id)
    return JSONBytes(body)
