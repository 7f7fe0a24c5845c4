"""Resolving what ``process`` will do: flags win over the camera's config, which wins over defaults."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo

from retail_intel.errors import InputError
from retail_intel.movements.classify import CountingRules
from retail_intel.movements.geometry import CountingLine, Polygon, parse_line, parse_points, parse_rect
from retail_intel.movements.stitch import StitchSettings
from retail_intel.vision.tracker import TrackerSettings

T = TypeVar("T")


@dataclass(frozen=True)
class Defaults:
    """Used when neither a flag nor the camera's config says otherwise."""

    imgsz: int = 640
    conf: float = 0.1  # low on purpose: ByteTrack's second association uses 0.1-0.25 boxes
    tiles: int = 1
    backend: str = "auto"
    precision: str = "auto"
    # A frame whose downscaled grey image differs from the last detected frame
    # in fewer than this share of pixels reuses that frame's detections: an
    # empty or still scene costs only its decode.
    motion_threshold: float = 0.0005
    min_dwell: float = 2.0
    # picked leave-one-clip-out on the accuracy clips (docs/accuracy.md): 0.5 s on every fold;
    # 1 s dropped people seen briefly (a passer-by at the edge of a short clip)
    min_track: float = 0.5
    track_buffer: float = 3.0
    # Only detections this confident start a new track: half-hidden people in a
    # crowd (low confidence) then extend existing tracks instead of starting ones
    # that steal identities. Picked leave-one-clip-out (docs/accuracy.md): 0.5 on
    # 3 of 4 folds (ByteTrack's own 0.3 suits only small, far-away people).
    new_track_conf: float = 0.5
    stride: int = 1


DEFAULTS = Defaults()
DEFAULT_CAMERA_ID = "cam1"


@dataclass(frozen=True)
class ProcessRequest:
    """What the user asked for; ``None`` means 'not given on the command line'."""

    video: Path
    branch: str
    data_dir: Path
    config_dir: Path | None = None
    camera: str | None = None
    roi: str | None = None
    zone: str | None = None
    line: str | None = None
    passby_zone: str | None = None
    model: str | None = None
    imgsz: int | None = None
    conf: float | None = None
    device: str | None = None
    tiles: int | None = None
    backend: str | None = None
    precision: str | None = None
    motion_threshold: float | None = None
    fps: float | None = None
    min_dwell: float | None = None
    min_track: float | None = None
    track_buffer: float | None = None
    new_track_conf: float | None = None
    stride: int | None = None
    start_time: dt.datetime | None = None
    save_video: Path | None = None
    max_frames: int | None = None


@dataclass(frozen=True)
class DetectorSpec:
    model: str | None
    imgsz: int
    conf: float
    device: str | None
    tiles: int
    backend: str
    precision: str


@dataclass(frozen=True)
class ProcessPlan:
    """Everything resolved: no more optional settings."""

    video: Path
    branch_id: str
    camera_id: str
    timezone: ZoneInfo
    rules: CountingRules
    detector: DetectorSpec
    fps_override: float | None
    min_track_s: float
    track_buffer_s: float
    stride: int
    motion_threshold: float
    tracker: TrackerSettings
    stitch: StitchSettings
    filename_pattern: str | None
    start_time: dt.datetime | None
    data_dir: Path
    save_video: Path | None
    max_frames: int | None
    notes: list[str] = field(default_factory=list)
    # neither a flag nor the camera set imgsz or tiles: process_video chooses them
    # from the video (retail_intel.pipeline.autosize, issue 15)
    auto_size: bool = False


def _pick(flag: T | None, camera_value: T | None, default: T) -> T:
    if flag is not None:
        return flag
    if camera_value is not None:
        return camera_value
    return default


