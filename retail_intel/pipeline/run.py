"""The process loop: decode, detect, track, judge, write.

The detector is injected (a :class:`~retail_intel.vision.detections.Detector`),
so tests drive the whole loop with a scripted fake and no weights.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from retail_intel.errors import VideoError
from retail_intel.movements.events import Judgement, SourceInfo, judge, movements_table, trajectories_table
from retail_intel.movements.store import write_movements, write_trajectories
from retail_intel.movements.tracks import TrackAccumulator
from retail_intel.pipeline.autosize import autosize_plan
from retail_intel.pipeline.continuity import Continuity, Handover, handover, judge_across_cut, keep_carried_ids
from retail_intel.pipeline.frames import SchedulerStats, schedule
from retail_intel.pipeline.plan import ProcessPlan
from retail_intel.pipeline.start_time import resolve_start_time
from retail_intel.storage import atomic_write_bytes, camera_frame_path
from retail_intel.vision.annotate import write_image
from retail_intel.vision.appearance import box_appearance
from retail_intel.vision.detections import Detector
from retail_intel.vision.motion import MotionGate
from retail_intel.vision.tracker import ByteTracker
from retail_intel.vision.video import Frame, fingerprint, probe, read_frames

# progress(frames_done, frames_total_or_None)
ProgressFn = Callable[[int, int | None], None]
DetectorFactory = Callable[[ProcessPlan], Detector]
RUNS_DIR = "runs"


@dataclass
class StageTimes:
    """Wall seconds spent per stage (decode overlaps inference: it runs in its own thread)."""

    decode_wait: float = 0.0
    inference: float = 0.0
    tracking: float = 0.0
    judging: float = 0.0
    writing: float = 0.0


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
    stage_seconds: dict[str, float] = field(default_factory=dict)
    # how the detector's input size was chosen (automatic sizing, issue 15) and
    # warnings the user must see (e.g. people too small to count reliably)
    input_size: dict[str, Any] | None = None
    warnings: list[str] = field(default_factory=list)

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
    """OpenVINO on the CPU when it is installed (export cached per weights), else Ultralytics/PyTorch."""
    from retail_intel.errors import ModelError
    from retail_intel.vision.detector import UltralyticsDetector
    from retail_intel.vision.openvino_backend import OpenVinoDetector, export_openvino, openvino_available
    from retail_intel.vision.weights import resolve_weights

    spec = plan.detector
    weights = resolve_weights(spec.model)
    on_cpu = spec.device in (None, "cpu")
    exportable = weights.suffix == ".pt" or weights.is_dir()
    use_openvino = spec.backend == "openvino" or (
        spec.backend == "auto" and on_cpu and exportable and openvino_available()
    )
    if use_openvino:
        if not on_cpu:
            raise ModelError(f"--backend openvino runs on the CPU; got --device {spec.device}")
        if not openvino_available():
            raise ModelError("--backend openvino needs the openvino package (pip install openvino)")
        return OpenVinoDetector(
            export_openvino(weights),
            imgsz=spec.imgsz,
            conf=spec.conf,
            tiles=spec.tiles,
            precision="f32" if spec.precision == "f32" else None,
        )
    return UltralyticsDetector(weights, imgsz=spec.imgsz, conf=spec.conf, device=spec.device, tiles=spec.tiles)


def source_key(camera_id: str, video_fingerprint: str) -> str:
    return f"{camera_id}-{video_fingerprint[:16]}"


def process_video(
    plan: ProcessPlan,
    *,
    detector_factory: DetectorFactory = default_detector_factory,
    progress: ProgressFn | None = None,
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    continuity: Continuity | None = None,
) -> ProcessResult:
    """Run the whole job for one video and write its movements atomically.

    Nothing is written unless the whole video was read: a video that breaks
    part-way raises :class:`VideoError` naming the frame. ``continuity`` (batch
    runs over consecutive segments, :mod:`retail_intel.pipeline.continuity`)
    joins people carried in from the previous segment and returns the people
    still open at the end in ``ProcessResult.handover``.
    """
    began = time.perf_counter()
    info = probe(plan.video)
    fps = plan.fps_override or info.header_fps
    if not fps or fps <= 0:
        raise VideoError(f"{plan.video}: the header has no frame rate; pass --fps (e.g. --fps 25)")
    plan.rules.roi.check_inside_frame(info.width, info.height)
    if plan.rules.passby_zone is not None:
        plan.rules.passby_zone.check_inside_frame(info.width, info.height, "pass-by zone")
    if plan.rules.line is not None:
        plan.rules.line.check_inside_frame(info.width, info.height)
    start_time, start_source = resolve_start_time(
        plan.video, explicit=plan.start_time, pattern=plan.filename_pattern, tz=plan.timezone
    )
    digest = fingerprint(plan.video)
    size_choice = probed = None
    # issue 15: imgsz from the video itself (to move into plan resolution). An injected
    # detector (a fake, a replay) has its own size, so only the real one is sized.
    if plan.auto_size and detector_factory is default_detector_factory:
        plan, size_choice, probed = autosize_plan(plan, detector_factory)
    detector = probed or detector_factory(plan)
    tracker = ByteTracker(plan.tracker, fps / plan.stride)
    tracks = TrackAccumulator()
    annotator = None
    if plan.save_video is not None:
        from retail_intel.vision.annotate import VideoAnnotator

        annotator = VideoAnnotator(plan.save_video, info.width, info.height, fps, plan.rules)

    times = StageTimes()
    total = info.frame_count or None
    if plan.max_frames is not None:
        total = min(total or plan.max_frames, plan.max_frames)
    frames = 0
    reference: Frame | None = None  # first frame, kept as the camera's picture for heatmaps
    stats = SchedulerStats()
    expected = 0 if plan.max_frames is not None else info.frame_count
    decoded = read_frames(plan.video, expected=expected)
    if plan.max_frames is not None:
        decoded = itertools.islice(decoded, plan.max_frames)
    try:
        scheduled = schedule(decoded, detector, stride=plan.stride, gate=MotionGate(plan.motion_threshold), stats=stats)
        tick = time.perf_counter()
        for item in scheduled:
            t0 = time.perf_counter()
            # time waiting for the next frame, less inference done inside the scheduler
            times.decode_wait += t0 - tick
            frames += 1
            t_frame = item.index / fps
            if reference is None:
                reference = item.frame
            tracked = None
            if item.detections is not None:
                tracked = tracker.update(item.detections)
                # colours of each box's halves, for stitching's appearance check (issue 15)
                looks = box_appearance(item.frame, tracked.xyxy)
                tracks.add(item.index, t_frame, tracked.track_ids, tracked.xyxy, tracked.confidence, looks)
            t1 = time.perf_counter()
            times.tracking += t1 - t0
            if annotator is not None:
                annotator.write(item.frame, t_frame, tracked)
            if progress is not None:
                progress(frames, total)
            tick = time.perf_counter()
            times.writing += tick - t1
    except BaseException:
        if annotator is not None:
            annotator.abort()
        raise
    if frames == 0:
        raise VideoError(f"{plan.video}: no frames could be decoded")
    times.inference = stats.inference_s
    times.decode_wait = max(0.0, times.decode_wait - stats.inference_s)

    t0 = time.perf_counter()
    cut = None
    # the frame size lets stitching tell people walking out of view from occlusions
    stitching = dataclasses.replace(plan.stitch, frame_size=(info.width, info.height))
    if continuity is None:
        judgement = judge(tracks.tracks(), plan.rules, min_track_s=plan.min_track_s, stitch_settings=stitching)
    else:
        cut = judge_across_cut(
            tracks.tracks(),
            plan.rules,
            min_track_s=plan.min_track_s,
            continuity=continuity,
            end_t=(frames - 1) / fps,
            stitch_settings=stitching,
        )
        judgement = cut.judgement
    processed_at = now()
    source = SourceInfo(
        branch_id=plan.branch_id,
        camera_id=plan.camera_id,
        source_video=plan.video.name,
        video_fingerprint=digest,
        model=detector.name,
        start_time=start_time,
        processed_at=processed_at,
    )
    table = movements_table(judgement, source)
    paths = trajectories_table(judgement, plan.rules, source)
    if cut is not None:
        table = keep_carried_ids(table, cut, digest, plan.camera_id)
        paths = keep_carried_ids(paths, cut, digest, plan.camera_id)
    t1 = time.perf_counter()
    times.judging += t1 - t0
    key = source_key(plan.camera_id, digest)
    # Trajectories first: the movement file is the one readers and the batch
    # ledger treat as "this video is done", so it lands last.
    write_trajectories(paths, plan.data_dir, branch_id=plan.branch_id, day=start_time.date(), source_key=key)
    output = write_movements(table, plan.data_dir, branch_id=plan.branch_id, day=start_time.date(), source_key=key)
    if reference is not None:
        write_image(camera_frame_path(plan.data_dir, plan.branch_id, plan.camera_id), reference)
    if annotator is not None:
        annotator.close()
    times.writing += time.perf_counter() - t1
    taken = time.perf_counter() - began
    counts = judgement.counts
    summary = RunSummary(
        video=str(plan.video),
        video_fingerprint=digest,
        branch_id=plan.branch_id,
        camera_id=plan.camera_id,
        model=detector.name,
        start_time=start_time.isoformat(),
        start_time_source=start_source,
        fps=fps,
        frames=frames,
        frames_detected=stats.detected,
        frames_skipped_still=stats.still,
        duration_s=frames / fps,
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
        stage_seconds={k: round(v, 3) for k, v in asdict(times).items()},
        input_size=size_choice.as_dict() if size_choice else None,
        warnings=[size_choice.warning] if size_choice and size_choice.warning else [],
    )
    summary_path = plan.data_dir / RUNS_DIR / f"{key}.json"
    atomic_write_bytes(summary.to_json().encode(), summary_path)
    passed_on = handover(cut, digest, plan.camera_id) if cut is not None else None
    return ProcessResult(summary, judgement, output, summary_path, passed_on)


def summary_rows(summary: RunSummary) -> list[dict[str, Any]]:
    """The run summary as (field, value) rows for a table."""
    rows = [
        {"field": k, "value": v}
        for k, v in asdict(summary).items()
        if k not in ("stage_seconds", "input_size", "warnings")
    ]
    if summary.input_size is not None:
        rows.append(
            {"field": "input_size", "value": f"{summary.input_size['imgsz']} (auto: {summary.input_size['reason']})"}
        )
    rows.extend({"field": "warning", "value": w} for w in summary.warnings)
    return rows
