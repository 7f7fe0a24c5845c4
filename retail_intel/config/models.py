"""pydantic models of the YAML metadata files in a config directory.

One model per entry of ``branches.yaml``, ``employees.yaml``, ``tasks.yaml``,
``events.yaml`` and ``promotions.yaml``. Field-level checks live here;
checks that need more than one entry or file (unknown branch, duplicate ids,
overlapping shifts) live in :mod:`retail_intel.config.loader`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from enum import StrEnum
from typing import Annotated, Literal, Protocol, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from retail_intel.config.camera_settings import (
    CameraSettings,
    int8_with_torch_problem,
    refuse_bool_number,
    refuse_decimal_id,
)
from retail_intel.config.camera_settings import EntranceLine as EntranceLine
from retail_intel.config.camera_settings import Zone as Zone
from retail_intel.config.filename_pattern import check_pattern
from retail_intel.config.staff import StaffSettings

Point = tuple[float, float]
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class _Model(BaseModel):
    # Unknown keys are almost always typos in hand-edited YAML: reject them.
    # Numbers become text where text is expected, so ``id: 101`` is the id "101".
    # inf and nan are never a meaningful frame rate, capacity or coordinate:
    # refusing them here keeps ``fps: .inf`` from passing validate and then crashing.
    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True, allow_inf_nan=False)

    _decimal_id = model_validator(mode="before")(refuse_decimal_id)
    _bool_number = field_validator("*", mode="before")(refuse_bool_number)


def _refuse_all(model: type[BaseModel], value: object, reasons: list[str]) -> None:
    """Raise every one of ``reasons`` (checks across an entry's fields), not just the first.

    A ValidationError raised in a validator keeps its errors, so ``validate`` lists each
    problem on its own line and fixing one does not reveal the next.
    """
    if len(reasons) == 1:
        raise ValueError(reasons[0])
    if reasons:
        raise ValidationError.from_exception_data(
            model.__name__,
            [
                InitErrorDetails(type=PydanticCustomError("value_error", "{error}", {"error": r}), loc=(), input=value)
                for r in reasons
            ],
        )


def _check_tz(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"must be an IANA timezone such as 'Europe/London', got {value!r}") from exc
    return value


def _parse_hhmm(value: str) -> dt.time:
    if not _HHMM.fullmatch(value):
        raise ValueError(f"must be a time of day HH:MM, got {value!r}")
    hours, minutes = value.split(":")
    return dt.time(int(hours), int(minutes))


MINUTES_PER_DAY = 1440
MIDNIGHT_END = "24:00"  # the end of a span that runs to the next local midnight


def _check_end(value: str) -> str:
    # 24:00 is an end only: a span starting at 24:00 would be the next day's 00:00
    if value != MIDNIGHT_END and not _HHMM.fullmatch(value):
        raise ValueError(f"must be a time of day HH:MM from 00:00 to 23:59, or 24:00 for midnight, got {value!r}")
    return value


def clock_minutes(value: str) -> int:
    """Minutes after midnight of a valid ``HH:MM`` (``24:00`` is 1440)."""
    hours, minutes = value.split(":")
    return int(hours) * 60 + int(minutes)


def span_minutes(start: str, end: str) -> tuple[int, int]:
    """(from, to) of a valid span in minutes after the local midnight of its own day.

    24:00 is 1440, and an end earlier than the start is on the next day (18:00-02:00 is
    (1080, 1560)): a span belongs to the day it starts on.
    """
    first, last = clock_minutes(start), clock_minutes(end)
    return first, last if last > first else last + MINUTES_PER_DAY


def span_problem(start: str, end: str) -> str | None:
    """Why ``start``-``end`` (each a valid HH:MM, end maybe 24:00) is not a span, or None."""
    if clock_minutes(end) == clock_minutes(start):
        return (
            "end must differ from start (an end earlier than the start runs past midnight; "
            f"a whole day is 00:00-24:00), got {start}-{end}"
        )
    return None


def _check_hhmm(value: str) -> str:
    _parse_hhmm(value)
    return value


# The times of day of the spans below (opening hours, shifts, their exceptions), declared once:
# a start (or peak time) is 00:00-23:59, an end may also be 24:00.
ClockTime = Annotated[str, AfterValidator(_check_hhmm)]
ClockEnd = Annotated[str, AfterValidator(_check_end)]


class _Span(Protocol):
    start: str
    end: str


_SpanModel = TypeVar("_SpanModel", bound=_Span)


def _refuse_empty_span(start: str, end: str) -> None:
    # after the field checks, so both ends are valid times here; an end earlier than the start
    # crosses midnight, only start == end is no span
    problem = span_problem(start, end)
    if problem is not None:
        raise ValueError(problem)


def _span_in_order(model: _SpanModel) -> _SpanModel:
    """The model check of a span with both ends required (TimeRange, WeeklyShift)."""
    _refuse_empty_span(model.start, model.end)
    return model


# Branch and camera ids become folder and file names in the data directory, so
# they must be plain names: no separators, no leading dot ("..", ".hidden").
_PLAIN_ID = re.compile(r"^\w[\w.-]{0,63}$")


def _plain_id(value: str) -> str:
    if not _PLAIN_ID.fullmatch(value):  # fullmatch: "$" alone lets a trailing newline through
        raise ValueError(
            "must be a plain name of at most 64 letters, digits, '_', '-' or '.' "
            f"starting with a letter or digit (it names folders in the data directory), got {value!r}"
        )
    return value


PlainId = Annotated[str, Field(min_length=1), AfterValidator(_plain_id)]


def _require_aware(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        raise ValueError(f"must carry a timezone (ISO 8601 such as 2026-02-08T10:00:00+00:00), got {value.isoformat()}")
    return value


class TimeRange(_Model):
    """A span starting on a day at HH:MM: ``24:00`` as the end runs to the next local midnight, an end
    earlier than the start runs past midnight into the next day (18:00-02:00), start == end is refused."""

    start: ClockTime
    end: ClockEnd

    _ordered = model_validator(mode="after")(_span_in_order)

    @property
    def start_time(self) -> dt.time:
        return _parse_hhmm(self.start)

    @property
    def minutes(self) -> tuple[int, int]:
        """(from, to) in minutes after the local midnight of the span's day; to is past 1440 after midnight."""
        return span_minutes(self.start, self.end)

    @classmethod
    def parse(cls, text: str) -> TimeRange:
        """Build from ``"09:00-21:00"``."""
        start, sep, end = text.partition("-")
        if not sep:
            raise ValueError(f"must be HH:MM-HH:MM, got {text!r}")
        return cls(start=start.strip(), end=end.strip())


def _coerce_range(value: object) -> object:
    # "09:00-21:00" becomes {start, end} so a bad half is reported at
    # opening_hours.<day>.start/end rather than as one opaque error.
    if isinstance(value, str):
        start, sep, end = value.partition("-")
        if not sep:
            raise ValueError(f"must be HH:MM-HH:MM or closed, got {value!r}")
        return {"start": start.strip(), "end": end.strip()}
    return value


# One day's opening span, written "09:00-21:00" or as {start, end}.
OpeningSpan = Annotated[TimeRange, BeforeValidator(_coerce_range)]


class Camera(CameraSettings):
    """One camera of a branch, the region of interest it watches and its processing settings.

    Exactly one of ``roi`` (rectangle x1,y1,x2,y2) or ``zone`` (polygon) is given;
    every other processing setting is declared once in :class:`CameraSettings`.
    """

    id: PlainId
    # A camera's zones are a list (empty when it has none); checked across the branch in config/zone_checks.py.
    zones: list[Zone] = Field(default_factory=list)
    # strftime-style pattern matched against the file name's stem, e.g.
    # "cam1_%Y%m%d_%H%M%S"; the parsed time is taken in the branch's timezone.
    filename_pattern: str | None = None

    @field_validator("filename_pattern")
    @classmethod
    def _pattern(cls, value: str | None) -> str | None:
        # the check process and batch make: refused here, not on the first video; an empty
        # pattern is no pattern, as process and batch read it
        return check_pattern(value) if value else None

    @model_validator(mode="after")
    def _needs_region(self) -> Camera:
        if self.roi is None and self.zone is None:
            raise ValueError("needs a region: roi [x1, y1, x2, y2] or zone [[x, y], ...]")
        return self

    @model_validator(mode="after")
    def _int8_not_on_torch(self) -> Camera:
        # process refuses it only once it runs (pipeline/run.py, full_frame_detector): refused here, by validate
        problem = int8_with_torch_problem(self)
        if problem is not None:
            raise ValueError(problem)
        return self

    def settings(self) -> CameraSettings:
        """This camera's processing settings as a layer (without its id and file name pattern)."""
        given = self.given()
        if not self.zones:
            given.pop("zones", None)  # no zones: the layer leaves them unset, like any absent setting
        return CameraSettings.model_validate(given)

    def region_points(self) -> list[Point]:
        """The ROI as a polygon, whichever form the YAML used."""
        if self.zone is not None:
            return list(self.zone)
        assert self.roi is not None
        x1, y1, x2, y2 = self.roi
        return [(x1, y1), (x2, y1), (x2, y2), (x1, y2)]


def unknown_staff_cameras(staff_cameras: Iterable[str], camera_ids: Sequence[str]) -> str | None:
    """The problem of staff zones drawn for cameras the branch does not have, or None."""
    unknown = sorted(set(staff_cameras) - set(camera_ids))
    if not unknown:
        return None
    known = ", ".join(repr(c) for c in camera_ids) or "none"
    return f"staff.zones names cameras this branch does not have: {unknown} (cameras: {known})"


class BranchState(StrEnum):
    active = "active"
    inactive = "inactive"
    closed = "closed"


class Branch(_Model):
    id: PlainId
    name: str = Field(min_length=1)
    capacity: int = Field(gt=0, le=1_000_000, description="people the floor holds")
    peak_time: ClockTime | None = Field(default=None, description="usual busiest time of day, HH:MM")
    neighbors: list[str] = Field(default_factory=list)
    state: BranchState = BranchState.active
    timezone: str = "UTC"
    # weekday -> opening span; a missing weekday means closed that day
    opening_hours: dict[Weekday, OpeningSpan] = Field(default_factory=dict)
    # bounded so staffing maths stays finite (1e-300 customers per staff would need infinite staff)
    customers_per_staff: float = Field(default=10.0, ge=0.01, le=1_000_000)
    min_staff: int = Field(default=1, ge=0, le=1_000_000)
    cameras: list[Camera] = Field(default_factory=list)
    staff: StaffSettings = Field(default_factory=StaffSettings)  # staff evidence (docs/staff-groups.md)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        return _check_tz(value)

    @field_validator("opening_hours", mode="before")
    @classmethod
    def _hours(cls, value: object) -> object:
        if isinstance(value, dict):
            # closed, empty (nothing after the colon, or '') or left out: closed that day
            return {
                k: v
                for k, v in value.items()
                if v is not None and not (isinstance(v, str) and v.strip() in ("", "closed"))
            }
        return value

    @model_validator(mode="after")
    def _staff_zones_on_cameras(self) -> Branch:
        # a misspelt camera id would leave its staff zone silently unused
        problem = unknown_staff_cameras(self.staff.zones, [c.id for c in self.cameras])
        if problem is not None:
            raise ValueError(problem)
        return self

    @property
    def tzinfo(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def camera(self, camera_id: str) -> Camera | None:
        return next((c for c in self.cameras if c.id == camera_id), None)


class WeeklyShift(_Model):
    """A recurring shift on one weekday, in the branch's local time; one ending before it starts ends the next day."""

    day: Weekday
    start: ClockTime
    end: ClockEnd

    _ordered = model_validator(mode="after")(_span_in_order)

    @property
    def span(self) -> TimeRange:
        return TimeRange(start=self.start, end=self.end)


class ShiftException(_Model):
    """A dated change to the weekly schedule: a day off, or different hours that day."""

    date: dt.date
    off: bool = False
    start: ClockTime | None = None
    end: ClockEnd | None = None

    @model_validator(mode="after")
    def _consistent(self) -> ShiftException:
        if self.off and (self.start or self.end):
            raise ValueError("an exception is either off: true or has start/end, not both")
        if not self.off:
            if self.start is None or self.end is None:
                raise ValueError("needs off: true, or both start and end")
            _refuse_empty_span(self.start, self.end)
        return self


class Shifts(_Model):
    weekly: list[WeeklyShift] = Field(default_factory=list)
    exceptions: list[ShiftException] = Field(default_factory=list)


class Employee(_Model):
    id: str = Field(min_length=1)
    branch: str = Field(min_length=1)
    name: str = Field(min_length=1)
    role: str = "associate"
    shifts: Shifts = Field(default_factory=Shifts)


class TaskStatus(StrEnum):
    open = "open"
    in_progress = "in_progress"
    done = "done"
    cancelled = "cancelled"


class TaskPriority(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"
    urgent = "urgent"


class Task(_Model):
    id: str = Field(min_length=1)
    branch: str = Field(min_length=1)
    assignee: str | None = None
    title: str = Field(min_length=1)
    status: TaskStatus = TaskStatus.open
    priority: TaskPriority = TaskPriority.medium
    due: dt.datetime | None = None

    @field_validator("due")
    @classmethod
    def _aware(cls, value: dt.datetime | None) -> dt.datetime | None:
        return None if value is None else _require_aware(value)


class Repeat(StrEnum):
    none = "none"
    daily = "daily"
    weekly = "weekly"
    monthly = "monthly"


class Event(_Model):
    """Something happening at or near a branch (or at a named location) that may move traffic."""

    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    branch: str | None = None
    location: str | None = None
    start: dt.datetime
    end: dt.datetime
    repeat: Repeat = Repeat.none
    until: dt.date | None = None

    @field_validator("start", "end")
    @classmethod
    def _aware(cls, value: dt.datetime) -> dt.datetime:
        return _require_aware(value)

    @model_validator(mode="after")
    def _check(self) -> Event:
        reasons = []
        if self.end <= self.start:
            reasons.append(f"end must be after start, got start {self.start.isoformat()} end {self.end.isoformat()}")
        if self.branch is None and self.location is None:
            reasons.append("needs a branch or a location")
        if self.until is not None and self.repeat is Repeat.none:
            reasons.append("until only makes sense with repeat daily, weekly or monthly")
        _refuse_all(Event, self.model_dump(), reasons)
        return self


def _branch_list_or_all(value: object) -> object:
    """``branches:`` of a promotion or holiday as written; one problem for a typo or an empty key."""
    if value is None:
        raise ValueError("must be a list of branch ids or 'all', got nothing (empty)")
    if isinstance(value, str) and value != "all":
        raise ValueError(f"must be a list of branch ids or 'all', got {value!r}")
    return value


class Promotion(_Model):
    """A promotion at some branches (``branches``) or everywhere (``branches: all``)."""

    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    branches: list[str] | Literal["all"] = "all"
    start: dt.datetime
    end: dt.datetime
    description: str = ""

    @field_validator("branches", mode="before")
    @classmethod
    def _branch_list(cls, value: object) -> object:
        # Without this, a typo such as "al", or the key left empty, yields two opaque union errors.
        return _branch_list_or_all(value)

    @field_validator("start", "end")
    @classmethod
    def _aware(cls, value: dt.datetime) -> dt.datetime:
        return _require_aware(value)

    @model_validator(mode="after")
    def _check(self) -> Promotion:
        if self.end <= self.start:
            raise ValueError(f"end must be after start, got start {self.start.isoformat()} end {self.end.isoformat()}")
        return self

    def applies_to(self, branch_id: str) -> bool:
        return self.branches == "all" or branch_id in self.branches

    def runs_at(self, at: dt.datetime) -> bool:
        """True while the promotion runs: ``start <= at < end``."""
        return self.start <= at < self.end


class Holiday(_Model):
    """A public or local holiday: a whole local date at some branches (``branches``) or all of them."""

    date: dt.date
    name: str = Field(min_length=1)
    branches: list[str] | Literal["all"] = "all"

    @field_validator("date", mode="before")
    @classmethod
    def _plain_date(cls, value: object) -> object:
        # A date-time would silently lose its time and zone: a holiday is a local calendar date.
        if isinstance(value, dt.datetime) or (isinstance(value, str) and "T" in value):
            raise ValueError(f"must be a date such as 2026-12-25 (no time of day), got {value!s}")
        return value

    @field_validator("branches", mode="before")
    @classmethod
    def _branch_list(cls, value: object) -> object:
        return _branch_list_or_all(value)

    def applies_to(self, branch_id: str) -> bool:
        return self.branches == "all" or branch_id in self.branches
