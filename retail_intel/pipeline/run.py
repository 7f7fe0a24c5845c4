"""The process job: track the video (or reuse its stored tracks), judge, write.

Decoding, detecting and tracking are :func:`~retail_intel.pipeline.video_tracks.track_video`;
this module chooses the detector, decides whether stored tracks can be reused, and writes.

The detector is injected (a :class:`~retail_intel.vision.detections.Detector`),
so tests drive the whole loop with a scripted fake and no weights.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from retail_intel.config.camera_settings import INT8_NEEDS_OPENVINO, INT8_WITH_TORCH_FIX
from retail_intel.errors import TimeError
from retail_intel.movements.events import Judgement, SourceInfo, judge, movements_table, trajectories_table
from retail_intel.movements.plausible import TimeLimits
from retail_intel.movements.store import (
    StoredTracks,
    movements_path,
    place_tracks,
    read_tracks,
    write_movements,
    write_tracks,
    write_trajectories,
)
from retail_intel.naming import CallerNames
from retail_intel.pipeline.autosize import autosize_plan
from retail_intel.pipeline.continuity import Continuity, Handover, handover, judge_across_cut, keep_carried_ids
from retail_intel.pipeline.frame_times import BY_RATE
from retail_intel.pipeline.plan import DetectorSpec, ProcessPlan, ProcessRequest, make_plan
from retail_intel.pipeline.start_time import resolve_start_time, single_file_fix
from retail_intel.pipeline.video_tracks import (
    DetectorFactory,
    ProgressFn,
    VideoTracks,
    source_key,
    track_video,
    tracks_identity,
)
from retail_intel.pipeline.zone_step import judge_and_write_zones
from retail_intel.storage import PREVIEWS_DIR, atomic_write_bytes, camera_frame_path
from retail_intel.vision.annotate import write_image
from retail_intel.vision.detections import Detector
from retail_intel.vision.video import fingerprint, header_rate, probe

if TYPE_CHECKING:
    from retail_intel.vision.annotate import VideoAnnotator

RUNS_DIR = "runs"


def run_summary_path(data_dir: Path, key: str) -> Path:
    """Where ``process`` writes the run summary of source ``key`` into ``data_dir`` (a preview's: ``data_dir/previews``)."""
    return data_dir / RUNS_DIR / f"{key}.json"


@dataclass
class RunSummary:
    video: str
    video_fingerprint: str
    branch_id: str
    camera_id: str
    model: str
    start_time: str
    start_time_source: str
    fps: float
    frames: int
    frames_detected: int
    frames_skipped_still: int
    duration_s: float
    people: int
    entered: int
    passed: int
    not_counted: int
    dropped_tracks: int
    fragments: int
    line_in: int
    line_out: int
    seconds_taken: float
    processing_fps: float
    output: str
    # "detected", or "reused: ..." when only judging settings changed and stored tracks were judged again
    tracks: str = "detected"
    # a run over part of the video (--max-frames): written under previews/, never over a full result
    preview: bool = False
    stage_seconds: dict[str, float] = field(default_factory=dict)
    # every resolved camera setting of the run (what `retail-intel tracks` judges the stored tracks with)
    settings: dict[str, Any] = field(default_factory=dict)
    # how the detector's input size was chosen (automatic sizing, issue 15) and
    # warnings the user must see (e.g. people too small to count reliably)
    input_size: dict[str, Any] | None = None
    warnings: list[str] = field(default_factory=list)
    # "frame rate", or "timestamps" for a variable-frame-rate video timed by each frame's own time
    frame_times: str = BY_RATE

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)


@dataclass(frozen=True)
class ProcessResult:
    summary: RunSummary
    judgement: Judgement
    output: Path
    summary_path: Path
    # Only with ``continuity``: open people handed to the next segment, carried ids claimed.
    handover: Handover | None = None


def default_detector_factory(plan: ProcessPlan) -> Detector:
    """The detector for ``plan``, restricted to the watched region when ``detect_margin`` is set."""
    from retail_intel.vision.crop import CroppedDetector

    detector = full_frame_detector(plan)
    region = plan.detector.detect_region
    return detector if region is None else CroppedDetector(detector, region, plan.detector.imgsz)


