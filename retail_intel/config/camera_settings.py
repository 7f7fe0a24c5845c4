"""Every per-camera processing setting, declared once.

:class:`CameraSettings` is the single declaration of what ``process`` can be
told about a camera: each field carries its type, bounds, unit and help text.
The same model validates

* a camera's entry in ``branches.yaml`` (:class:`~retail_intel.config.models.Camera` extends it),
* the ``process`` flags (the CLI builds one layer from them, so ``--imgsz 10``
  fails exactly as ``imgsz: 10`` does, naming the flag),
* a batch manifest's setting columns (one column per field), and
* the live session (it is handed the same resolved plan).

Fields are in two stages. ``track`` settings change what the detector and the
tracker produce; ``judge`` settings only change how stored tracks are judged
(regions, line, dwell thresholds). The batch ledger hashes each stage on its
own, so a redrawn ROI re-judges stored tracks instead of detecting again.

A layer leaves unset fields as ``None``; :func:`resolve` stacks layers
(defaults < camera config < flags < manifest row) into one frozen object with
every value filled in.
"""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from retail_intel.config.region_shape import Point, enclosing
from retail_intel.errors import InputError

Stage = Literal["track", "judge"]

# Durations may be written as numbers of seconds (YAML) or as text such as
# "2s", "1.5m" (flags, manifests); the text form is parsed here, once.
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def _duration(value: object) -> object:
    if not isinstance(value, str):
        return value
    text = value.strip().lower()
    for unit in ("ms", "s", "m", "h"):
        if text.endswith(unit):
            number = text[: -len(unit)].strip()
            try:
                return float(number) * _UNITS[unit]
            except ValueError:
                break
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"must be a duration such as 2s, 1.5m or 500ms, got {value!r}") from None


def _numbers(text: str) -> list[float]:
    try:
        return [float(p) for p in text.replace(",", " ").split()]
    except ValueError:
        raise ValueError(f"must be numbers, got {text!r}") from None


def _rect(value: object) -> object:
    # "--roi 100,100,500,400" and a manifest cell arrive as text
    return _numbers(value) if isinstance(value, str) else value


def _points(value: object) -> object:
    # "x,y x,y x,y" or "x,y;x,y;x,y"
    if not isinstance(value, str):
        return value
    points = []
    for chunk in value.replace(";", " ").split():
        xy = chunk.split(",")
        if len(xy) != 2:
            part = f"{chunk!r} in {value!r}" if chunk != value.strip() else repr(value)
            raise ValueError(f"must be points 'x,y x,y x,y ...', got {part}")
        points.append(_numbers(chunk))
    return points


def _line(value: object) -> object:
    # "x1,y1 x2,y2[:left|right]"
    if not isinstance(value, str):
        return value
    body, _, side = value.partition(":")
    points = _points(body)
    if not isinstance(points, list) or len(points) != 2:
        raise ValueError(f"must be two points 'x1,y1 x2,y2[:left|right]', got {value!r}")
    return {"start": points[0], "end": points[1], "in_side": side.strip() or "left"}


def _finite(value: float | None) -> float | None:
    if value is not None and not math.isfinite(value):
        raise ValueError(f"must be a finite number, got {value}")
    return value


def refuse_decimal_id(data: object) -> object:
    """An ``id`` written as a number with a decimal point is refused: YAML reads ``1.10`` as 1.1,
    so the id would silently differ from what was written (whole numbers keep their text)."""
    if isinstance(data, dict) and isinstance(data.get("id"), float):
        raise ValueError(f'id {data["id"]!r} is read as a number; write the id in quotes ("...")')
    return data


def _holds_bool(value: object) -> bool:
    if isinstance(value, bool):
        return True
    return isinstance(value, list | tuple) and any(_holds_bool(v) for v in value)


def _mentions(annotation: object, kinds: tuple[type, ...]) -> bool:
    """Whether ``annotation`` (``int | None``, ``list[tuple[float, float]]``, ...) names one of ``kinds``."""
    if annotation in kinds:
        return True
    return any(_mentions(arg, kinds) for arg in get_args(annotation))


