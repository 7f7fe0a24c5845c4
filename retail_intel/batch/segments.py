"""From a mapped file to a ready-to-run segment: resolved plan, start time, length, fingerprint.

Everything that can be checked without running the detector is checked here
(settings, start time, that the video opens, that the ROI fits the frame),
so most bad files are reported before any worker starts.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from retail_intel.batch.discover import FileJob
from retail_intel.batch.ledger import Ledger
from retail_intel.batch.work import failure_reason
from retail_intel.config.camera_settings import CameraSettings, Stage, settings_layer
from retail_intel.config.loader import Config
from retail_intel.errors import RetailIntelError, Step, TimeError
from retail_intel.pipeline.plan import DetectorSpec, ProcessPlan, ProcessRequest, make_plan
from retail_intel.pipeline.run import check_plausible_end, check_plausible_start
from retail_intel.pipeline.start_time import BATCH_FIX, resolve_start_time
from retail_intel.vision.video import fingerprint, header_rate, probe

# Bump when the per-file work changes its output for the same input, so that
# every ledger entry written before is redone.
PIPELINE_VERSION = 2
# Where a batch file's start time came from when its manifest row gave one (it wins over the file name)
MANIFEST_START = "manifest start column"


@dataclass(frozen=True)
class Segment:
    """One video, ready to run: ``plan`` is fully resolved."""

    job: FileJob
    plan: ProcessPlan
    start_time: dt.datetime  # UTC
    start_source: str
    fps: float
    frames_estimate: int  # from the header; 0 when unknown
    size: int
    mtime_ns: int
    fingerprint: str
    settings_hash: str
    # a preview whose --max-frames stops before the end of the file (or a file of unknown length):
    # the next segment does not start where it stops, so it continues nothing
    cut_short: bool = False

    @property
    def duration_s(self) -> float | None:
        return self.frames_estimate / self.fps if self.frames_estimate else None

    @property
    def end_time(self) -> dt.datetime | None:
        duration = self.duration_s
        return None if duration is None else self.start_time + dt.timedelta(seconds=duration)


@dataclass(frozen=True)
class Rejected:
    """A file that cannot be processed, and why."""

    video: Path
    reason: str
    branch: str | None = None
    camera: str | None = None


def parse_settings(settings: tuple[tuple[str, str], ...], where: str) -> CameraSettings:
    """A manifest row's setting columns as one settings layer (columns are :class:`CameraSettings` fields)."""
    return settings_layer({name: text for name, text in settings if text.strip()}, where=f"{where}: column ")