def full_frame_detector(plan: ProcessPlan) -> Detector:
    """OpenVINO on the CPU when it is installed (export cached per weights), else Ultralytics/PyTorch."""
    from retail_intel.errors import ModelError
    from retail_intel.vision.detector import UltralyticsDetector
    from retail_intel.vision.openvino_backend import OpenVinoDetector, export_openvino, openvino_available
    from retail_intel.vision.weights import resolve_weights

    spec = plan.detector
    named = CallerNames(plan.names)
    weights = resolve_weights(spec.model, spec.model_name)
    on_cpu = spec.device in (None, "cpu")
    exportable = weights.suffix == ".pt" or weights.is_dir()
    use_openvino = spec.backend == "openvino" or (
        spec.backend == "auto" and on_cpu and exportable and openvino_available()
    )
    if spec.precision == "int8" and not use_openvino:
        raise ModelError(f"{INT8_NEEDS_OPENVINO}, and this run {_why_torch(spec, exportable)}")
    if use_openvino:
        if not on_cpu:
            raise ModelError(f"{named('backend')} openvino runs on the CPU; got {named('device')} {spec.device}")
        if not openvino_available():
            raise ModelError(f"{named('backend')} openvino needs the openvino package (pip install openvino)")
        folder = export_openvino(weights, named("backend"))
        if spec.precision == "int8":
            from retail_intel.vision.int8 import int8_export

            folder = int8_export(folder, Path(spec.calibration or plan.video), spec.imgsz)
        return OpenVinoDetector(
            folder,
            imgsz=spec.imgsz,
            conf=spec.conf,
            tiles=spec.tiles,
            precision="f32" if spec.precision == "f32" else None,
        )
    return UltralyticsDetector(
        weights, imgsz=spec.imgsz, conf=spec.conf, device=spec.device, tiles=spec.tiles, model_name=spec.model_name
    )


def _why_torch(spec: DetectorSpec, exportable: bool) -> str:
    """Why ``full_frame_detector`` chose PyTorch, as the end of an error message."""
    if spec.backend == "torch":
        return f"has backend torch; {INT8_WITH_TORCH_FIX}"
    if spec.device not in (None, "cpu"):
        return f"runs on device {spec.device} (PyTorch); use precision auto or f32, or device cpu"
    if not exportable:
        return f"runs the model {spec.model} in PyTorch (only .pt weights or an OpenVINO folder run in OpenVINO)"
    return "has no openvino package (pip install openvino)"


def _reuse(detector: Detector) -> DetectorFactory:
    """A factory handing out ``detector`` (the size probe's, already of the size chosen)."""
    return lambda plan: detector


def count_video(
    plan: ProcessPlan,
    *,
    detector_factory: DetectorFactory = default_detector_factory,
    progress: ProgressFn | None = None,
) -> tuple[VideoTracks, Judgement]:
    """Track and judge ``plan.video`` without writing anything (``audit`` compares these counts)."""
    info = probe(plan.video)
    fps = plan.fps_override or header_rate(
        info, f"pass {CallerNames(plan.names)('fps')} with the rate the camera records at"
    )
    plan.check_inside_frame(info.width, info.height)
    video_tracks = track_video(plan, info, fps, detector_factory=detector_factory, progress=progress)
    stitching = dataclasses.replace(plan.stitch, frame_size=video_tracks.frame_size)
    judgement = judge(
        video_tracks.accumulator.tracks(),
        plan.rules,
        min_track_s=plan.min_track_s,
        stitch_settings=stitching,
        detect_interval_s=plan.detect_interval_s(fps),
        detect_stride=video_tracks.detect_stride(plan.stride),
    )
    return video_tracks, judgement


def output_dir(plan: ProcessPlan) -> Path:
    """Where a run writes: a preview (part of the video) goes to ``previews/``, never over a full result."""
    return plan.data_dir / PREVIEWS_DIR if plan.is_preview else plan.data_dir


