"""People a batch segment took over, for the queue length of the segments they were taken from.

A batch segment that takes over a person still in view at the cut stores their
whole path, from their first moment in the segment before (samples earlier
than its own first frame), and the hand-over removes them from the earlier
segment's files. The earlier segment's queue-length minutes, though, are the
minutes it watched: when they were judged in the batch, that person stood in
its queue. Judging its stored paths again must count them there too, from the
path the later segment holds; the minutes stay each segment's own, so nobody
is counted twice.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace

import pyarrow as pa
import pyarrow.compute as pc

from retail_intel.movements.zones import PersonPath, paths_from_trajectories


@dataclass(frozen=True)
class _Taken:
    source: str  # the file whose video took the person over
    camera_id: str
    customer_id: str
    first: dt.datetime
    last: dt.datetime


@dataclass
class CarriedPeople:
    """The taken-over people of every stored path of one branch, by the video that took them over."""

    rows: dict[str, pa.Table] = field(default_factory=dict)  # by source
    people: list[_Taken] = field(default_factory=list)

    def add(self, source: str, camera_id: str, table: pa.Table, start: dt.datetime) -> None:
        """Keep the people of ``table`` (one video's stored paths) with samples before its ``start``."""
        if table.num_rows == 0:
            return
        times = table.column("time")
        early = pc.less(times, pa.scalar(start, type=times.type))
        ids = pc.unique(pc.filter(table.column("customer_id"), early))
        if len(ids) == 0:
            return
        taken = table.filter(pc.is_in(table.column("customer_id"), value_set=ids))
        self.rows[source] = taken
        spans = taken.group_by("customer_id").aggregate([("time", "min"), ("time", "max")])
        for row in spans.to_pylist():
            self.people.append(_Taken(source, camera_id, row["customer_id"], row["time_min"], row["time_max"]))

    def watched_by(
        self, source: str, camera_id: str, own: pa.Table, start: dt.datetime, covered_s: float
    ) -> list[PersonPath]:
        """The people other videos of ``camera_id`` took over who were in view between ``start`` and
        the last frame, as paths that count in the queue length only (their visits are the other
        video's). Not anybody ``own`` (this video's paths) still holds: an unfinished hand-over."""
        end = start + dt.timedelta(seconds=covered_s)
        held = set(own.column("customer_id").to_pylist())
        by_source: dict[str, set[str]] = {}
        for p in self.people:
            seen = p.first <= end and p.last >= start
            if seen and p.source != source and p.camera_id == camera_id and p.customer_id not in held:
                by_source.setdefault(p.source, set()).add(p.customer_id)
                held.add(p.customer_id)  # one path each, should two videos hold the same person
        paths = []
        for taker, ids in by_source.items():
            rows = self.rows[taker]
            rows = rows.filter(pc.is_in(rows.column("customer_id"), value_set=pa.array(sorted(ids))))
            paths += [replace(path, counted=False) for path in paths_from_trajectories(rows, start)]
        return paths