def refuse_bool_number(cls: type[BaseModel], value: object, info: ValidationInfo) -> object:
    """A YAML ``true``/``false`` where a number is expected is refused: pydantic would read it as
    1 or 0, so ``tiles: true`` or ``capacity: true`` passed ``validate`` as 1."""
    field = cls.model_fields.get(info.field_name or "")
    if (
        field is not None
        and _holds_bool(value)
        and _mentions(field.annotation, (int, float))
        and not _mentions(field.annotation, (bool,))
    ):
        what = "a number" if isinstance(value, bool) else "numbers only"
        raise ValueError(f"must be {what}, got {json.dumps(value)}")
    return value


class _Model(BaseModel):
    # Unknown keys are almost always typos in hand-edited YAML: reject them.
    # Numbers become text where text is expected, so ``id: 101`` is the id "101".
    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True, allow_inf_nan=False)

    _decimal_id = model_validator(mode="before")(refuse_decimal_id)
    _bool_number = field_validator("*", mode="before")(refuse_bool_number)


class EntranceLine(_Model):
    """A directional counting line: crossing from the ``out`` side to the ``in`` side counts in.

    ``in_side`` is ``left`` or ``right`` as seen walking from ``start`` to ``end``
    in image coordinates (y grows downwards).
    """

    start: Point
    end: Point
    in_side: Literal["left", "right"] = "left"
    # Foot points must leave a band of this many pixels around the line before a
    # crossing counts, so jitter on the line is not counted as many crossings.
    band_px: float = Field(default=10.0, ge=0, le=10_000)

    @model_validator(mode="after")
    def _not_degenerate(self) -> EntranceLine:
        if self.start == self.end:
            raise ValueError(f"start and end must differ, got both {self.start}")
        return self


Seconds = Annotated[float, BeforeValidator(_duration)]


class Zone(_Model):
    """A named place on a camera's floor: an aisle, a display, a queue or a till.

    A ``queue`` may name its ``service`` zone (the till) on the same camera:
    wait time runs from the first moment in the queue to the first moment in
    service. A visit counts once the foot point stayed ``min_dwell`` seconds.
    """

    id: str = Field(min_length=1)
    polygon: list[Point]
    kind: Literal["area", "queue", "service", "staff"] = "area"
    # a duration within the bounds of the camera's own min_dwell, so "5s" or "1.5m" reads the same on both
    min_dwell: Seconds = Field(default=5.0, ge=0, le=86_400, description="seconds inside for a visit to count")
    label: str | None = None
    service: str | None = Field(default=None, description="id of the service zone a queue leads to")

    @field_validator("polygon", mode="before")
    @classmethod
    def _points_shape(cls, value: object) -> object:
        return _check_point_pairs(value)

    @field_validator("polygon")
    @classmethod
    def _not_degenerate(cls, value: list[Point]) -> list[Point]:
        return enclosing(value)

    @model_validator(mode="after")
    def _service_only_on_queue(self) -> Zone:
        if self.service is not None and self.kind != "queue":
            raise ValueError(f"service: only a queue zone names a service zone, this one is kind {self.kind}")
        return self

    @property
    def title(self) -> str:
        return self.label or self.id


def _check_point_pairs(value: object) -> object:
    if isinstance(value, list | tuple):
        for index, point in enumerate(value):
            if not isinstance(point, list | tuple) or len(point) != 2:
                raise ValueError(f"point #{index + 1} must be [x, y], got {point!r}")
    return value


def _setting(
    stage: Stage, description: str, flag_default: str | None = None, *, yaml_only: bool = False, **bounds: Any
) -> Any:
    """A settings field: optional in a layer, with its stage and the default shown in help.

    ``yaml_only``: a structured setting (named zones) with no flag or manifest column.
    """
    extra: dict[str, Any] = {"stage": stage, "yaml_only": yaml_only}
    if flag_default is not None:
        extra["default_text"] = flag_default
    return Field(default=None, description=description, json_schema_extra=extra, **bounds)


Rect = Annotated[tuple[float, float, float, float], BeforeValidator(_rect)]
Points = Annotated[list[Point], BeforeValidator(_points)]
Line = Annotated[EntranceLine, BeforeValidator(_line)]