def process_video(
    plan: ProcessPlan,
    *,
    detector_factory: DetectorFactory = default_detector_factory,
    progress: ProgressFn | None = None,
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    continuity: Continuity | None = None,
    reuse_tracks: bool = True,
) -> ProcessResult:
    """Run the whole job for one video and write its tracks, trajectories and movements atomically.

    When the data directory already holds this video's tracks made with the
    same tracking settings and weights (``reuse_tracks``), nothing is decoded or
    detected: the stored tracks are judged again with the plan's judging
    settings, in seconds. A preview (``max_frames``) writes under
    ``previews/`` and never replaces a full result.

    Nothing is written unless the whole video was read: a video that breaks
    part-way raises :class:`VideoError` naming the frame. ``continuity`` (batch
    runs over consecutive segments, :mod:`retail_intel.pipeline.continuity`)
    joins people carried in from the previous segment and returns the people
    still open at the end in ``ProcessResult.handover``. A ``save_video`` left unfinished (a
    failure or an interrupt anywhere in the run) is removed, never left half-written.
    """
    annotators: list[VideoAnnotator] = []
    try:
        return _run_video(plan, detector_factory, progress, now, continuity, reuse_tracks, annotators)
    except BaseException:
        for annotator in annotators:
            annotator.abort()
        raise


def check_plausible_start(
    start: dt.datetime, source: str, now: dt.datetime, names: Mapping[str, str] | None = None
) -> None:
    """Refuse a recording that starts outside the movement times the store accepts.

    Its movements would be written, and then every KPI, ``etl`` and ``report`` run would refuse the
    file holding them (a typo in --start-time, or a camera whose clock was reset to 1970).
    ``names`` say what the caller calls ``start_time`` (see :class:`ProcessRequest`).
    """
    limits = TimeLimits().resolved(now)
    assert limits.latest is not None
    if not limits.earliest <= start <= limits.latest:
        raise TimeError(
            f"start time {start.isoformat()} (from {source}): the recording would lie outside the plausible "
            f"range {limits.range_text()} that the KPIs, etl and report accept; give its true start "
            f"({CallerNames(names)('start_time')} for one video, a manifest's start column in a batch)"
        )


def check_plausible_end(
    start: dt.datetime,
    source: str,
    frames: int,
    fps: float,
    duration_s: float,
    now: dt.datetime,
    names: Mapping[str, str] | None = None,
) -> None:
    """Refuse a recording whose start is plausible but whose end is not, for the same reason as
    :func:`check_plausible_start`: a frame rate far below the real one (``--fps 0.0001`` for 10)
    stretches a short video over years, and its people's times and dwells then break every KPI run.
    ``names`` say what the caller calls ``fps`` (see :class:`ProcessRequest`)."""
    limits = TimeLimits().resolved(now)
    assert limits.latest is not None
    try:
        end = start + dt.timedelta(seconds=duration_s)
    except OverflowError:  # beyond year 9999: as implausible as it gets
        end = dt.datetime.max.replace(tzinfo=dt.UTC)
    if end > limits.latest:
        raise TimeError(
            f"{frames} frames at {fps:g} fps from {start.isoformat()} (from {source}) would end at "
            f"{end.isoformat()}, outside the plausible range {limits.range_text()} that the KPIs, etl and "
            f"report accept; give the true frame rate ({CallerNames(names)('fps')}, the camera's fps or a manifest's "
            "fps column) "
            "or start"
        )


