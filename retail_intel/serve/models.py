"""Response bodies of the HTTP API, as pydantic models.

They document the API (``/docs``, ``/openapi.json``) and the small
endpoints are validated against them. The two heavy endpoints (KPIs,
movements) serialize rows straight from Arrow for speed, so their models must
list exactly the columns of :data:`KPI_SCHEMA` and :data:`MOVEMENT_SCHEMA`;
a test checks that they do.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field

# A time the config wrote with its own offset (a task's due, a promotion's start), answered in UTC
# with a Z like every other time in the API (event times excepted: they are the branch's local time).
UtcAnswerTime = Annotated[dt.datetime, AfterValidator(lambda value: value.astimezone(dt.UTC))]


class Problem(BaseModel):
    """Body of every error response."""

    detail: str = Field(description="What went wrong; names the parameter for a 422.")


class ParameterProblem(BaseModel):
    parameter: str = Field(description="Name of the offending parameter.")
    location: str = Field(description="Where it was given: query or path.")
    message: str


class ValidationProblem(Problem):
    """Body of a 422: one line in ``detail`` plus every problem found."""

    errors: list[ParameterProblem]


class ConfigStatus(BaseModel):
    ok: bool = Field(description="False while the YAML on disk has problems; the last good config is served.")
    loaded_at: dt.datetime = Field(description="When the config being served was read.")
    problem: str | None = Field(default=None, description="Why the newest YAML could not be loaded, if it could not.")


class DataStatus(BaseModel):
    ok: bool = Field(description="False while the data directory is missing or holds no retail-intel data.")
    problem: str | None = Field(
        default=None, description="Why routes that read the data directory (/report) answer 503: the line they give."
    )


class Counts(BaseModel):
    branches: int
    employees: int
    tasks: int
    events: int
    promotions: int
    movement_files: int
    movements: int = Field(description="Rows in the movement store.")
    kpi_files: int


class LastRun(BaseModel):
    """The newest run summary written by ``retail-intel process``."""

    video: str | None = None
    branch_id: str | None = None
    camera_id: str | None = None
    start_time: str | None = None
    people: int | None = None
    entered: int | None = None
    passed: int | None = None
    processed_at: dt.datetime = Field(description="When the summary was written.")


class CacheStatus(BaseModel):
    bytes_held: int = Field(description="Bytes held by this worker's caches (KPI answers, dashboard views).")
    ceiling_bytes: int = Field(description="Their ceiling (serve --cache-mb); bytes_held never exceeds it.")
    entries: int


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    version: str
    config_dir: str
    data_dir: str
    config: ConfigStatus
    data: DataStatus
    counts: Counts
    kpi_windows: list[int] = Field(description="KPI window sizes (minutes) with files in the data directory.")
    last_processed_video: LastRun | None
    cache: CacheStatus


class BranchSummary(BaseModel):
    id: str
    name: str
    state: str
    timezone: str
    capacity: int
    peak_time: str | None
    min_staff: int
    customers_per_staff: float
    cameras: list[str]
    employees: int
    neighbors: list[str]


class StaffMember(BaseModel):
    id: str
    name: str
    role: str


class BranchDetail(BaseModel):
    id: str
    name: str
    state: str
    timezone: str
    capacity: int
    peak_time: str | None
    neighbors: list[str]
    customers_per_staff: float
    min_staff: int
    opening_hours: dict[str, str] = Field(
        description='Weekday -> "HH:MM-HH:MM" or "closed", local time (an end of 24:00 or earlier than the start '
        'runs to or past midnight); "open all day" on every day for a branch '
        "without any opening_hours, as the KPIs take it."
    )
    cameras: list[dict[str, Any]]
    employees: list[StaffMember]
    open_tasks: int
    promotions: list[str]
    kpi_windows: list[int] = Field(description="KPI window sizes (minutes) computed for this branch.")


class TaskRow(BaseModel):
    id: str
    title: str
    status: str
    priority: str
    due: UtcAnswerTime | None
    assignee: str | None
    assignee_name: str | None


class EventRow(BaseModel):
    event_id: str
    name: str
    branch: str | None
    location: str | None
    start: dt.datetime = Field(description="In the branch's timezone when the event belongs to a branch.")
    end: dt.datetime
    repeat: str


class PromotionRow(BaseModel):
    id: str
    name: str
    branches: list[str] | Literal["all"]
    start: UtcAnswerTime
    end: UtcAnswerTime
    description: str


class KpiRow(BaseModel):
    """One window of ``branch_kpi_timeseries``; see the KPI documentation for each figure."""

    branch_id: str
    window_start: dt.datetime
    window_end: dt.datetime
    window_minutes: int
    visitors: int
    passed: int
    conversion_proxy: float | None
    baseline: float | None
    traffic_index: float | None
    peak_occupancy: int
    avg_occupancy: float
    congestion_level: float | None
    growth_momentum: float | None
    utilization_ratio: float | None
    staff_on_duty: float
    required_staff: int
    staffing_adequacy: float | None
    bottleneck_score: float | None
    mean_dwell_seconds: float | None
    median_dwell_seconds: float | None
    promotion_active: bool
    event_active: bool
    # staff, groups and occupancy (docs/staff-groups.md); null in KPI files computed before them
    observed_staff: float | None = None
    observed_staffing_adequacy: float | None = None
    buying_units: int | None = None
    mean_group_size: float | None = None
    group_conversion: float | None = None
    reconciled_occupancy: float | None = None
    occupancy_imbalance: int | None = None
    data_quality: str | None = None
    reconciled_peak_occupancy: float | None = None
    reconciled_avg_occupancy: float | None = None
    computed_at: dt.datetime


class KpiSeries(BaseModel):
    branch_id: str
    window_minutes: int
    start: dt.datetime | None = Field(description="The from parameter (window_end > from), if given.")
    end: dt.datetime | None = Field(description="The to parameter (window_start < to), if given.")
    total: int = Field(description="Windows matching branch, window and time range.")
    offset: int
    limit: int
    next_offset: int | None = Field(description="offset of the next page, null on the last one.")
    rows: list[KpiRow]


class MovementRow(BaseModel):
    """One row of ``customer_branch_movement``."""

    customer_id: str
    branch_id: str
    camera_id: str | None
    action_type: str
    enter_time: dt.datetime
    exit_time: dt.datetime
    exit_observed: bool
    dwell_seconds: float
    first_seen: dt.datetime
    last_seen: dt.datetime
    track_id: int | None
    n_frames: int | None
    mean_confidence: float | None
    source_video: str
    video_fingerprint: str
    model: str | None
    processed_at: dt.datetime
    # null in files written before these columns existed (docs/staff-groups.md)
    is_staff: bool | None = None
    staff_reason: str | None = None
    group_id: str | None = None
    line_in: int | None = None
    line_out: int | None = None


class MovementPage(BaseModel):
    rows: list[MovementRow] = Field(description="Ordered by enter_time, then customer_id.")
    count: int = Field(description="Rows on this page.")
    limit: int
    next_cursor: str | None = Field(description="Pass as cursor= for the next page; null on the last one.")


class CustomerSummary(BaseModel):
    """One row of the ``customers`` view plus the person's movements."""

    customer_id: str
    first_seen: dt.datetime
    last_seen: dt.datetime
    visits: int
    passes: int
    movements: int
    branches: list[str]
    n_branches: int
    total_dwell_seconds: float
    rows: list[MovementRow] = Field(description="The movements, by enter_time (at most 1000).")


