"""What a report shows, gathered from the stores and the config; nothing is drawn here.

:func:`collect_report` runs the KPI engine (the same code as ``retail-intel
kpis``) for the report's days at two window sizes: a coarse one for visitors,
passers-by and conversion, a fine one for occupancy over the day. The dwell
distribution comes from the same movement rows the KPIs read, and the
heatmaps from the trajectories ``process`` keeps beside the movements. The
KPI store is not written: a report never changes the data it reports on.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from retail_intel.errors import DataError, InputError
from retail_intel.kpis.compute import branch_info, compute_kpis_for, config_intervals, read_movement_inputs
from retail_intel.movements.schema import TRAJECTORY_SCHEMA
from retail_intel.report.heatmap import Grid, density_grid
from retail_intel.report.zone_data import ZoneReport, collect_zone_report
from retail_intel.storage import TRAJECTORIES_DIR, camera_frame_path, is_plain_name, parquet_files

if TYPE_CHECKING:
    from retail_intel.config.loader import Config
    from retail_intel.config.models import Branch

# Longest report: a year of daily bars is still readable; more is a different tool.
MAX_REPORT_DAYS = 366
# Pixels per heatmap cell: fine enough to separate a doorway from a till on a 720p frame.
HEATMAP_CELL = 8


@dataclass(frozen=True)
class Period:
    """A promotion or event occurrence, clipped to the report's range."""

    kind: Literal["promotion", "event"]
    name: str
    start: dt.datetime  # aware UTC
    end: dt.datetime


@dataclass(frozen=True)
class CameraHeat:
    """Foot-point density of one camera over the report's range."""

    camera_id: str
    density: Grid  # samples per HEATMAP_CELL square, blurred; row 0 is the top of the frame
    width: int  # frame size in pixels
    height: int
    region: tuple[tuple[float, float], ...]  # the camera's ROI as a polygon
    frame_path: Path | None  # the camera picture drawn under the heatmap, when process kept one
    samples: int  # foot points counted
    people: int  # distinct tracked people


