"""The ``process`` flags for camera settings, generated from :class:`CameraSettings`.

Each field of the settings model becomes one ``--flag`` (``min_dwell`` ->
``--min-dwell``) with the model's help text and bounds; the values given are
validated by the same model as branches.yaml, and a value outside its bounds is
a usage error (exit 2) naming the flag, the value and the allowed range, before
any video is opened.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer

from retail_intel.cli.ranges import expected_number, number_parser
from retail_intel.config.camera_settings import (
    DURATION_SETTINGS,
    CameraSettings,
    SettingsError,
    describe_bounds,
    settings_layer,
)

F = TypeVar("F", bound=Callable[..., Any])
PANEL = "Camera settings (override branches.yaml)"


def flag_name(setting: str) -> str:
    return "--" + setting.replace("_", "-")


# what a ProcessRequest's messages call its settings and fields: these flags (``pass --fps``)
PROCESS_FLAGS = {setting: flag_name(setting) for setting in CameraSettings.flag_names()} | {
    "start_time": "--start-time",
    "save_video": "--save-video",
    "data_dir": "--data-dir",
    "max_frames": "--max-frames",
    # the functions messages point to: the commands that run them (a batch records its messages as worded)
    "calibrate_camera": "`retail-intel calibrate`",
    "take_snapshot": "`retail-intel snapshot`",
}


def settings_from_flags(values: dict[str, Any]) -> CameraSettings:
    """One settings layer from flag values (``None`` = not given); a bad value is a usage error naming its flag."""
    try:
        layer = settings_layer(values)
        if layer.device not in (None, "cpu"):
            from retail_intel.vision.devices import check_device

            check_device(layer.device)
        return layer
    except SettingsError as exc:
        if exc.setting is None:  # a rule across fields (roi and zone both given)
            raise typer.BadParameter(exc.reason) from None
        raise typer.BadParameter(_flag_message(exc.setting, exc), param_hint=f"'{flag_name(exc.setting)}'") from None


def _flag_message(setting: str, exc: SettingsError) -> str:
    """What the flag expected and the value that arrived, as the other ranged flags say it (cli/ranges.py)."""
    kind = CameraSettings.flag_type(setting)
    if f"got {exc.value!r}" in exc.reason:  # our own parser's words: "must be a duration such as 2s ..., got '8x'"
        return exc.reason
    if kind is not str and exc.allowed:  # a number the model's bounds refuse
        return f"{expected_number(kind, exc.allowed)}, got {exc.value!r}"
    if setting in DURATION_SETTINGS:  # a duration out of its bounds, given in seconds
        return f"expected a duration {exc.allowed} (seconds), got {exc.value!r}"
    allowed = f"; allowed: {exc.allowed}" if exc.allowed else ""
    return f"{exc.value!r}: {exc.reason}{allowed}"


def _parser(name: str) -> dict[str, Any]:
    """A number flag's text is parsed here, so that "abc" fails naming the range it expected; the model checks it."""
    kind = CameraSettings.flag_type(name)
    if kind is int or kind is float:
        return {"parser": number_parser(kind, describe_bounds(name))}
    return {}


def with_setting_flags(func: F) -> F:
    """Add one option per camera setting to a Typer command; the command receives ``settings``."""
    signature = inspect.signature(func, eval_str=True)
    names = CameraSettings.flag_names()
    kept = [p for p in signature.parameters.values() if p.name != "settings"]
    added = [
        inspect.Parameter(
            name,
            inspect.Parameter.KEYWORD_ONLY,
            default=None,
            annotation=Annotated[
                CameraSettings.flag_type(name) | None,
                typer.Option(
                    flag_name(name), help=CameraSettings.help_for(name), rich_help_panel=PANEL, **_parser(name)
                ),
            ],
        )
        for name in names
    ]

    @functools.wraps(func)
    def command(**kwargs: Any) -> Any:
        kwargs["settings"] = settings_from_flags({name: kwargs.pop(name) for name in names})
        return func(**kwargs)

    parameters = [*[p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in kept], *added]
    command.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in parameters} | {"return": signature.return_annotation}
    return command  # type: ignore[return-value]