class ReportKpiRow(KpiRow):
    """A KPI row as the report's table shows it: with its local window and promo/event flags spelled out."""

    window: str = Field(description="The window in the branch's local time, e.g. 'Sun 08 Feb 10:00–11:00'.")
    flags: str = Field(description="'promotion', 'event', both comma-separated, or empty.")


class ReportSummary(BaseModel):
    visitors: int
    passed: int
    conversion: float | None = Field(description="visitors / (visitors + passed) over the whole range.")
    peak_occupancy: int
    capacity: int
    mean_dwell_seconds: float | None
    median_dwell_seconds: float | None


class ReportPeriod(BaseModel):
    kind: Literal["promotion", "event"]
    name: str
    start: dt.datetime
    end: dt.datetime


class ReportPage(BaseModel):
    """The dashboard's view of a branch and days: the report's HTML sections plus the numbers behind them."""

    branch_id: str
    branch_name: str
    timezone: str
    first_day: dt.date
    last_day: dt.date
    data_first_day: dt.date | None = Field(description="First local day with movements for the branch (any range).")
    data_last_day: dt.date | None
    traffic_minutes: int
    occupancy_minutes: int
    title: str
    subtitle: str
    summary: ReportSummary
    periods: list[ReportPeriod]
    sections: dict[str, str] = Field(description="HTML fragments by section id, the same as in the report file.")
    section_order: list[str]
    kpis: list[ReportKpiRow]
    data_version: str = Field(description="Changes whenever the data or config behind the page changes.")


class DataVersion(BaseModel):
    version: str = Field(description="Changes whenever movements, trajectories, camera pictures or the config change.")
