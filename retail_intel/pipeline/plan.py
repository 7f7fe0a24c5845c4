"""Resolving what ``process`` will do: flags win over the camera's config, which wins over defaults.

The settings themselves are declared once, in :mod:`retail_intel.config.camera_settings`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from retail_intel.config.camera_settings import CameraSettings, Stage, resolve, settings_layer, stage_values
from retail_intel.errors import InputError
from retail_intel.movements.classify import CountingRules
from retail_intel.movements.geometry import CountingLine, Polygon
from retail_intel.movements.staff import StaffRules
from retail_intel.movements.stitch import StitchSettings
from retail_intel.movements.zones import ZoneSpec
from retail_intel.naming import CallerNames
from retail_intel.pipeline.zone_step import check_regions_inside_frame, zone_specs
from retail_intel.vision.crop import watched_region
from retail_intel.vision.tracker import TrackerSettings

T = TypeVar("T")


class NoRegionError(InputError):
    """Neither the camera's config nor the flags give a region of interest."""


DEFAULT_CAMERA_ID = "cam1"


@dataclass(frozen=True)
class ProcessRequest:
    """What the user asked for: where the video and data are, and settings layers above the camera's config.

    ``layers`` are :class:`CameraSettings` given on top of the camera's entry in
    branches.yaml, later ones winning: the ``process`` flags, then a batch
    manifest's row. ``names`` say what the caller calls a setting or field in messages
    (its flags: ``{"fps": "--fps", "start_time": "--start-time"}``); one left out is
    named as it is here (``fps``, ``save_video``).
    """

    video: Path
    branch: str
    data_dir: Path
    config_dir: Path | None = None
    camera: str | None = None
    layers: tuple[CameraSettings, ...] = ()
    start_time: dt.datetime | None = None
    save_video: Path | None = None
    max_frames: int | None = None
    names: Mapping[str, str] | None = None

    @classmethod
    def create(
        cls,
        video: Path,
        branch: str,
        data_dir: Path,
        *,
        config_dir: Path | None = None,
        camera: str | None = None,
        start_time: dt.datetime | None = None,
        save_video: Path | None = None,
        max_frames: int | None = None,
        names: Mapping[str, str] | None = None,
        **settings: Any,
    ) -> ProcessRequest:
        """A request with one settings layer from keywords: ``ProcessRequest.create(v, "b1", d, roi="0,0,9,9")``."""
        return cls(
            video,
            branch,
            data_dir,
            config_dir,
            camera,
            (settings_layer(settings),),
            start_time,
            save_video,
            max_frames,
            names,
        )


@dataclass(frozen=True)
class DetectorSpec:
    model: str | None
    imgsz: int
    conf: float
    device: str | None
    tiles: int
    backend: str
    precision: str
    # Part of the spec so a worker's cached detector is reused only where it fits:
    # the watched region (detect_margin) and the video an int8 model is calibrated on.
    detect_region: tuple[float, float, float, float] | None = None
    calibration: str | None = None
    # what messages call the model setting (a caller's flag: --model); not part of what a detector is
    model_name: str = field(default="model", compare=False)


def _need(value: T | None, name: str) -> T:
    assert value is not None, f"{name} has a default, so a resolved plan always has it"
    return value


# Constants added after the stage identities were first hashed. While one is at its default it is
# left out of the identity, so stored tracks and judgements of earlier runs stay valid.
LATER_TRACKER_CONSTANTS = ("lost_still_speed", "method", "appearance_similarity", "proximity_iou")
LATER_STITCH_CONSTANTS = ("predicted_exits",)


def _identity_of(constants: TrackerSettings | StitchSettings, later: tuple[str, ...]) -> dict[str, object]:
    """``constants`` as an identity: every field, but those of ``later`` only where off their defaults."""
    values = asdict(constants)
    defaults = type(constants)()
    for name in later:
        if values[name] == getattr(defaults, name):
            del values[name]
    return values