def _region_from_flags(request: ProcessRequest) -> Polygon | None:
    if request.roi is not None and request.zone is not None:
        raise InputError("give either --roi x1,y1,x2,y2 or --zone 'x,y x,y x,y ...', not both")
    if request.roi is not None:
        return parse_rect(request.roi)
    if request.zone is not None:
        return Polygon(parse_points(request.zone, "--zone"))
    return None


def make_plan(request: ProcessRequest) -> ProcessPlan:
    """Merge flags, the branch's camera config and defaults into a :class:`ProcessPlan`."""
    from retail_intel.config.models import Camera

    camera: Camera | None = None
    tz = ZoneInfo("UTC")
    if request.config_dir is not None:
        from retail_intel.config.loader import load_config

        config = load_config(request.config_dir)
        branch = config.branch(request.branch)
        tz = branch.tzinfo
        if branch.cameras or request.camera is not None:
            camera = config.camera(request.branch, request.camera)

    roi = _region_from_flags(request)
    if roi is None and camera is not None:
        roi = Polygon(tuple(camera.region_points()))
    if roi is None:
        raise InputError(
            f"no region of interest for branch {request.branch!r}: pass --roi x1,y1,x2,y2 or --zone, "
            "or give the branch a camera with an roi in branches.yaml (see `retail-intel snapshot` to draw one)"
        )
    line: CountingLine | None = None
    if request.line is not None:
        line = parse_line(request.line)
    elif camera is not None and camera.line is not None:
        cl = camera.line
        line = CountingLine(cl.start, cl.end, cl.in_side, cl.band_px)
    passby: Polygon | None = None
    if request.passby_zone is not None:
        passby = Polygon(parse_points(request.passby_zone, "--passby-zone"))
    elif camera is not None and camera.passby_zone is not None:
        passby = Polygon(tuple(camera.passby_zone))

    c = camera
    rules = CountingRules(
        roi=roi,
        min_dwell_s=_pick(request.min_dwell, c.min_dwell if c else None, DEFAULTS.min_dwell),
        passby_zone=passby,
        line=line,
    )
    detector = DetectorSpec(
        model=_pick(request.model, c.model if c else None, None),
        imgsz=_pick(request.imgsz, c.imgsz if c else None, DEFAULTS.imgsz),
        conf=_pick(request.conf, c.conf if c else None, DEFAULTS.conf),
        device=_pick(request.device, c.device if c else None, None),
        tiles=_pick(request.tiles, c.tiles if c else None, DEFAULTS.tiles),
        backend=_pick(request.backend, c.backend if c else None, DEFAULTS.backend),
        precision=_pick(request.precision, c.precision if c else None, DEFAULTS.precision),
    )
    return ProcessPlan(
        video=request.video,
        branch_id=request.branch,
        camera_id=request.camera or (c.id if c else DEFAULT_CAMERA_ID),
        timezone=tz,
        rules=rules,
        detector=detector,
        fps_override=_pick(request.fps, c.fps if c else None, None),
        min_track_s=_pick(request.min_track, c.min_track if c else None, DEFAULTS.min_track),
        track_buffer_s=_pick(request.track_buffer, c.track_buffer if c else None, DEFAULTS.track_buffer),
        stride=_pick(request.stride, c.stride if c else None, DEFAULTS.stride),
        motion_threshold=_pick(request.motion_threshold, c.motion_threshold if c else None, DEFAULTS.motion_threshold),
        tracker=TrackerSettings(
            track_buffer_s=_pick(request.track_buffer, c.track_buffer if c else None, DEFAULTS.track_buffer),
            new_track_thresh=_pick(request.new_track_conf, c.new_track_conf if c else None, DEFAULTS.new_track_conf),
        ),
        stitch=StitchSettings(),
        filename_pattern=c.filename_pattern if c else None,
        start_time=request.start_time,
        data_dir=request.data_dir,
        save_video=request.save_video,
        max_frames=request.max_frames,
        auto_size=all(
            v is None for v in (request.imgsz, request.tiles, c.imgsz if c else None, c.tiles if c else None)
        ),
    )