@dataclass(frozen=True)
class ReportData:
    """Everything one report (or one dashboard view) shows for one branch and a run of days."""

    branch_id: str
    branch_name: str
    timezone: str
    capacity: int
    first_day: dt.date  # local dates, inclusive
    last_day: dt.date
    start: dt.datetime  # local midnight of first_day, as aware UTC
    end: dt.datetime  # local midnight after last_day (exclusive)
    traffic_minutes: int  # window of the visitors / passers-by / conversion series
    occupancy_minutes: int  # window of the occupancy series
    traffic: pa.Table  # KPI_SCHEMA rows at traffic_minutes
    occupancy: pa.Table  # KPI_SCHEMA rows at occupancy_minutes
    dwell_seconds: tuple[float, ...]  # of every visitor ("entered", not staff) with enter_time in the range
    periods: tuple[Period, ...]
    cameras: tuple[CameraHeat, ...]  # cameras with trajectories in the range
    data_span: tuple[dt.date, dt.date] | None  # first and last local day with movements (any range)
    cameras_without_paths: tuple[str, ...] = ()  # configured cameras with no trajectories in the range
    # earliest opening and latest closing over the days, in minutes after a day's local midnight (24:00 is 1440)
    opening: tuple[int, int] | None = None
    zones: ZoneReport | None = None  # zone and queue numbers; None when the branch has no zones
    generated_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    @property
    def tzinfo(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1

    @property
    def visitors(self) -> int:
        return int(pc.sum(self.traffic["visitors"]).as_py() or 0)

    @property
    def passed(self) -> int:
        return int(pc.sum(self.traffic["passed"]).as_py() or 0)

    @property
    def conversion(self) -> float | None:
        """Visitors over everyone seen (the KPI's conversion proxy over the whole range)."""
        seen = self.visitors + self.passed
        return self.visitors / seen if seen else None

    @property
    def peak_occupancy(self) -> int:
        return int(pc.max(self.occupancy["peak_occupancy"]).as_py() or 0)

    @property
    def has_movements(self) -> bool:
        return self.visitors + self.passed > 0

    @property
    def mean_dwell(self) -> float | None:
        """Mean dwell of the range's visitors in seconds (None without visitors)."""
        return float(np.mean(self.dwell_seconds)) if self.dwell_seconds else None

    @property
    def median_dwell(self) -> float | None:
        return float(np.median(self.dwell_seconds)) if self.dwell_seconds else None


def report_granularity(days: int) -> tuple[int, int]:
    """(traffic window, occupancy window) in minutes for a report of ``days`` days.

    Hourly bars up to a week (168 bars), daily beyond; occupancy every 5
    minutes for two days, every minute for one (a rush shows), then hourly, then daily.
    """
    traffic = 60 if days <= 7 else 1440
    occupancy = 1 if days == 1 else 5 if days <= 2 else 60 if days <= 31 else 1440
    return traffic, occupancy


def day_bounds(first_day: dt.date, last_day: dt.date, tz: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """Local midnight of ``first_day`` and of the day after ``last_day``, as aware UTC."""
    start = dt.datetime.combine(first_day, dt.time(), tzinfo=tz).astimezone(dt.UTC)
    end = dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time(), tzinfo=tz).astimezone(dt.UTC)
    return start, end


# Days outside this range cannot be real footage and overflow time arithmetic near year 1 or 9999.
EARLIEST_DAY = dt.date(1970, 1, 1)
LATEST_DAY = dt.date(9998, 12, 31)


def check_day(day: dt.date, name: str) -> None:
    """:class:`InputError` naming ``name`` (the option or parameter that gave ``day``) when it is out of range."""
    if not EARLIEST_DAY <= day <= LATEST_DAY:
        raise InputError(f"{name} {day}: expected a day between {EARLIEST_DAY} and {LATEST_DAY}")


def check_days(
    first_day: dt.date,
    last_day: dt.date,
    *,
    max_days: int = MAX_REPORT_DAYS,
    names: tuple[str, str] = ("first day", "last day"),
) -> None:
    """Refuse a range a report cannot cover; ``names`` name the first and the last day in messages."""
    for day, name in zip((first_day, last_day), names, strict=True):
        check_day(day, name)
    if last_day < first_day:
        raise InputError(f"the last day ({last_day}) must not be before the first ({first_day})")
    days = (last_day - first_day).days + 1
    if days > max_days:
        raise InputError(f"a report covers at most {max_days} days, got {days} ({first_day} to {last_day})")


def movement_span(movements: pa.Table, tz: ZoneInfo) -> tuple[dt.date, dt.date] | None:
    """First and last local day with a movement (by enter time), None when there is none."""
    if movements.num_rows == 0:
        return None
    low, high = pc.min_max(movements["enter_time"]).values()
    return low.as_py().astimezone(tz).date(), high.as_py().astimezone(tz).date()


def collect_report(
    config: Config,
    data_dir: Path,
    branch_id: str,
    first_day: dt.date | None = None,
    last_day: dt.date | None = None,
    *,
    engine: str = "duckdb",
    max_days: int = MAX_REPORT_DAYS,
    names: tuple[str, str] = ("first day", "last day"),
) -> ReportData:
    """The numbers and pictures of a report on ``branch_id`` for ``first_day`` .. ``last_day`` (local dates).

    ``first_day`` defaults to ``last_day`` when only that is given, else to
    the last day with movements (today when there are none); ``last_day``
    defaults to ``first_day``. A range without movements gives
    empty series, not an error: a closed day is a fact worth showing.
    ``names`` are what the caller calls the first and the last day (its
    options or parameters), so an out-of-range day is named as it was given.
    """
    for given, name in zip((first_day, last_day), names, strict=True):
        if given is not None:
            check_day(given, name)
    branch = config.branch(branch_id)
    tz = branch.tzinfo
    movements = read_movement_inputs(data_dir, [branch_id])
    span = movement_span(movements, tz)
    if first_day is None and last_day is not None:
        first_day = last_day  # only the last day given: that one day
    if first_day is None:
        first_day = span[1] if span is not None else dt.datetime.now(tz).date()
    if last_day is None:
        last_day = first_day
    check_days(first_day, last_day, max_days=max_days)
    start, end = day_bounds(first_day, last_day, tz)
    traffic_minutes, occupancy_minutes = report_granularity((last_day - first_day).days + 1)

    info = branch_info(branch)
    intervals = config_intervals(config)

    def kpis(minutes: int) -> pa.Table:
        result = compute_kpis_for(
            [info],
            data_dir,
            window_minutes=minutes,
            intervals=intervals,
            start=start,
            end=end,
            engine=engine,
            write=False,
            movements=movements,
        )
        return result.table

    in_range = pc.and_(
        pc.greater_equal(movements["enter_time"], pa.scalar(start, movements.schema.field("enter_time").type)),
        pc.less(movements["enter_time"], pa.scalar(end, movements.schema.field("enter_time").type)),
    )
    heats, without_paths = _camera_heat(branch, data_dir, first_day, last_day, start, end)
    # the visitors the KPIs count: staff left out as the KPI engines do (a null is not staff)
    not_staff = pc.invert(pc.fill_null(movements["is_staff"], False))
    entered = movements.filter(
        pc.and_(pc.and_(in_range, not_staff), pc.equal(movements["action_type"].cast(pa.string()), "entered"))
    )
    return ReportData(
        branch_id=branch.id,
        branch_name=branch.name,
        timezone=branch.timezone,
        capacity=branch.capacity,
        first_day=first_day,
        last_day=last_day,
        start=start,
        end=end,
        traffic_minutes=traffic_minutes,
        occupancy_minutes=occupancy_minutes,
        traffic=kpis(traffic_minutes),
        occupancy=kpis(occupancy_minutes),
        dwell_seconds=tuple(float(v) for v in entered["dwell_seconds"].to_pylist()),
        periods=tuple(_periods(config, branch_id, start, end)),
        cameras=tuple(heats),
        cameras_without_paths=tuple(without_paths),
        data_span=span,
        opening=_opening(branch, first_day, last_day),
        zones=collect_zone_report(config, data_dir, branch_id, start, end, traffic_minutes, engine),
    )


def _periods(config: Config, branch_id: str, start: dt.datetime, end: dt.datetime) -> list[Period]:
    from retail_intel.config.calendar import expand_events

    found = [
        Period("promotion", promo.name, max(promo.start, start), min(promo.end, end))
        for promo in config.promotions_for(branch_id)
        if promo.start < end and promo.end > start
    ]
    found.extend(
        Period("event", occurrence.name, max(occurrence.start, start), min(occurrence.end, end))
        for occurrence in expand_events(config.events_for(branch_id), start, end, timezones=config.timezones)
    )
    return sorted(found, key=lambda p: (p.start, p.kind, p.name))


_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _opening(branch: Branch, first_day: dt.date, last_day: dt.date) -> tuple[int, int] | None:
    """Earliest opening and latest closing over the report's weekdays, in minutes after a day's midnight.

    None: no hours known. A close after midnight is past 1440; the night of the day before
    the report running into its first day (18:00-02:00) opens it at 0.
    """
    weekdays = {
        _WEEKDAYS[(first_day + dt.timedelta(days=i)).weekday()] for i in range(min(7, (last_day - first_day).days + 1))
    }
    spans = [span.minutes for day, span in branch.opening_hours.items() if day in weekdays]
    # the night before, even where the report's own days have no hours (a bar closed on Sunday)
    before = branch.opening_hours.get(_WEEKDAYS[(first_day - dt.timedelta(days=1)).weekday()])  # type: ignore[call-overload]
    day = 24 * 60  # minutes; the config's models stay out of this module's imports (TYPE_CHECKING)
    if before is not None and before.minutes[1] > day:
        spans.append((0, before.minutes[1] - day))
    if not spans:
        return None
    return min(a for a, _ in spans), max(z for _, z in spans)


def trajectory_files(data_dir: Path, branch_id: str, first_day: dt.date, last_day: dt.date) -> list[Path]:
    """The branch's trajectory files whose folder date is within a day of the range.

    Folders are named by the video's start date, which may be in another
    timezone than the branch's local date; the one-day margin covers that,
    and rows are filtered by time afterwards anyway.
    """
    root = data_dir / TRAJECTORIES_DIR / branch_id
    low = first_day - dt.timedelta(days=1)
    high = last_day + dt.timedelta(days=1)
    chosen = []
    for path in parquet_files(root):
        try:
            day = dt.date.fromisoformat(path.parent.name)
        except ValueError:
            chosen.append(path)  # not a date folder: cannot rule it out
            continue
        if low <= day <= high:
            chosen.append(path)
    return chosen


def read_trajectory_points(files: Sequence[Path], start: dt.datetime, end: dt.datetime) -> pa.Table:
    """camera_id, customer_id, x, y of every trajectory sample with ``start <= time < end``."""
    import polars as pl

    columns = ["camera_id", "customer_id", "time", "x", "y"]
    if not files:
        return TRAJECTORY_SCHEMA.empty_table().select(columns)
    try:
        frame = (
            pl.scan_parquet([str(p) for p in files], hive_partitioning=False, glob=False)
            .select(columns)
            .filter((pl.col("time") >= start) & (pl.col("time") < end))
            .collect()
        )
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise DataError(f"{files[0].parents[2]}: cannot read the trajectory Parquet files ({exc})") from exc
    table = frame.to_arrow()
    return table.cast(pa.schema([TRAJECTORY_SCHEMA.field(name) for name in columns]))


def _frame_size(path: Path) -> tuple[int, int] | None:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            width, height = image.size
    except (OSError, UnidentifiedImageError):
        return None
    return int(width), int(height)


def _camera_heat(
    branch: Branch, data_dir: Path, first_day: dt.date, last_day: dt.date, start: dt.datetime, end: dt.datetime
) -> tuple[list[CameraHeat], list[str]]:
    """A heatmap per camera with trajectories in the range, and the configured cameras without any."""
    points = read_trajectory_points(trajectory_files(data_dir, branch.id, first_day, last_day), start, end)
    configured = [c.id for c in branch.cameras]
    seen = set(points["camera_id"].to_pylist())
    heats = []
    for camera_id in configured + sorted(seen - set(configured)):
        if camera_id not in seen:
            continue
        rows = points.filter(pc.equal(points["camera_id"], camera_id))
        xs, ys = rows["x"].to_numpy(), rows["y"].to_numpy()
        camera = branch.camera(camera_id)
        region = tuple(camera.region_points()) if camera is not None else ()
        frame_path: Path | None = None
        size = None
        if is_plain_name(camera_id):  # ids become file names; an odd one has no picture
            candidate = camera_frame_path(data_dir, branch.id, camera_id)
            size = _frame_size(candidate) if candidate.is_file() else None
            frame_path = candidate if size is not None else None
        if size is None:
            # No picture: a canvas just big enough for the points and the ROI.
            right = max(float(np.max(xs)), *(p[0] for p in region), 0.0)
            bottom = max(float(np.max(ys)), *(p[1] for p in region), 0.0)
            size = (int(right) + 20, int(bottom) + 20)
        width, height = size
        heats.append(
            CameraHeat(
                camera_id=camera_id,
                density=density_grid(xs, ys, width=width, height=height, cell=HEATMAP_CELL),
                width=width,
                height=height,
                region=region,
                frame_path=frame_path,
                samples=rows.num_rows,
                people=len(set(rows["customer_id"].to_pylist())),
            )
        )
    return heats, [c for c in configured if c not in seen]