@dataclass(frozen=True)
class ProcessPlan:
    """Everything resolved: ``settings`` has every value filled in (see :func:`resolve`)."""

    video: Path
    branch_id: str
    camera_id: str
    timezone: ZoneInfo
    settings: CameraSettings
    rules: CountingRules  # the judging settings as geometry
    filename_pattern: str | None
    start_time: dt.datetime | None
    data_dir: Path
    save_video: Path | None
    max_frames: int | None
    stitch: StitchSettings = field(default_factory=StitchSettings)
    # ByteTrack's constants that have no camera setting (the accuracy harness varies them);
    # its new-track threshold and buffer come from the settings
    tracker_constants: TrackerSettings = field(default_factory=TrackerSettings)
    notes: list[str] = field(default_factory=list)
    staff: StaffRules = field(default_factory=StaffRules)  # the branch's staff evidence for this camera
    # neither a flag nor the camera set imgsz or tiles: process_video chooses them
    # from the video (retail_intel.pipeline.autosize, issue 15)
    auto_size: bool = False
    # the size already chosen for this camera (SizeChoice.as_dict()): a batch probes once per
    # camera and hands the answer to every file, so process_video does not probe again
    size_choice: dict[str, Any] | None = None
    # where start_time was given, as the run summary names it (a batch: a manifest's start column)
    start_time_from: str = "--start-time"
    # what leads a message about the ROI, line or pass-by zone: the camera's entry when it gave
    # them all (no flag or manifest column did), so that a camera's regions drawn for another
    # video are named as that camera's; empty where a request layer gave one
    regions_from: str = ""
    # what the caller calls a setting or field in messages: the request's names
    names: Mapping[str, str] | None = None

    @property
    def detector(self) -> DetectorSpec:
        s = self.settings
        return DetectorSpec(
            model=s.model,
            imgsz=_need(s.imgsz, "imgsz"),
            conf=_need(s.conf, "conf"),
            device=s.device,
            tiles=_need(s.tiles, "tiles"),
            backend=_need(s.backend, "backend"),
            precision=_need(s.precision, "precision"),
            detect_region=watched_region(s),
            calibration=str(self.video) if s.precision == "int8" else None,
            model_name=CallerNames(self.names)("model"),
        )

    @property
    def tracker(self) -> TrackerSettings:
        return dataclasses.replace(
            self.tracker_constants,
            track_buffer_s=self.track_buffer_s,
            new_track_thresh=_need(self.settings.new_track_conf, "new_track_conf"),
        )

    def with_settings(self, **changes: Any) -> ProcessPlan:
        """This plan with some settings changed (validated like any layer), the rest as resolved."""
        settings = CameraSettings.model_validate({**self.settings.given(), **changes})
        return dataclasses.replace(self, settings=settings, rules=counting_rules(settings, self.branch_id, self.names))

    def check_inside_frame(self, width: int, height: int) -> None:
        """Refuse a region of the plan (ROI, pass-by zone, line, named zone, staff polygon) reaching outside a
        ``width`` x ``height`` frame: before any frame is read, in every way a video is processed."""
        check_regions_inside_frame(
            self.rules,
            self.zones,
            width,
            height,
            self.camera_id,
            self.regions_from,
            staff_zones=self.staff.staff_zones,
        )

    @property
    def fps_override(self) -> float | None:
        return self.settings.fps

    @property
    def min_track_s(self) -> float:
        return _need(self.settings.min_track, "min_track")

    @property
    def track_buffer_s(self) -> float:
        return _need(self.settings.track_buffer, "track_buffer")

    @property
    def stride(self) -> int:
        return _need(self.settings.stride, "stride")

    def detect_interval_s(self, fps: float) -> float:
        """The time a file run leaves between two detector calls: one frame times the stride.

        Not times the adaptive stride: that detects every frame of a person's first second (and
        near every edge), so whoever it skips has been seen for longer than ``min_track`` already,
        and a larger step would let stray detections count for more than they were seen.
        """
        return self.stride / fps

    @property
    def motion_threshold(self) -> float:
        return _need(self.settings.motion_threshold, "motion_threshold")

    @property
    def zones(self) -> tuple[ZoneSpec, ...]:
        """The camera's named zones as judging specs."""
        return zone_specs(self.settings.zones)

    @property
    def is_preview(self) -> bool:
        """A run over part of the video only: it never replaces a full result."""
        return self.max_frames is not None

    def stage_identity(self, stage: Stage) -> dict[str, object]:
        """What one stage of the output depends on, for the batch ledger's hashes.

        ``track``: the tracking settings and the uniform colour range measured
        while tracking (the weights' identity is added by the caller, which
        knows where they lie). ``judge``: the judging settings,
        the stitching constants and where the camera is (a branch's timezone
        changes the local days movements are filed under).
        """
        values: dict[str, object] = dict(stage_values(self.settings, stage))
        if stage == "track":
            values["tracker"] = _identity_of(self.tracker, LATER_TRACKER_CONSTANTS)
        if stage == "track" and self.auto_size:
            # chosen from the video by the same rule every time: the identity is the rule, not its answer
            values["imgsz"] = values["tiles"] = "auto"
        if stage == "track" and self.staff.uniform is not None:
            # the uniform colour's share is measured on the pixels while tracking and stored with
            # the tracks: another colour range needs the video again (min_share is only judging)
            values["uniform"] = [self.staff.uniform.low, self.staff.uniform.high]
        if stage == "track" and values.get("adaptive_stride") == 1:
            # off: the identity stays what it was before the setting existed, so stored tracks are reused
            del values["adaptive_stride"]
        elif stage == "track":
            # on: which frames were skipped follows the regions' edges, so redrawing them needs the video
            judged = stage_values(self.settings, "judge")
            values["stride_edges"] = {k: judged.get(k) for k in ("roi", "zone", "line", "passby_zone", "zones")}
        if stage == "track" and self.settings.detect_margin is not None:
            # the crop follows the regions: redrawing them changes what the detector saw
            values["detect_region"] = watched_region(self.settings)
        if stage == "judge":
            values["stitch"] = _identity_of(self.stitch, LATER_STITCH_CONSTANTS)
            values["staff"] = asdict(self.staff)
            values["branch"] = self.branch_id
            values["camera"] = self.camera_id
            values["timezone"] = str(self.timezone)
        return values


