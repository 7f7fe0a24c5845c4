"""Carry files: the people still in view when a segment ends, kept for the next segment.

``DATA_DIR/ledger/carry/<job key>.json`` holds each open person's samples in
the segment's own time base, plus the segment's start time and length, so
the next segment (in this batch or a later one) can shift them into its own
time base. Written atomically before the segment's ledger entry.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from retail_intel.errors import DataError
from retail_intel.movements.compacted import cut_customers, without_customers
from retail_intel.movements.schema import MOVEMENT_SCHEMA, TRAJECTORY_SCHEMA
from retail_intel.movements.tracks import FloatArray, Track
from retail_intel.movements.zone_schema import QUEUE_VISIT_SCHEMA, ZONE_VISIT_SCHEMA
from retail_intel.movements.zone_store import QUEUE_VISITS_DIR, ZONE_VISITS_DIR
from retail_intel.pipeline.continuity import CarriedPerson
from retail_intel.storage import MOVEMENTS_DIR, TRAJECTORIES_DIR, atomic_write_bytes

CARRY_VERSION = 1
_ARRAYS = ("t", "x", "y", "height", "width", "confidence")

# The per-source tables whose rows are a person's, which go with the person to the segment that
# claims them. Not the queue-length minutes: they are the minutes each segment watched (the next
# segment counts a carried person in the queue from its own first frame on), so they stay.
PEOPLE_TABLES = {
    MOVEMENTS_DIR: MOVEMENT_SCHEMA,
    TRAJECTORIES_DIR: TRAJECTORY_SCHEMA,
    ZONE_VISITS_DIR: ZONE_VISIT_SCHEMA,
    QUEUE_VISITS_DIR: QUEUE_VISIT_SCHEMA,
}


@dataclass(frozen=True)
class Carry:
    """Open people at the end of one segment, in that segment's time base."""

    key: str
    start_time: dt.datetime  # UTC
    frames: int
    fps: float
    people: tuple[CarriedPerson, ...]
    # the time the segment covers, where its frames were timed by their timestamps (a variable
    # frame rate: its people's times run past frames / fps); None: frames / fps
    timed_duration_s: float | None = None

    @property
    def duration_s(self) -> float:
        return self.timed_duration_s if self.timed_duration_s is not None else self.frames / self.fps


def write_carry(path: Path, carry: Carry) -> Path:
    people = []
    for person in carry.people:
        track = person.track
        entry: dict[str, Any] = {"customer_id": person.customer_id, "track_id": track.track_id}
        entry["frames"] = track.frames.tolist()
        for name in _ARRAYS:
            entry[name] = getattr(track, name if name != "width" else "box_width").tolist()
        if track.visible_height is not None:  # feet placed below a box hidden behind someone nearer
            entry["visible_height"] = track.visible_height.tolist()
        people.append(entry)
    document = {
        "version": CARRY_VERSION,
        "key": carry.key,
        "start_time": carry.start_time.isoformat(),
        "frames": carry.frames,
        "fps": carry.fps,
        "duration_s": carry.timed_duration_s,
        "people": people,
    }
    return atomic_write_bytes(json.dumps(document).encode("utf-8"), path)


def _floats(person: dict[str, Any], name: str) -> FloatArray:
    return np.asarray(person[name], dtype=np.float64)


def read_carry(path: Path) -> Carry:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        people = tuple(
            CarriedPerson(
                p["customer_id"],
                Track(
                    track_id=int(p["track_id"]),
                    frames=np.asarray(p["frames"], dtype=np.int64),
                    t=_floats(p, "t"),
                    x=_floats(p, "x"),
                    y=_floats(p, "y"),
                    height=_floats(p, "height"),
                    confidence=_floats(p, "confidence"),
                    width=_floats(p, "width"),
                    visible_height=_floats(p, "visible_height") if "visible_height" in p else None,
                ),
            )
            for p in document["people"]
        )
        return Carry(
            key=document["key"],
            start_time=dt.datetime.fromisoformat(document["start_time"]),
            frames=int(document["frames"]),
            fps=float(document["fps"]),
            people=people,
            # carry files written before frames were timed by their timestamps have none
            timed_duration_s=None if document.get("duration_s") is None else float(document["duration_s"]),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataError(f"{path}: not a readable carry file of the batch ledger ({exc}); delete it to redo") from exc


def carried_into(carry: Carry, start_time: dt.datetime) -> tuple[CarriedPerson, ...]:
    """The carried people in the time base of a segment starting at ``start_time``.

    The previous segment's frame ``frames`` lands on this segment's frame 0
    at the latest: file names have whole seconds, so a start a little early
    must not make the segments overlap (the stitcher only joins a person
    whose next fragment starts after the last one ended).
    """
    offset = max((start_time - carry.start_time).total_seconds(), carry.duration_s)
    ordered = sorted(carry.people, key=lambda p: (p.track.start, p.customer_id))
    out = []
    for number, person in enumerate(ordered, start=1):
        track = person.track
        shifted = Track(
            track_id=-number,
            frames=track.frames - carry.frames,
            t=track.t - offset,
            x=track.x,
            y=track.y,
            height=track.height,
            confidence=track.confidence,
            width=track.box_width,
            visible_height=track.visible_height,
        )
        out.append(CarriedPerson(person.customer_id, shifted))
    return tuple(out)


def people_files(movements: str | None) -> list[str]:
    """A segment's files of :data:`PEOPLE_TABLES`, from its movement file (relative to the data
    directory, ``[previews/]movements/<branch>/<day>/<key>.parquet``): the same path in each table."""
    if movements is None:
        return []
    parts = list(Path(movements).parts)
    if MOVEMENTS_DIR not in parts:
        return [movements]
    at = parts.index(MOVEMENTS_DIR)
    return [str(Path(*parts[:at], kind, *parts[at + 1 :])) for kind in PEOPLE_TABLES]


def drop_claimed_in_store(data_dir: Path, relative: str, claimed: tuple[str, ...] | list[str]) -> bool:
    """:func:`drop_claimed` on a segment's file ``relative`` to ``data_dir``, or, once ``compact``
    has merged that file into its month, on the segment's rows in the month."""
    path = data_dir / relative
    if path.is_file():
        return drop_claimed(path, claimed)
    kind = next((part for part in Path(relative).parts if part in PEOPLE_TABLES), MOVEMENTS_DIR)
    return cut_customers(data_dir, path, PEOPLE_TABLES[kind], claimed)  # trajectories are never compacted


def drop_claimed(path: Path, claimed: tuple[str, ...] | list[str]) -> bool:
    """Remove the rows of ``claimed`` customer ids from a file of :data:`PEOPLE_TABLES`; True if it changed.

    Used on the previous segment's files once the next segment has written the
    people it took over. Idempotent: a file without those ids is left alone.
    """
    import pyarrow.parquet as pq

    from retail_intel.storage import atomic_write_table

    if not claimed or not path.is_file():
        return False
    try:
        table = pq.read_table(path)
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot read it to hand its people on to the next segment ({exc})") from exc
    kept = without_customers(table, claimed)
    if kept.num_rows == table.num_rows:
        return False
    atomic_write_table(kept, path)
    return True