class CameraSettings(_Model):
    """Per-camera processing settings; ``None`` means "not set in this layer"."""

    # -- what the detector and tracker produce ------------------------------
    model: str | None = _setting(
        "track", "Ultralytics weights: path or name (.pt, .onnx, OpenVINO folder)", "bundled YOLO11n-pose"
    )
    imgsz: int | None = _setting(
        "track", "detector input size in pixels", "chosen from the video, 640-1280", ge=32, le=4096
    )
    conf: float | None = _setting("track", "detection confidence threshold", "0.1", gt=0, lt=1)
    device: str | None = _setting("track", "inference device", "cpu", pattern=r"^(cpu|cuda(:\d+)?|\d+)$", max_length=16)
    tiles: int | None = _setting("track", "split each frame into N x N tiles for small people", "1", ge=1, le=4)
    backend: Literal["auto", "openvino", "torch"] | None = _setting(
        "track", "inference engine: auto (OpenVINO on CPU when installed), openvino or torch", "auto"
    )
    precision: Literal["auto", "f32", "int8"] | None = _setting(
        "track",
        "OpenVINO precision: auto (bf16 where the CPU has AMX), f32, or int8 (quantized once on frames of the"
        " video itself; needs the int8 extra)",
        "auto",
    )
    motion_threshold: float | None = _setting(
        "track",
        "share of pixels that must change for a frame to be detected again; 0 = every frame",
        "0.0005",
        ge=0,
        lt=1,
    )
    fps: float | None = _setting("track", "true frame rate when the header is wrong (frames/s)", gt=0, le=1000)
    track_buffer: Seconds | None = _setting("track", "how long a lost track is kept (s)", "3s", gt=0, le=600)
    new_track_conf: float | None = _setting(
        "track", "confidence a detection needs to start a new track", "0.5", gt=0, lt=1
    )
    stride: int | None = _setting("track", "run the detector on every N-th frame", "1", ge=1, le=100)
    adaptive_stride: int | None = _setting(
        "track",
        "adaptive stride: while nobody tracked is new or near the ROI, line, pass-by zone, a named zone's edge"
        " or the picture's border, run the detector on only every N-th frame (the tracker predicts the frames"
        " between and they are interpolated); 1 = every frame",
        "1",
        ge=1,
        le=30,
    )
    detect_margin: float | None = _setting(
        "track",
        "detect only inside the box around the ROI, line and zones grown by this many pixels"
        " (people never within it are not seen); unset = the whole frame",
        ge=0,
        le=10_000,
    )
    # -- how tracks are judged ----------------------------------------------
    roi: Rect | None = _setting("judge", "rectangle region of interest x1,y1,x2,y2 in pixels")
    zone: Points | None = _setting("judge", "polygon region of interest 'x,y x,y x,y ...' in pixels")
    line: Line | None = _setting("judge", "directional counting line 'x1,y1 x2,y2[:left|right]' (in side)")
    passby_zone: Points | None = _setting("judge", "polygon of the pavement outside: seen there = passed")
    min_dwell: Seconds | None = _setting("judge", "time inside the ROI to count as entered (s)", "2s", ge=0, le=86_400)
    min_track: Seconds | None = _setting("judge", "tracks shorter than this are noise (s)", "0.5s", ge=0, le=86_400)
    zones: list[Zone] | None = _setting(
        "judge", "named places on the floor: areas, queues, tills, staff areas (docs/zones.md)", yaml_only=True
    )

    @field_validator(
        "fps", "detect_margin", "track_buffer", "min_dwell", "min_track", "conf", "new_track_conf", "motion_threshold"
    )
    @classmethod
    def _finite_number(cls, value: float | None) -> float | None:
        return _finite(value)

    @field_validator("roi", mode="before")
    @classmethod
    def _roi_shape(cls, value: object) -> object:
        numbers = _rect(value)
        if isinstance(numbers, list | tuple) and len(numbers) != 4:
            # text (a flag, a manifest cell) is quoted as given, not just how many numbers it held
            got = f"{len(numbers)} in {value!r}" if isinstance(value, str) else f"{len(numbers)} values"
            raise ValueError(f"must be [x1, y1, x2, y2] (4 numbers), got {got}")
        return numbers

    @field_validator("roi")
    @classmethod
    def _roi_ordered(cls, value: tuple[float, float, float, float] | None) -> tuple[float, float, float, float] | None:
        if value is not None:
            x1, y1, x2, y2 = value
            if not all(math.isfinite(v) for v in value):
                raise ValueError(f"must be finite numbers, got {list(value)}")
            if x2 <= x1 or y2 <= y1:
                raise ValueError(f"must have x1 < x2 and y1 < y2, got {list(value)}")
        return value

    @field_validator("zone", "passby_zone", mode="before")
    @classmethod
    def _points_shape(cls, value: object) -> object:
        value = _points(value)
        if isinstance(value, list | tuple):
            for index, point in enumerate(value):
                if not isinstance(point, list | tuple) or len(point) != 2:
                    raise ValueError(f"point #{index + 1} must be [x, y], got {point!r}")
        return value

    @field_validator("zone", "passby_zone")
    @classmethod
    def _enough_points(cls, value: list[Point] | None) -> list[Point] | None:
        return None if value is None else enclosing(value)

    @model_validator(mode="after")
    def _one_region(self) -> CameraSettings:
        if self.roi is not None and self.zone is not None:
            raise ValueError("give either roi (x1,y1,x2,y2) or zone (polygon), not both")
        return self

    # -- layers ---------------------------------------------------------------

    def given(self) -> dict[str, Any]:
        """The fields this layer sets (not ``None``)."""
        return {name: getattr(self, name) for name in type(self).setting_names() if getattr(self, name) is not None}

    @classmethod
    def setting_names(cls) -> tuple[str, ...]:
        return tuple(name for name in CameraSettings.model_fields)

    @classmethod
    def flag_names(cls) -> tuple[str, ...]:
        """The settings a flag or manifest column can give (all but the structured YAML-only ones)."""
        return tuple(name for name in cls.setting_names() if not _extra(name).get("yaml_only"))

    @classmethod
    def stage_of(cls, name: str) -> Stage:
        stage: Stage = "track" if _extra(name)["stage"] == "track" else "judge"
        return stage

    @classmethod
    def flag_type(cls, name: str) -> type:
        """The type a flag or manifest cell is parsed as before validation: numbers, else text.

        Durations and shapes stay text (``2s``, ``x1,y1,x2,y2``): this model parses them.
        """
        annotation = CameraSettings.model_fields[name].annotation
        args = set(getattr(annotation, "__args__", ()))
        if name in _TEXT_FLAGS:
            return str
        for kind in (int, float):
            if kind in args:
                return kind
        return str

    @classmethod
    def help_for(cls, name: str) -> str:
        """Help text for the flag or column: description, bounds and default."""
        field = CameraSettings.model_fields[name]
        text = field.description or name
        bounds = describe_bounds(name)
        if bounds:
            text += f"; {bounds}"
        extra = field.json_schema_extra
        if isinstance(extra, dict) and "default_text" in extra:
            text += f" (default {extra['default_text']})"
        return text[0].upper() + text[1:] + "."