def make_plan(request: ProcessRequest) -> ProcessPlan:
    """Stack defaults, the branch's camera config and the request's layers into a :class:`ProcessPlan`."""
    from retail_intel.config.models import Camera

    camera: Camera | None = None
    tz = ZoneInfo("UTC")
    staff = StaffRules()
    if request.config_dir is not None:
        from retail_intel.config.loader import load_config

        config = load_config(request.config_dir)
        branch = config.branch(request.branch)
        tz = branch.tzinfo
        staff = branch.staff.rules(request.camera or (branch.cameras[0].id if branch.cameras else DEFAULT_CAMERA_ID))
        if branch.cameras or request.camera is not None:
            camera = config.camera(request.branch, request.camera)
    layers = [camera.settings() if camera is not None else None, *request.layers]
    settings = resolve(layers)
    # the camera's zones of kind "staff" are staff evidence too, beside the branch's staff: block
    staff_zones = tuple(zone.polygon for zone in zone_specs(settings.zones) if zone.kind == "staff")
    staff = dataclasses.replace(staff, staff_zones=staff.staff_zones + staff_zones)
    asked = any(
        layer.roi is not None or layer.zone is not None or layer.line is not None or layer.passby_zone is not None
        for layer in request.layers
    )
    if settings.device not in (None, "cpu"):
        from retail_intel.vision.devices import check_device

        check_device(settings.device)
    return ProcessPlan(
        video=request.video,
        branch_id=request.branch,
        camera_id=request.camera or (camera.id if camera else DEFAULT_CAMERA_ID),
        timezone=tz,
        settings=settings,
        rules=counting_rules(settings, request.branch, request.names),
        filename_pattern=camera.filename_pattern if camera else None,
        start_time=request.start_time,
        data_dir=request.data_dir,
        save_video=request.save_video,
        max_frames=request.max_frames,
        staff=staff,
        # neither a layer nor the camera sets imgsz or tiles: process_video chooses them from the video
        auto_size=all(layer is None or (layer.imgsz is None and layer.tiles is None) for layer in layers),
        regions_from=f'branches.yaml: camera "{camera.id}": ' if camera is not None and not asked else "",
        names=request.names,
    )


def counting_rules(settings: CameraSettings, branch: str, names: Mapping[str, str] | None = None) -> CountingRules:
    """The judging settings as geometry; a missing region is an error that says how to give one,
    naming ``roi``, ``zone`` and :func:`take_snapshot` as ``names`` call them (see :class:`ProcessRequest`)."""
    if settings.zone is not None:
        roi = Polygon(tuple(settings.zone))
    elif settings.roi is not None:
        roi = Polygon.from_rect(*settings.roi)
    else:
        named = CallerNames(names)
        raise NoRegionError(
            f"no region of interest for branch {branch!r}: pass {named('roi')} x1,y1,x2,y2 or {named('zone')}, "
            f"or give the branch a camera with an roi in branches.yaml (see {named('take_snapshot')} to draw one)"
        )
    line = settings.line
    return CountingRules(
        roi=roi,
        min_dwell_s=_need(settings.min_dwell, "min_dwell"),
        passby_zone=Polygon(tuple(settings.passby_zone)) if settings.passby_zone is not None else None,
        line=CountingLine(line.start, line.end, line.in_side, line.band_px) if line is not None else None,
    )
