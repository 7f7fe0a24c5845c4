"""One declaration of every camera setting: YAML, flags and manifest columns agree with it."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from pydantic import ValidationError
from typer.testing import CliRunner

from retail_intel.batch.discover import SETTING_COLUMNS
from retail_intel.batch.segments import parse_settings
from retail_intel.cli.app import _register, app
from retail_intel.cli.settings_flags import flag_name
from retail_intel.config.camera_settings import (
    DEFAULTS,
    CameraSettings,
    SettingsError,
    describe_bounds,
    resolve,
    settings_layer,
)
from retail_intel.config.models import Camera
from retail_intel.errors import InputError

FIELDS = set(CameraSettings.model_fields)


def _process_command() -> typer.main.TyperCommand:  # type: ignore[name-defined]
    _register()
    group = typer.main.get_command(app)
    return group.commands["process"]  # type: ignore[attr-defined,no-any-return]


FLAGS = set(CameraSettings.flag_names())


def test_process_has_exactly_one_flag_per_setting() -> None:
    # named zones are structured: branches.yaml only
    assert {"zones"} == FIELDS - FLAGS
    params = {p.name: p for p in _process_command().params}
    setting_params = {name for name in params if name in FIELDS}
    assert setting_params == FLAGS
    for name in FLAGS:
        assert params[name].opts == [flag_name(name)]  # type: ignore[attr-defined]
        assert params[name].help == CameraSettings.help_for(name)  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", sorted(FLAGS))
def test_a_flags_help_says_its_choices_once(name: str) -> None:
    # --device's help read "Cpu, cuda or cuda:N; one of cpu, cuda or cuda:N (default cpu)."
    text = CameraSettings.help_for(name)
    bounds = describe_bounds(name)
    if bounds.startswith("one of "):
        assert text.lower().count(bounds.removeprefix("one of ").lower()) == 1, text


def test_manifest_columns_are_the_settings() -> None:
    assert set(SETTING_COLUMNS) == FLAGS


def test_a_camera_entry_is_the_settings_plus_its_id_and_file_pattern() -> None:
    assert set(Camera.model_fields) - FIELDS == {"id", "filename_pattern"}
    assert set(Camera.model_fields) >= FIELDS


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("imgsz", 10),
        ("imgsz", 0),
        ("conf", 1.5),
        ("fps", -5),
        ("fps", float("inf")),
        ("tiles", 9),
        ("backend", "banana"),
        ("device", "gpu"),
        ("stride", 0),
        ("track_buffer", "0s"),
        ("new_track_conf", 1.0),
        ("roi", "300,10,100,200"),
        ("min_dwell", "abc"),
    ],
)
def test_yaml_flags_and_manifest_refuse_the_same_values(name: str, value: object) -> None:
    with pytest.raises(ValidationError):
        Camera.model_validate({"id": "c", "roi": [0, 0, 10, 10], name: value})
    with pytest.raises(SettingsError) as flag_error:
        settings_layer({name: value})
    assert flag_error.value.setting == name
    with pytest.raises(InputError, match=f"night.csv row 2: column {name}"):
        parse_settings(((name, str(value)),), "night.csv row 2")


def test_text_forms_parse_as_the_yaml_forms() -> None:
    text = settings_layer(
        {"roi": "10,20,300,200", "line": "0,100 320,100:right", "passby_zone": "0,0 50,0 50,50", "min_dwell": "1.5m"}
    )
    yaml = Camera.model_validate(
        {
            "id": "c",
            "roi": [10, 20, 300, 200],
            "line": {"start": [0, 100], "end": [320, 100], "in_side": "right"},
            "passby_zone": [[0, 0], [50, 0], [50, 50]],
            "min_dwell": 90,
        }
    ).settings()
    assert text == yaml


def test_layers_stack_defaults_camera_flags_then_manifest() -> None:
    camera = CameraSettings(roi=(0, 0, 100, 100), imgsz=960, conf=0.2)
    flags = CameraSettings(imgsz=1280, zone=[(0, 0), (50, 0), (50, 50)])
    row = CameraSettings(imgsz=320)
    resolved = resolve([camera, flags, row])
    assert resolved.imgsz == 320  # the manifest row wins
    assert resolved.conf == 0.2  # the camera's, no later layer sets it
    assert resolved.stride == DEFAULTS.stride
    # a zone from the flags replaces the camera's rectangle: one region, not both
    assert resolved.roi is None and resolved.zone == [(0, 0), (50, 0), (50, 50)]


def test_every_setting_has_a_stage_and_help() -> None:
    stages = {name: CameraSettings.stage_of(name) for name in FIELDS}
    assert {n for n, s in stages.items() if s == "judge"} == {
        "roi",
        "zone",
        "line",
        "passby_zone",
        "min_dwell",
        "min_track",
        "zones",
    }
    for name in FIELDS:
        assert CameraSettings.model_fields[name].description


@pytest.mark.parametrize(
    ("flag", "value", "expected"),
    [
        ("--imgsz", "10", ">= 32"),
        ("--imgsz", "0", ">= 32"),
        ("--conf", "1.5", "< 1"),
        ("--fps", "-5", "> 0"),
        ("--backend", "banana", "auto, openvino or torch"),
        ("--device", "cuda:7", "available here: cpu"),
        ("--tiles", "9", "<= 4"),
    ],
)
def test_a_bad_flag_is_a_usage_error_before_any_video_is_opened(
    tmp_path: Path, flag: str, value: str, expected: str
) -> None:
    _register()
    missing = tmp_path / "nowhere.mp4"  # never opened: the flag is refused first
    result = CliRunner().invoke(app, ["process", str(missing), "--branch", "b1", flag, value])
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.replace("│", " ").split())  # the message, unwrapped from its box
    assert flag in text and value in text and expected in text
    assert "Traceback" not in text and "nowhere" not in text


def test_a_bad_manifest_cell_quotes_its_value_once() -> None:
    # night.csv with min_dwell "abc" read: "... must be a duration such as 2s, 1.5m or 500ms, got 'abc', got 'abc' ..."
    with pytest.raises(SettingsError) as error:
        settings_layer({"min_dwell": "abc"}, "night.csv line 2: column ")
    assert str(error.value) == (
        "night.csv line 2: column min_dwell: must be a duration such as 2s, 1.5m or 500ms, got 'abc' "
        "(allowed: >= 0 and <= 86400)"
    )
    with pytest.raises(SettingsError) as error:  # pydantic's own reason does not quote it: still added
        settings_layer({"imgsz": "abc"})
    assert str(error.value).count("got 'abc'") == 1


@pytest.mark.parametrize(
    ("column", "cell", "message"),
    [
        # read "got 1 values, got '1.5'": the count, then the cell
        ("roi", "1.5", "roi: must be [x1, y1, x2, y2] (4 numbers), got 1 in '1.5'"),
        # read "got '8' in '8 s', got '8 s'"
        ("zone", "8 s", "zone: must be points 'x,y x,y x,y ...', got '8' in '8 s'"),
        # read "got '1.5' in '1.5', got '1.5'"
        ("line", "1.5", "line: must be points 'x,y x,y x,y ...', got '1.5'"),
        # read "got 2, got '1,2 3,4'"
        ("zone", "1,2 3,4", "zone: must have at least 3 points [x, y], got 2 (given '1,2 3,4')"),
        # read "got [5.0, 1.0, 1.0, 1.0], got '5,1,1,1'"
        ("roi", "5,1,1,1", "roi: must have x1 < x2 and y1 < y2, got [5.0, 1.0, 1.0, 1.0] (given '5,1,1,1')"),
        ("fps", "abc", "fps: Input should be a valid number, unable to parse string as a number, got 'abc' "),
    ],
)
def test_a_bad_manifest_cell_says_what_arrived_once(column: str, cell: str, message: str) -> None:
    with pytest.raises(SettingsError) as error:
        settings_layer({column: cell}, "night.csv line 2: column ")
    text = str(error.value)
    assert text.startswith(f"night.csv line 2: column {message}")
    assert text.count("got") == 1


def test_an_unknown_setting_is_named() -> None:
    # ProcessRequest.create(video, "b1", data, roii="...") said only "Extra inputs are not permitted"
    with pytest.raises(
        SettingsError, match=r"^roii: unknown setting; did you mean 'roi'\? expected one of adaptive_stride,"
    ):
        settings_layer({"roii": "100,80,700,500"})
    with pytest.raises(SettingsError, match=r"^night.csv line 2: column zzz: unknown setting; expected one of"):
        settings_layer({"zzz": "1"}, "night.csv line 2: column ")