def _run_video(
    plan: ProcessPlan,
    detector_factory: DetectorFactory,
    progress: ProgressFn | None,
    now: Callable[[], dt.datetime],
    continuity: Continuity | None,
    reuse_tracks: bool,
    annotators: list[VideoAnnotator],
) -> ProcessResult:
    """:func:`process_video`'s work; each annotator it opens goes into ``annotators``, for the caller to abort."""
    from retail_intel.datadir import require_writable_data_dir

    began = time.perf_counter()
    require_writable_data_dir(plan.data_dir, CallerNames(plan.names)("data_dir"))
    info = probe(plan.video)
    fps = plan.fps_override or header_rate(
        info, f"pass {CallerNames(plan.names)('fps')} with the rate the camera records at"
    )
    plan.check_inside_frame(info.width, info.height)
    start_time, start_source = resolve_start_time(
        plan.video,
        explicit=plan.start_time,
        pattern=plan.filename_pattern,
        tz=plan.timezone,
        how_to_fix=single_file_fix(CallerNames(plan.names)("start_time")),
        explicit_from=plan.start_time_from,
    )
    if not plan.is_preview:  # a preview's movements go to previews/, which no KPI, etl or report reads
        check_plausible_start(start_time, start_source, now(), plan.names)
        if plan.fps_override is not None and info.frame_count > 0:
            # a rate given by hand times every frame by index / fps: refuse a wrong one before detecting
            check_plausible_end(
                start_time, start_source, info.frame_count, fps, info.frame_count / fps, now(), plan.names
            )
    digest = fingerprint(plan.video)
    key = source_key(plan.camera_id, digest)
    data_dir = output_dir(plan)
    identity = tracks_identity(plan)
    video_tracks: VideoTracks | None = None
    reused: StoredTracks | None = None
    if reuse_tracks and not plan.is_preview and plan.save_video is None:
        stored = read_tracks(data_dir, key)
        if stored is not None and stored.metadata.get("identity") == identity:
            video_tracks = VideoTracks.from_stored(stored)
            fps = video_tracks.fps
            reused = stored
    annotator = None
    if video_tracks is None:
        if plan.save_video is not None:
            from retail_intel.vision.annotate import VideoAnnotator

            annotator = VideoAnnotator(
                plan.save_video,
                info.width,
                info.height,
                fps,
                plan.rules,
                source=plan.video,
                name=CallerNames(plan.names)("save_video"),
            )
            annotators.append(annotator)
        factory = detector_factory
        # imgsz from the video itself when nothing set it. An injected detector (a fake, a
        # replay) has its own size, so only the real one is sized.
        if plan.auto_size and plan.size_choice is None and detector_factory is default_detector_factory:
            plan, _choice, probed = autosize_plan(plan, detector_factory)
            if probed is not None:
                factory = _reuse(probed)
        video_tracks = track_video(
            plan, info, fps, detector_factory=factory, progress=progress, annotator=annotator, identity=identity
        )
        if plan.size_choice is not None:
            video_tracks.input_size = dict(plan.size_choice)
            warning = plan.size_choice.get("warning")
            video_tracks.warnings = ([str(warning)] if warning else []) + video_tracks.warnings
    times = video_tracks.times
    frames = video_tracks.frames
    if not plan.is_preview:  # the frames actually read, timed as they will be written
        check_plausible_end(start_time, start_source, frames, fps, video_tracks.duration_s, now(), plan.names)

    t0 = time.perf_counter()
    cut = None
    # the frame size lets stitching tell people walking out of view from occlusions
    stitching = dataclasses.replace(plan.stitch, frame_size=video_tracks.frame_size)
    tracks = video_tracks.accumulator.tracks()
    if continuity is None:
        judgement = judge(
            tracks,
            plan.rules,
            min_track_s=plan.min_track_s,
            stitch_settings=stitching,
            detect_interval_s=plan.detect_interval_s(fps),
            detect_stride=video_tracks.detect_stride(plan.stride),
        )
    else:
        cut = judge_across_cut(
            tracks,
            plan.rules,
            min_track_s=plan.min_track_s,
            continuity=continuity,
            end_t=video_tracks.last_t,
            stitch_settings=stitching,
            detect_interval_s=plan.detect_interval_s(fps),
            detect_stride=video_tracks.detect_stride(plan.stride),
        )
        judgement = cut.judgement
    processed_at = now()
    source = SourceInfo(
        branch_id=plan.branch_id,
        camera_id=plan.camera_id,
        source_video=plan.video.name,
        video_fingerprint=digest,
        model=video_tracks.model,
        start_time=start_time,
        processed_at=processed_at,
    )
    table = movements_table(judgement, source, rules=plan.rules, staff_rules=plan.staff)
    paths = trajectories_table(judgement, plan.rules, source)
    if cut is not None:
        table = keep_carried_ids(table, cut, digest, plan.camera_id)
        paths = keep_carried_ids(paths, cut, digest, plan.camera_id)
    t1 = time.perf_counter()
    times.judging += t1 - t0
    day = start_time.date()
    # Tracks, then trajectories and zones: the movement file is the one readers and the
    # batch ledger treat as "this video is done", so it lands last.
    if reused is not None:
        # a corrected start (another day) or branch: the tracks follow the movements
        place_tracks(reused, data_dir, branch_id=plan.branch_id, day=day, source_key=key)
    else:
        table_of_tracks = video_tracks.accumulator.to_table()
        write_tracks(
            table_of_tracks, video_tracks.metadata(), data_dir, branch_id=plan.branch_id, day=day, source_key=key
        )
    write_trajectories(paths, data_dir, branch_id=plan.branch_id, day=day, source_key=key)
    judge_and_write_zones(
        judgement,
        plan.zones,
        data_dir=data_dir,
        branch_id=plan.branch_id,
        camera_id=plan.camera_id,
        video_fingerprint=digest,
        start_time=start_time,
        # to the last frame, as the visits' dwell runs to their last moment (not the video's duration)
        covered_s=video_tracks.last_t,
        source_key=key,
        carried_ids=cut.carried_ids if cut is not None else None,
    )
    # The camera's picture and the run summary before the movements too: one that cannot be
    # written (a full disk) then fails the run before its people are counted, not after.
    if video_tracks.reference is not None:
        write_image(camera_frame_path(data_dir, plan.branch_id, plan.camera_id), video_tracks.reference)
    output = movements_path(data_dir, branch_id=plan.branch_id, day=day, source_key=key)
    times.writing += time.perf_counter() - t1  # the movement file's write, last, is not in it
    taken = time.perf_counter() - began
    counts = judgement.counts
    summary = RunSummary(
        video=str(plan.video),
        video_fingerprint=digest,
        branch_id=plan.branch_id,
        camera_id=plan.camera_id,
        model=video_tracks.model,
        start_time=start_time.isoformat(),
        start_time_source=start_source,
        fps=fps,
        frames=frames,
        frames_detected=video_tracks.frames_detected,
        frames_skipped_still=video_tracks.frames_still,
        duration_s=video_tracks.duration_s,
        people=counts["people"],
        entered=counts["entered"],
        passed=counts["passed"],
        not_counted=counts["not_counted"],
        dropped_tracks=judgement.dropped_tracks,
        fragments=judgement.fragments,
        line_in=counts["line_in"],
        line_out=counts["line_out"],
        seconds_taken=round(taken, 3),
        processing_fps=round(frames / taken, 2) if taken > 0 else 0.0,
        output=str(output),
        tracks=("reused: judged again from the stored tracks" if video_tracks.from_store else "detected"),
        preview=plan.is_preview,
        stage_seconds={k: round(v, 3) for k, v in asdict(times).items()},
        settings=_summary_settings(plan, video_tracks),
        input_size=video_tracks.input_size,
        warnings=list(video_tracks.warnings),
        frame_times=video_tracks.frame_times,
    )
    summary_path = run_summary_path(data_dir, key)
    atomic_write_bytes(summary.to_json().encode(), summary_path)
    write_movements(table, data_dir, branch_id=plan.branch_id, day=day, source_key=key)  # at ``output``
    if annotator is not None:  # closed last: a failed run leaves no annotated copy
        annotator.close()
    passed_on = handover(cut, digest, plan.camera_id) if cut is not None else None
    return ProcessResult(summary, judgement, output, summary_path, passed_on)


def _summary_settings(plan: ProcessPlan, video_tracks: VideoTracks) -> dict[str, Any]:
    """The plan's settings as the summary records them: backend auto as the engine that ran, the
    summary being what says how the numbers were made (left auto where the detector did not say)."""
    settings = plan.settings.model_dump(mode="json", exclude_none=True)
    if video_tracks.backend is not None:
        settings["backend"] = video_tracks.backend
    return settings


def process_file(request: ProcessRequest, *, progress: ProgressFn | None = None) -> ProcessResult:
    """``retail-intel process VIDEO``: resolve the request's settings, then :func:`process_video`."""
    return process_video(make_plan(request), progress=progress)


def summary_rows(summary: RunSummary) -> list[dict[str, Any]]:
    """The run summary as (field, value) rows for a table."""
    rows = [
        {"field": k, "value": v}
        for k, v in asdict(summary).items()
        if k not in ("stage_seconds", "settings", "input_size", "warnings")
    ]
    if summary.input_size is not None:
        rows.append(
            {"field": "input_size", "value": f"{summary.input_size['imgsz']} (auto: {summary.input_size['reason']})"}
        )
    rows.extend({"field": "warning", "value": w} for w in summary.warnings)
    return rows
