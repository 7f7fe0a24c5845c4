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