def settings_hash(plan: ProcessPlan, start_time: dt.datetime) -> str:
    """Hash of everything in the plan that shapes the output: every tracking and judging setting."""
    identity = {
        "pipeline": PIPELINE_VERSION,
        "start_time": start_time.isoformat(),
        "track": plan.stage_identity("track"),
        "judge": plan.stage_identity("judge"),
        "max_frames": plan.max_frames,
    }
    text = json.dumps(identity, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def stage_hash(plan: ProcessPlan, stage: Stage) -> str:
    """Hash of one stage's settings, recorded in the ledger beside the whole settings hash."""
    text = json.dumps(plan.stage_identity(stage), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def job_key(video_fingerprint: str, settings: str, model: str, prev_key: str | None) -> str:
    text = json.dumps([video_fingerprint, settings, model, prev_key])
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def weights_identity(spec: DetectorSpec) -> str:
    """sha256 of the detector weights the plan would load (a folder: of all its files)."""
    from retail_intel.vision.weights import weights_identity as identity

    return identity(spec.model, spec.model_name)


def plan_for(
    job: FileJob,
    config: Config,
    data_dir: Path,
    flags: CameraSettings,
    max_frames: int | None = None,
    names: Mapping[str, str] | None = None,
) -> ProcessPlan:
    """The job's plan: manifest row settings win over batch flags, which win over the camera's config.

    ``names`` say what the caller calls the settings in messages (see :class:`ProcessRequest`)."""
    request = ProcessRequest(
        video=job.video,
        branch=job.branch,
        data_dir=data_dir,
        config_dir=config.source_dir if job.camera_in_config else None,
        camera=job.camera,
        layers=(flags, parse_settings(job.settings, job.mapped_by)),
        start_time=job.start_time,
        max_frames=max_frames,
        names=names,
    )
    plan = make_plan(request)
    if job.start_time is not None:
        plan = replace(plan, start_time_from=MANIFEST_START)
    if not job.camera_in_config:
        # A camera the config lacks: its region came from the row; the branch still sets the timezone.
        plan = replace(plan, timezone=config.branch(job.branch).tzinfo)
    return plan


def _check_start(job: FileJob, start: dt.datetime, source: str, names: Mapping[str, str] | None) -> None:
    """process's check of the start, here so that a file the store would refuse is reported with the
    other bad files before any worker starts; a start from a manifest row names the row."""
    try:
        check_plausible_start(start, source, dt.datetime.now(dt.UTC), names)
    except TimeError as exc:
        if job.start_time is None or job.row is None:
            raise
        raise TimeError(f"{job.row}: {exc}") from exc


def _check_end(
    job: FileJob, start: dt.datetime, source: str, frames: int, fps: float, names: Mapping[str, str] | None
) -> None:
    """process's check of the end for a rate given by hand; a row's rate names the row."""
    try:
        check_plausible_end(start, source, frames, fps, frames / fps, dt.datetime.now(dt.UTC), names)
    except TimeError as exc:
        if job.row is None:
            raise
        raise TimeError(f"{job.row}: {exc}") from exc


def prepare(
    job: FileJob,
    config: Config,
    data_dir: Path,
    flags: CameraSettings,
    ledger: Ledger,
    max_frames: int | None = None,
    names: Mapping[str, str] | None = None,
    steps: Mapping[Step, str] | None = None,
) -> Segment | Rejected:
    """Resolve and check one file; a :class:`Rejected` says why it cannot run (``names``: see :func:`plan_for`;
    ``steps``: how the caller words an error's next step, see :func:`~retail_intel.batch.work.failure_reason`)."""
    try:
        plan = plan_for(job, config, data_dir, flags, max_frames, names)
        info = probe(job.video)
        fps = plan.fps_override or header_rate(info, "give the camera an fps in branches.yaml")
        # every region, as process checks them: a line or zone outside the frame failed only once its turn came
        plan.check_inside_frame(info.width, info.height)
        start, source = resolve_start_time(
            job.video,
            explicit=plan.start_time,
            pattern=plan.filename_pattern,
            tz=plan.timezone,
            how_to_fix=BATCH_FIX,
            explicit_from=plan.start_time_from,
        )
        if not plan.is_preview:  # as process: a preview's movements go to previews/, which nothing else reads
            _check_start(job, start, source, names)
            if plan.fps_override is not None and info.frame_count > 0:
                # as process, before any worker: a bad fps cell also stretched the file over the next
                # ones, which were then planned as overlapping it
                _check_end(job, start, source, info.frame_count, fps, names)
        stat = job.video.stat()
        digest = ledger.known_fingerprint(job.video, stat.st_size, stat.st_mtime_ns) or fingerprint(job.video)
    except RetailIntelError as exc:
        return Rejected(job.video, failure_reason(exc, steps), job.branch, job.camera)
    except OSError as exc:
        return Rejected(job.video, f"{job.video}: cannot read it ({exc.strerror or exc})", job.branch, job.camera)
    frames = info.frame_count
    cut_short = plan.max_frames is not None and not 0 < frames <= plan.max_frames
    if plan.max_frames is not None and frames:
        frames = min(frames, plan.max_frames)
    return Segment(
        job=job,
        plan=plan,
        start_time=start,
        start_source=source,
        fps=fps,
        frames_estimate=frames,
        size=stat.st_size,
        mtime_ns=stat.st_mtime_ns,
        fingerprint=digest,
        settings_hash=settings_hash(plan, start),
        cut_short=cut_short,
    )
