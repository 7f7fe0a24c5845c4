"""What a live session writes: one new Parquet file per flush, and a run record.

Files of a session never replace each other: each flush is
``DATA_DIR/movements/<branch>/<date>/live-<branch>-<camera>-<session>-<seq>.parquet``
(and the same under ``trajectories/``), the date being the UTC date of the
earliest person in it. The run record ``DATA_DIR/runs/live-<branch>-<camera>-<session>.json``
is rewritten atomically as the session goes (frames, people, flushes, gaps).

Camera ids are unique only within a branch, so the session's name across the
data directory (its files, its run record and its rows' ``video_fingerprint``) holds the
branch too, and a new session claims its record with an exclusive create: two
services starting in the same second never share a session id or a customer id.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pyarrow as pa

from retail_intel.live.urls import safe_name
from retail_intel.movements.classify import CountingRules
from retail_intel.movements.events import Judgement, SourceInfo, movements_table, trajectories_table
from retail_intel.movements.staff import StaffRules
from retail_intel.movements.store import write_movements, write_trajectories
from retail_intel.movements.zone_store import write_zone_tables
from retail_intel.movements.zones import PersonPath, ZoneSource, ZoneSpec, judge_zones
from retail_intel.pipeline.run import RUNS_DIR, run_summary_path
from retail_intel.pipeline.zone_step import judgement_paths
from retail_intel.storage import atomic_write_bytes


def live_fingerprint(branch_id: str, camera_id: str, session_id: str) -> str:
    """Stands in for a video's content hash: customer ids are unique per session, camera and person.

    Also the run record's name, so a claimed record (:func:`claim_session_id`) makes it unique in
    the data directory. Sessions written before the branch was part of it keep their
    ``live-<camera>-<session>`` (their rows are never rewritten).
    """
    return f"live-{safe_name(branch_id)}-{safe_name(camera_id)}-{safe_name(session_id)}"


def record_path(data_dir: Path, branch_id: str, camera_id: str, session_id: str) -> Path:
    return run_summary_path(data_dir, live_fingerprint(branch_id, camera_id, session_id))


def claim_session_id(data_dir: Path, branch_id: str, camera_id: str, started: dt.datetime) -> str:
    """``20260208T100000Z`` from the start time, ``-2``, ``-3`` ... when that camera already had one.

    The run record is created empty here, exclusively: of two sessions of one camera starting in
    the same second (a service restarted at once, or every unit started at boot), each gets its
    own id. The session fills the record at its first frame, or removes it (:func:`release_claim`).
    """
    base = started.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    (data_dir / RUNS_DIR).mkdir(parents=True, exist_ok=True)
    n = 1
    while True:
        candidate = base if n == 1 else f"{base}-{n}"
        try:
            fd = os.open(record_path(data_dir, branch_id, camera_id, candidate), os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            n += 1
            continue
        os.close(fd)
        return candidate


def release_claim(path: Path) -> None:
    """Remove a claimed record the session never filled (no frame arrived): it holds nothing."""
    try:
        if path.stat().st_size == 0:
            path.unlink()
    except FileNotFoundError:
        pass


@dataclass(frozen=True)
class Flush:
    seq: int
    at: dt.datetime
    people: int
    entered: int
    passed: int
    movements: str
    trajectories: str

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["at"] = self.at.isoformat()
        return data


@dataclass
class FlushWriter:
    """Writes judged people as new files, numbering the flushes of one session."""

    data_dir: Path
    branch_id: str
    camera_id: str
    session_id: str
    rules: CountingRules
    flushes: list[Flush] = field(default_factory=list)
    zones: tuple[ZoneSpec, ...] = ()  # the camera's zones: visits and queue rows written with each flush
    staff: StaffRules | None = None  # the branch's staff evidence (defaults when None), as a file run uses

    def write(self, judgements: list[Judgement], source: SourceInfo, at: dt.datetime) -> Flush | None:
        """One new movement file and one trajectory file for ``judgements``; None when nobody was judged."""
        judgements = [j for j in judgements if j.people]
        if not judgements:
            return None
        # the door line's crossings and the branch's staff rules, exactly as a file run writes them
        movements = pa.concat_tables(
            [movements_table(j, source, rules=self.rules, staff_rules=self.staff) for j in judgements]
        )
        paths = pa.concat_tables([trajectories_table(j, self.rules, source) for j in judgements])
        earliest = min(p.start for j in judgements for p in j.people)
        day = (source.start_time + dt.timedelta(seconds=earliest)).astimezone(dt.UTC).date()
        seq = len(self.flushes) + 1
        # the branch is in the name: a file name is a source's key across the data directory (a
        # write replaces a same-named file in any branch), and camera ids repeat across branches
        key = f"{live_fingerprint(self.branch_id, self.camera_id, self.session_id)}-{seq:04d}"
        # Trajectories first, as the batch job does: the movement file is the
        # one readers count, so it lands last.
        traj = write_trajectories(paths, self.data_dir, branch_id=self.branch_id, day=day, source_key=key)
        if self.zones:
            self._write_zones(judgements, source, day, key)
        moves = write_movements(
            movements, self.data_dir, branch_id=self.branch_id, day=day, source_key=key, replace_elsewhere=False
        )
        actions = movements.column("action_type").to_pylist()
        flush = Flush(
            seq=seq,
            at=at,
            people=sum(len(j.people) for j in judgements),
            entered=actions.count("entered"),
            passed=actions.count("passed"),
            movements=str(moves),
            trajectories=str(traj),
        )
        self.flushes.append(flush)
        return flush

    def _write_zones(self, judgements: list[Judgement], source: SourceInfo, day: dt.date, key: str) -> None:
        # Queue length needs the span watched, which a flush of finished people does not have: none live.
        where = ZoneSource(source.branch_id, source.camera_id, source.video_fingerprint, source.start_time, None)
        tables = judge_zones(_zone_paths(judgements, source), self.zones, where)
        write_zone_tables(
            tables, self.data_dir, branch_id=self.branch_id, day=day, source_key=key, replace_elsewhere=False
        )


def _zone_paths(judgements: list[Judgement], source: SourceInfo) -> list[PersonPath]:
    return [p for j in judgements for p in judgement_paths(j, source.video_fingerprint, source.camera_id)]


def write_record(path: Path, record: dict[str, object]) -> Path:
    return atomic_write_bytes(json.dumps(record, indent=2, default=str).encode(), path)
