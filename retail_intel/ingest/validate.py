"""Checking raw event records against the movement contract, one reason per problem.

A record is accepted only if every field is right; otherwise every problem
found in it is reported (not just the first), each with a short kind used for
the summary and a message naming the field and the value that arrived.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from retail_intel.errors import TimeError
from retail_intel.ingest.reader import REQUIRED_FIELDS, RawRecord
from retail_intel.movements.plausible import TimeLimits
from retail_intel.movements.schema import ACTION_TYPES
from retail_intel.timeutil import parse_datetime

_MAX_LISTED = 8


@dataclass(frozen=True)
class Problem:
    kind: str  # short category for the summary, e.g. "unknown branch"
    message: str  # what was expected and what arrived


@dataclass(frozen=True)
class Rejection:
    line: int
    raw: str
    problems: tuple[Problem, ...]

    @property
    def reason(self) -> str:
        return "; ".join(p.message for p in self.problems)


@dataclass(frozen=True)
class ValidEvent:
    line: int
    customer_id: str  # canonical lower-case hyphenated UUID
    branch_id: str
    action_type: str
    enter_time: dt.datetime  # aware UTC
    exit_time: dt.datetime


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _known_listing(known: Collection[str]) -> str:
    names = sorted(known)
    shown = ", ".join(names[:_MAX_LISTED])
    return shown + (f", ... ({len(names)} in all)" if len(names) > _MAX_LISTED else "") if names else "none"


def _text_fields(fields: dict[str, object], problems: list[Problem]) -> dict[str, str]:
    values: dict[str, str] = {}
    for name in REQUIRED_FIELDS:
        value = fields.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            problems.append(Problem("missing field", f"{name}: missing or empty"))
        elif not isinstance(value, str):
            problems.append(
                Problem("wrong type", f"{name}: expected a string, got {type(value).__name__} {_show(value)}")
            )
        else:
            values[name] = value.strip()
    return values


def _time(name: str, text: str, problems: list[Problem]) -> dt.datetime | None:
    try:
        return parse_datetime(text)
    except TimeError as exc:
        problems.append(Problem("invalid time", f"{name}: {exc}"))
        return None


def check_record(
    record: RawRecord, known_branches: Collection[str], limits: TimeLimits | None = None
) -> ValidEvent | list[Problem]:
    """The record as a :class:`ValidEvent`, or every problem found in it.

    ``limits`` (resolved; default 2000-01-01 .. now + 1 day, dwell at most
    24 h) bounds the times: see :mod:`retail_intel.movements.plausible`.
    """
    if record.fields is None:
        return [Problem("unparseable row", record.error or "cannot be parsed")]
    problems: list[Problem] = []
    values = _text_fields(record.fields, problems)
    customer_id = None
    if "customer_id" in values:
        try:
            customer_id = str(uuid.UUID(values["customer_id"]))
        except ValueError:
            problems.append(
                Problem("invalid customer_id", f"customer_id: expected a UUID, got {_show(values['customer_id'])}")
            )
    branch_id = values.get("branch_id")
    if branch_id is not None and branch_id not in known_branches:
        problems.append(
            Problem(
                "unknown branch",
                f"branch_id: unknown branch {branch_id!r} (branches.yaml defines {_known_listing(known_branches)})",
            )
        )
    action_type = values.get("action_type")
    if action_type is not None and action_type not in ACTION_TYPES:
        problems.append(
            Problem(
                "unknown action_type",
                f"action_type: expected one of {', '.join(ACTION_TYPES)}, got {_show(action_type)}",
            )
        )
    enter = _time("enter_time", values["enter_time"], problems) if "enter_time" in values else None
    exit_ = _time("exit_time", values["exit_time"], problems) if "exit_time" in values else None
    if enter is not None and exit_ is not None and exit_ < enter:
        problems.append(
            Problem(
                "exit before enter",
                f"exit_time {exit_.isoformat()} is before enter_time {enter.isoformat()}",
            )
        )
    if enter is not None or exit_ is not None:  # a time that reads is checked even if the other does not
        bounds = limits if limits is not None else TimeLimits().resolved()
        problems.extend(Problem(kind, message) for kind, message in bounds.problems(enter, exit_))
    if problems:
        return problems
    assert customer_id and branch_id and action_type and enter and exit_
    return ValidEvent(record.line, customer_id, branch_id, action_type, enter, exit_)


def validate_records(
    records: Iterable[RawRecord], known_branches: Collection[str], limits: TimeLimits | None = None
) -> tuple[list[ValidEvent], list[Rejection]]:
    """Split records into valid events and rejections.

    A customer_id given twice in one file is rejected on its second
    occurrence: a person's movement is one event, and silently keeping either
    copy would hide a bug upstream.
    """
    known = frozenset(known_branches)
    bounds = (limits or TimeLimits()).resolved()  # one "now" for the whole file
    valid: list[ValidEvent] = []
    rejected: list[Rejection] = []
    first_line: dict[str, int] = {}
    for record in records:
        result = check_record(record, known, bounds)
        if isinstance(result, list):
            rejected.append(Rejection(record.line, record.raw, tuple(result)))
            continue
        earlier = first_line.get(result.customer_id)
        if earlier is not None:
            problem = Problem(
                "duplicate customer_id",
                f"customer_id {result.customer_id} already appears on line {earlier} of this file",
            )
            rejected.append(Rejection(record.line, record.raw, (problem,)))
            continue
        first_line[result.customer_id] = record.line
        valid.append(result)
    return valid, rejected
