"""Every flag with bounds says, in one line, the flag, the range it expected and the value that arrived.

Typer's own check said "Invalid value for '--port': Input should be less than or equal to 65535"
(no value) and "Input should be a valid integer, unable to parse string as an integer" for text.
The flags are found in the command tree, so a flag added with bounds later is checked too.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from typer.core import TyperGroup, TyperOption
from typer.main import get_command
from typer.testing import CliRunner

from retail_intel.cli.app import _register, app
from retail_intel.cli.settings_flags import flag_name
from retail_intel.config.camera_settings import CameraSettings, describe_bounds


def _declared() -> Iterator[tuple[list[str], TyperOption]]:
    """(command path, option) for every option declared with min= or max=."""
    _register()

    def walk(command: Any, path: list[str]) -> Iterator[tuple[list[str], TyperOption]]:
        if isinstance(command, TyperGroup):
            for name, sub in command.commands.items():
                yield from walk(sub, [*path, name])
            return
        for param in command.params:
            if isinstance(param, TyperOption) and (param.min is not None or param.max is not None):
                yield path, param

    yield from walk(get_command(app), [])


def _case(path: list[str], param: TyperOption) -> tuple[list[str], str, str, str]:
    """The option's command, its flag, a value just outside its range and what its error should expect."""
    whole = param.type_descriptor.annotation in (int, int | None)
    low, high = param.min, param.max
    bounds = ([f">= {low:g}"] if low is not None else []) + ([f"<= {high:g}"] if high is not None else [])
    outside = high + 1 if high is not None else low - 1
    value = str(int(outside)) if whole else str(float(outside))
    return path, param.opts[0], value, f"expected {'a whole number' if whole else 'a number'} {' and '.join(bounds)}"


DECLARED = [_case(path, param) for path, param in _declared()]
NUMERIC_SETTINGS = [
    name
    for name in CameraSettings.flag_names()
    if CameraSettings.flag_type(name) in (int, float) and describe_bounds(name)
]


def _error_line(args: list[str]) -> str:
    result = CliRunner().invoke(app, args, env={"COLUMNS": "250"})
    assert result.exit_code == 2, result.output
    lines = [line.strip("│ ") for line in result.output.splitlines() if "Invalid value for" in line]
    assert len(lines) == 1, result.output
    return lines[0]


def test_the_ranged_flags_are_found() -> None:
    # a test over no flags would pass whatever the messages say
    found = {(" ".join(path), flag) for path, flag, _, _ in DECLARED}
    assert {
        ("serve", "--port"),
        ("kpis", "--baseline-weeks"),
        ("audit check", "--level"),
        ("process", "--workers"),
    } <= found
    assert {"imgsz", "conf", "tiles", "fps", "stride"} <= set(NUMERIC_SETTINGS)


@pytest.mark.parametrize(
    ("path", "flag", "value", "expected"), DECLARED, ids=[f"{' '.join(d[0])} {d[1]}" for d in DECLARED]
)
@pytest.mark.parametrize("bad", ["outside", "text"])
def test_a_declared_range_names_the_flag_the_range_and_the_value(
    path: list[str], flag: str, value: str, expected: str, bad: str
) -> None:
    given, got = (value, value) if bad == "outside" else ("abc", "'abc'")
    line = _error_line([*path, flag, given])
    assert re.fullmatch(
        rf"Invalid value for '{flag}'( / '-\w')?( \(env var: '\w+'\))?: {re.escape(expected)}, got {re.escape(got)}",
        line,
    ), line


@pytest.mark.parametrize("name", NUMERIC_SETTINGS)
@pytest.mark.parametrize("bad", ["outside", "text"])
def test_a_camera_setting_flag_names_the_range_and_the_value(name: str, bad: str) -> None:
    kind = CameraSettings.flag_type(name)
    noun = "a whole number" if kind is int else "a number"
    top = re.search(r"<=? (\S+)$", describe_bounds(name))
    assert top is not None  # every numeric setting has an upper bound: one past it is out of range
    given = str(kind(float(top.group(1)) * 2 + 1)) if bad == "outside" else "abc"
    got = given if bad == "outside" else "'abc'"
    line = _error_line(["process", flag_name(name), given, "nowhere.mp4", "--branch", "b1"])
    assert line == f"Invalid value for '{flag_name(name)}': expected {noun} {describe_bounds(name)}, got {got}"


def test_a_duration_setting_out_of_its_bounds_says_seconds() -> None:
    line = _error_line(["process", "--min-dwell", "100000s", "nowhere.mp4", "--branch", "b1"])
    assert line == "Invalid value for '--min-dwell': expected a duration >= 0 and <= 86400 (seconds), got '100000s'"