# How precision int8 and the PyTorch backend clash: said by validate (a camera setting both) and by
# process (pipeline/run.py, a run that ends up on PyTorch), in the same words.
INT8_NEEDS_OPENVINO = "precision int8 runs on the OpenVINO backend"
INT8_WITH_TORCH_FIX = "use precision auto or f32, or backend auto or openvino"


def int8_with_torch_problem(settings: CameraSettings) -> str | None:
    """The clash of ``precision: int8`` with ``backend: torch`` in one layer, or None."""
    if settings.precision == "int8" and settings.backend == "torch":
        return f"has precision int8 and backend torch: {INT8_NEEDS_OPENVINO}; {INT8_WITH_TORCH_FIX}"
    return None


def _extra(name: str) -> dict[str, Any]:
    extra = CameraSettings.model_fields[name].json_schema_extra
    assert isinstance(extra, dict)
    return extra


# Settings given as a duration ("2s", "1.5m"; bounded in seconds): those declared ``Seconds``.
DURATION_SETTINGS = frozenset(n for n, f in CameraSettings.model_fields.items() if Seconds in get_args(f.annotation))
# Settings whose flag takes text that this model parses (durations, shapes).
_TEXT_FLAGS = DURATION_SETTINGS | {"roi", "zone", "line", "passby_zone"}


def describe_bounds(name: str) -> str:
    """The allowed range of a numeric setting, as the error messages and help state it."""
    limits = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}
    parts = []
    for meta in CameraSettings.model_fields[name].metadata:
        for attr, sign in limits.items():
            value = getattr(meta, attr, None)
            if value is not None:
                parts.append(f"{sign} {value:g}" if isinstance(value, int | float) else f"{sign} {value}")
    choices = {"backend": "auto, openvino or torch", "precision": "auto, f32 or int8", "device": "cpu, cuda or cuda:N"}
    if name in choices:
        return f"one of {choices[name]}"
    return " and ".join(parts)


