"""Re-judging zones from stored paths, without detection: for when only the zones changed.

Every video's trajectories (``trajectories/<branch>/<date>/<key>.parquet``,
foot points sampled every 0.5 s) are judged against the camera's zones as
they are in the config now, and that video's zone files are replaced. The
run summary (``runs/<key>.json``) gives the video's start and length for the
queue-length minutes. Without one the span watched is not known, so no
queue-length rows are made, as a live stream makes none: a live flush has no
summary of its own (its session's record is ``runs/live-<branch>-<camera>-<session>.json``)
and holds only the people who finished, over a span that overlaps the other
flushes', so its samples' span would count minutes twice and miss people.
A batch segment's minutes also count the people a later segment took over
(:mod:`~retail_intel.pipeline.rejudge_carried`).
Visits are then timed to the 0.5 s of the samples instead of every frame.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from retail_intel.errors import DataError
from retail_intel.locking import BATCH_LOCK, data_dir_lock
from retail_intel.movements.schema import TRAJECTORY_SCHEMA
from retail_intel.movements.zone_store import write_zone_tables
from retail_intel.movements.zones import ZoneSource, judge_zones, paths_from_trajectories
from retail_intel.pipeline.rejudge_carried import CarriedPeople
from retail_intel.pipeline.run import run_summary_path
from retail_intel.pipeline.zone_step import last_frame_t, zone_specs
from retail_intel.storage import TRAJECTORIES_DIR, is_plain_name, parquet_files

if TYPE_CHECKING:
    from retail_intel.config.loader import Config
    from retail_intel.config.models import Branch

# progress(videos done, videos in all)
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class RejudgeSummary:
    videos: int  # videos whose zone files were replaced
    visits: int
    queued: int
    skipped: list[str] = field(default_factory=list)  # why some videos were left as they were


def _run(data_dir: Path, key: str) -> dict[str, Any] | None:
    """The video's run summary; None without one (or with a damaged one: as unknown as without)."""
    summary = run_summary_path(data_dir, key)
    if summary.is_file():
        try:
            run = json.loads(summary.read_text(encoding="utf-8"))
            if isinstance(run, dict):
                return run
        except (OSError, ValueError):
            pass
    return None


def _span(run: dict[str, Any] | None) -> tuple[dt.datetime, float] | None:
    """The video's start and its last frame's time; None (span unknown) without a summary."""
    if run is not None:
        try:
            start = dt.datetime.fromisoformat(run["start_time"]).astimezone(dt.UTC)
            return start, last_frame_t(float(run["duration_s"]), int(run["frames"]))
        except (ValueError, KeyError, TypeError):
            pass  # a damaged summary: the span is as unknown as without one
    return None


@dataclass(frozen=True)
class _Video:
    path: Path
    camera_id: str
    fingerprint: str
    start: dt.datetime
    covered: float | None


def _read(path: Path) -> pa.Table:
    try:
        return pq.read_table(path, schema=TRAJECTORY_SCHEMA)
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: not a readable trajectory Parquet file ({exc})") from exc


def _video(data_dir: Path, path: Path, table: pa.Table) -> _Video | str:
    """The video of one stored path file, or why it cannot be judged."""
    run = _run(data_dir, path.stem)
    span = _span(run)
    cameras = set(table.column("camera_id").to_pylist())
    fingerprint = ""
    if table.num_rows:
        fingerprint = table.column("video_fingerprint")[0].as_py()
    elif span is not None and run is not None and isinstance(run.get("camera_id"), str):
        # a segment whose people a batch's later segments all took over keeps an empty file: its
        # summary names the camera (and its queue-length minutes count those people, rejudge_carried)
        cameras, fingerprint = {run["camera_id"]}, str(run.get("video_fingerprint", ""))
    if len(cameras) != 1:
        return f"{path.name}: {len(cameras)} cameras in one file"
    (camera_id,) = cameras
    if span is None:
        return _Video(path, camera_id, fingerprint, min(table.column("time").to_pylist()), None)
    return _Video(path, camera_id, fingerprint, span[0], span[1])


def rejudge_zones(
    config: Config,
    data_dir: Path,
    branch_id: str,
    *,
    progress: Progress | None = None,
    on_wait: Callable[[str], None] | None = None,
) -> RejudgeSummary:
    """Judge every stored path of ``branch_id`` against its camera's current zones; replace the zone files.

    Waits for a running batch (``on_wait(holder)`` is called once), as ``compact`` does: a batch
    moves the people a segment takes over out of the earlier segment's files, zone files included,
    and paths read before that move, judged and written after it, would put their visits back
    (counted twice, in both segments).
    """
    from retail_intel.datadir import require_retail_data

    require_retail_data(data_dir)  # a mistyped --data-dir is not "no videos"
    branch = config.branch(branch_id)
    if not is_plain_name(branch_id):
        raise DataError(f"branch id {branch_id!r} cannot name a folder of the store")
    with data_dir_lock(data_dir, BATCH_LOCK, on_wait=on_wait):
        return _rejudge(data_dir, branch, branch_id, progress)


def _rejudge(data_dir: Path, branch: Branch, branch_id: str, progress: Progress | None) -> RejudgeSummary:
    files = parquet_files(data_dir / TRAJECTORIES_DIR / branch_id)
    # first every file's people taken over from the video before, then judging file by file: a
    # video's queue length counts the people a later one took over (and holds) while it watched
    videos_found: list[_Video | str] = []
    carried = CarriedPeople()
    for path in files:
        table = _read(path)
        found = _video(data_dir, path, table)
        videos_found.append(found)
        if isinstance(found, _Video) and found.covered is not None:
            carried.add(str(path), found.camera_id, table, found.start)
    videos = visits = queued = 0
    skipped: list[str] = []
    for done, (path, video) in enumerate(zip(files, videos_found, strict=True), start=1):
        if isinstance(video, str):
            skipped.append(video)
            continue
        camera = branch.camera(video.camera_id)
        if camera is None:
            skipped.append(f'{path.name}: camera "{video.camera_id}" is no longer configured')
            continue
        table = _read(path)
        source = ZoneSource(branch_id, video.camera_id, video.fingerprint, video.start, video.covered)
        paths = paths_from_trajectories(table, video.start)
        if video.covered is not None:
            paths += carried.watched_by(str(path), video.camera_id, table, video.start, video.covered)
        tables = judge_zones(paths, zone_specs(camera.zones), source)
        try:
            day = dt.date.fromisoformat(path.parent.name)  # the folder the movements of this video are in
        except ValueError:
            skipped.append(f"{path}: not under a YYYY-MM-DD folder")
            continue
        write_zone_tables(tables, data_dir, branch_id=branch_id, day=day, source_key=path.stem)
        videos += 1
        visits += tables.visits.num_rows
        queued += tables.queues.num_rows
        if progress is not None:
            progress(done, len(files))
    return RejudgeSummary(videos, visits, queued, skipped)
