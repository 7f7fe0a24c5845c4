"""What a plausible movement time looks like, shared by ingest (which refuses the rest) and the KPI readers.

A movement dated year 1 or 9999 overflows Python's datetime as soon as a
window is shifted into a local timezone, and one dated 1970 (a zero
timestamp) or with a 100-year dwell makes the KPI engines build hundreds of
thousands of empty windows. Such rows are never real footfall: ingest
refuses them with a reason, and readers of the store refuse a file holding
them, naming it, instead of crashing or silently computing from it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from retail_intel.errors import InputError
from retail_intel.timeutil import require_aware

DEFAULT_EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
DEFAULT_LATEST_AHEAD = dt.timedelta(days=1)  # clocks of other systems may run a little ahead
DEFAULT_MAX_DWELL = dt.timedelta(hours=24)


@dataclass(frozen=True)
class TimeLimits:
    """The range movement times must fall in and the longest dwell; ``latest=None`` means now + 1 day."""

    earliest: dt.datetime = DEFAULT_EARLIEST
    latest: dt.datetime | None = None
    max_dwell: dt.timedelta = DEFAULT_MAX_DWELL

    def resolved(self, now: dt.datetime | None = None) -> TimeLimits:
        """These limits with ``latest`` fixed (now + 1 day when unset), so one run checks every row alike."""
        if self.latest is not None:
            return self
        moment = now if now is not None else dt.datetime.now(dt.UTC)
        latest = moment.astimezone(dt.UTC).replace(microsecond=0) + DEFAULT_LATEST_AHEAD
        return TimeLimits(self.earliest, latest, self.max_dwell)

    def checked(self, now: dt.datetime | None = None) -> TimeLimits:
        """:meth:`resolved`, or :class:`InputError` for limits that are wider than the defaults or empty.

        Wider limits would store rows that kpis, etl and report then refuse (they
        check the default range), and an empty range would reject every row.
        """
        for name, value in (("earliest", self.earliest), ("latest", self.latest)):
            if value is not None:
                require_aware(value, f"limits.{name}")  # a naive time cannot be compared with the rows'
        if not isinstance(self.max_dwell, dt.timedelta):
            raise InputError(
                f"limits.max_dwell must be a datetime.timedelta, got {self.max_dwell!r} ({type(self.max_dwell).__name__})"
            )
        chosen = self.resolved(now)
        widest = TimeLimits().resolved(now)
        assert chosen.latest is not None and widest.latest is not None
        if chosen.earliest < widest.earliest or chosen.latest > widest.latest:
            raise InputError(
                f"limits can only narrow the plausible range {widest.range_text()} (the KPIs refuse anything "
                f"outside it), got {chosen.range_text()}"
            )
        if not dt.timedelta(0) <= chosen.max_dwell <= widest.max_dwell:
            raise InputError(
                f"limits.max_dwell must be between 0 and {_hours(widest.max_dwell)}, got {chosen.max_dwell}"
            )
        if chosen.earliest > chosen.latest:
            raise InputError(
                f"limits.earliest must not be after limits.latest (default now + 1 day), got {chosen.range_text()}"
            )
        return chosen

    def range_text(self) -> str:
        latest = self.latest.isoformat() if self.latest is not None else "now + 1 day"
        return f"{self.earliest.isoformat()} .. {latest}"

    def problems(self, enter: dt.datetime | None, exit_: dt.datetime | None) -> list[tuple[str, str]]:
        """(kind, message) for each way ``enter``..``exit_`` is implausible; call on :meth:`resolved` limits.

        A time that could not be read (None) is left out: the other is still checked on its own,
        and the dwell only when both are there.
        """
        assert self.latest is not None, "resolve the limits first"
        found: list[tuple[str, str]] = []
        for name, value in (("enter_time", enter), ("exit_time", exit_)):
            if value is not None and not self.earliest <= value <= self.latest:
                found.append(
                    (
                        "implausible time",
                        f"{name}: {value.isoformat()} is outside the plausible range {self.range_text()}",
                    )
                )
        if enter is None or exit_ is None:
            return found
        dwell = exit_ - enter
        if dwell > self.max_dwell:
            found.append(
                (
                    "dwell too long",
                    f"exit_time - enter_time is {_hours(dwell)}, more than the maximum dwell {_hours(self.max_dwell)}",
                )
            )
        return found


def _hours(span: dt.timedelta) -> str:
    hours = span.total_seconds() / 3600
    return f"{hours:,.1f} h" if hours < 24 * 365 else f"{hours / (24 * 365.25):,.0f} years"