# Used when no layer sets a value. Regions have no default: a camera must say where to count.
DEFAULTS = CameraSettings(
    imgsz=640,
    conf=0.1,  # low on purpose: ByteTrack's second association uses 0.1-0.25 boxes
    tiles=1,
    backend="auto",
    precision="auto",
    # A frame whose downscaled grey image differs from the last detected frame in fewer than this
    # share of pixels reuses that frame's detections: an empty or still scene costs only its decode.
    motion_threshold=0.0005,
    track_buffer=3.0,
    # Only detections this confident start a new track: half-hidden people in a crowd (low
    # confidence) then extend existing tracks instead of starting ones that steal identities.
    # Picked leave-one-clip-out (docs/accuracy.md): 0.5 on 3 of 4 folds (ByteTrack's own 0.3
    # suits only small, far-away people).
    new_track_conf=0.5,
    stride=1,
    # off: counts were unchanged on every accuracy clip, but because it hardly skips on them
    # (someone is near an edge almost always), so there is no evidence yet where it does skip
    # (docs/throughput.md, adaptive stride)
    adaptive_stride=1,
    min_dwell=2.0,
    # picked leave-one-clip-out on the accuracy clips (docs/accuracy.md): 0.5 s on every fold;
    # 1 s dropped people seen briefly (a passer-by at the edge of a short clip)
    min_track=0.5,
)


def resolve(layers: Iterable[CameraSettings | None]) -> CameraSettings:
    """Stack layers, later ones winning, over :data:`DEFAULTS`; regions from flags replace each other.

    An ``roi`` and a ``zone`` are two spellings of one region: a later layer that sets either
    replaces both of an earlier layer's.
    """
    values: dict[str, Any] = DEFAULTS.given()
    for layer in layers:
        if layer is None:
            continue
        given = layer.given()
        if "roi" in given or "zone" in given:
            values.pop("roi", None)
            values.pop("zone", None)
        values.update(given)
    return CameraSettings.model_validate(values)


def stage_values(settings: CameraSettings, stage: Stage) -> dict[str, Any]:
    """The settings of one stage, as plain JSON-able values (for hashing)."""
    return {
        name: value
        for name, value in settings.model_dump(mode="json").items()
        if CameraSettings.stage_of(name) == stage
    }


class SettingsError(InputError):
    """A setting's value is refused; ``setting`` names the field (the CLI turns it into its flag)."""

    def __init__(
        self, setting: str | None, value: object, reason: str, where: str = "", *, bounds: bool = True
    ) -> None:
        self.setting, self.value, self.reason = setting, value, reason
        # the allowed range, unless the value is in range but not usable here (a missing CUDA device)
        self.allowed = describe_bounds(setting) if setting and bounds else ""
        bounds_text = self.allowed
        allowed = f" (allowed: {bounds_text})" if bounds_text else ""
        # a reason of ours that already says what arrived ("must be a duration ..., got '8 s'", "got
        # '8' in '8 s'", "got [5.0, 1.0, 1.0, 1.0]") is not followed by a second "got"
        got = ""
        if setting and "got " not in reason:
            got = f", got {value!r}"
        elif setting and repr(value) not in reason:  # it said only part of it ("got 2" points)
            got = f" (given {value!r})"
        super().__init__(f"{where}{setting + ': ' if setting else ''}{reason}{got}{allowed}")


def _unknown_setting(name: str) -> str:
    known = sorted(CameraSettings.model_fields)
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"{name}: unknown setting; {hint}expected one of {', '.join(known)}"


def settings_layer(values: Mapping[str, Any], where: str = "") -> CameraSettings:
    """One settings layer from raw values (``None`` = not given); the first bad value raises :class:`SettingsError`.

    ``where`` prefixes the message, e.g. ``"night.csv row 3: "``.
    """
    given = {name: value for name, value in values.items() if value is not None}
    try:
        return CameraSettings.model_validate(given)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = first["loc"]
        if first["type"] == "extra_forbidden" and loc:
            # pydantic's own words ("Extra inputs are not permitted") do not say which name it was
            raise SettingsError(None, None, _unknown_setting(str(loc[0])), where) from None
        name = str(loc[0]) if loc and loc[0] in CameraSettings.model_fields else None
        reason = str(first["msg"]).removeprefix("Value error, ")
        raise SettingsError(name, given.get(name) if name else None, reason, where) from None
