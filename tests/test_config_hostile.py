"""Hostile config files: alias bombs, deep nesting, infinite numbers and path-like ids are refused."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from retail_intel.config import validate_config
from retail_intel.config.yamlio import (
    MAX_YAML_BYTES,
    MAX_YAML_DEPTH,
    MAX_YAML_NODES,
    ConfigYamlLoader,
    YamlReadError,
    expanded_nodes,
    read_yaml,
)

from .test_config_errors import write_config


def laughs(levels: int, fan_out: int = 9) -> str:
    """The "billion laughs" document: each level refers ``fan_out`` times to the one before."""
    lines = ["a0: &a0 [" + ", ".join(['"lol"'] * fan_out) + "]"]
    for level in range(1, levels + 1):
        lines.append(f"a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * fan_out) + "]")
    return "\n".join(lines) + "\n"


def compose(text: str) -> yaml.Node:
    loader = ConfigYamlLoader(text)
    try:
        node = loader.get_single_node()
    finally:
        loader.dispose()
    assert node is not None
    return node


def test_expanded_nodes_counts_every_alias_as_a_copy() -> None:
    # a0: 1 list + 3 scalars = 4; a1: 1 list + 3 * 4 = 13; plus the two keys and the root mapping
    assert expanded_nodes(compose(laughs(1, fan_out=3))) == 1 + 2 + 4 + 13


def test_expanded_nodes_stops_counting_past_the_limit() -> None:
    assert expanded_nodes(compose(laughs(9)), limit=1000) == 1001


def test_billion_laughs_is_refused_quickly(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(laughs(9))
    assert path.stat().st_size < 1000
    with pytest.raises(YamlReadError, match=f"more than {MAX_YAML_NODES:,} values through aliases"):
        read_yaml(path)


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("a: &a [*a]\n", 1),
        ("x: 1\nb: &b {k: *b}\n", 2),
        ("c: &c [[1, *c]]\n", 1),
    ],
)
def test_an_alias_inside_its_own_anchor_is_refused_with_its_line(tmp_path: Path, text: str, line: int) -> None:
    # the walk once followed the cycle forever, its stack growing until memory ran out
    path = tmp_path / "loop.yaml"
    path.write_text(text)
    with pytest.raises(YamlReadError, match=f"alias refers to itself at line {line}, "):
        read_yaml(path)


def test_a_self_referencing_alias_is_reported_by_validate(tmp_path: Path) -> None:
    problems = validate_config(write_config(tmp_path / "config", {"holidays.yaml": "a: &a [*a]\n"}))
    assert any(problem.startswith("holidays.yaml: YAML alias refers to itself") for problem in problems)


def test_a_few_aliases_still_load(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text(laughs(3))
    document = read_yaml(path)
    assert isinstance(document, dict) and len(document["a3"]) == 9


def test_nesting_is_limited_with_a_line_number(tmp_path: Path) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text("branches: " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(YamlReadError, match=f"line 1, .*nested more than {MAX_YAML_DEPTH} levels"):
        read_yaml(path)
    shallow = tmp_path / "shallow.yaml"
    shallow.write_text("x: " + "[" * (MAX_YAML_DEPTH - 2) + "]" * (MAX_YAML_DEPTH - 2) + "\n")
    assert isinstance(read_yaml(shallow), dict)


def test_an_oversized_file_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    path.write_bytes(b"# " + b"x" * MAX_YAML_BYTES + b"\n")
    with pytest.raises(YamlReadError, match="larger than"):
        read_yaml(path)


@pytest.mark.parametrize(
    ("branch", "expected"),
    [
        ("{id: ../../evil, name: X, capacity: 3}", "id must be a plain name"),
        ("{id: a/b, name: X, capacity: 3}", "id must be a plain name"),
        ("{id: .hidden, name: X, capacity: 3}", "id must be a plain name"),
        # a trailing newline ("b3\\n", or a `|` block) passed "$" and became part of a folder name
        ('{id: "b3\\n", name: X, capacity: 3}', "id must be a plain name"),
        ('{id: b3, name: X, capacity: 3, cameras: [{id: "c\\n", roi: [0, 0, 9, 9]}]}', "id must be a plain name"),
        ('{id: b3, name: X, capacity: 3, peak_time: "12:00\\n"}', "peak_time must be a time of day HH:MM"),
        ("{id: b3, name: X, capacity: 3, cameras: [{id: ../c, roi: [0, 0, 9, 9]}]}", "id must be a plain name"),
        ("{id: b3, name: X, capacity: 3, cameras: [{id: c, roi: [0, 0, 9, 9], fps: .inf}]}", "finite number"),
        ("{id: b3, name: X, capacity: 3, cameras: [{id: c, roi: [0, 0, 9, 9], fps: .nan}]}", "finite number"),
        ("{id: b3, name: X, capacity: 1.0e+35}", "capacity:"),
        ("{id: b3, name: X, capacity: 100000000000000000000}", "capacity must be <= 1000000"),
        ("{id: b3, name: X, capacity: 3, customers_per_staff: .inf}", "finite number"),
        ("{id: b3, name: X, capacity: 3, customers_per_staff: 1.0e-300}", "customers_per_staff"),
        (
            "{id: b3, name: X, capacity: 3, cameras: [{id: c, roi: [0, 0, 9, 9], track_buffer: 1.0e+300}]}",
            "track_buffer",
        ),
        ("{id: b3, name: X, capacity: 3, cameras: [{id: c, roi: [0, 0, .inf, 9]}]}", "finite number"),
        # a branch's staff: block took them (docs/config.md refuses them everywhere)
        ("{id: b3, name: X, capacity: 3, staff: {min_presence_minutes: .inf}}", "finite number"),
        ("{id: b3, name: X, capacity: 3, staff: {zone_seconds: .nan}}", "finite number"),
        (
            "{id: b3, name: X, capacity: 3, staff: {uniform: {low: [0, 0, 0], high: [9, 9, 9], min_share: .nan}}}",
            "finite",
        ),
        (
            "{id: b3, name: X, capacity: 3, cameras: [{id: c, roi: [0, 0, 9, 9]}], "
            "staff: {zones: {c: [[[0, 0], [.nan, 0], [0, 10]]]}}}",
            "finite number",
        ),
    ],
)
def test_validate_refuses_values_that_would_crash_later(tmp_path: Path, branch: str, expected: str) -> None:
    text = "branches:\n  - {id: b1, name: One, capacity: 10}\n  - {id: b2, name: Two, capacity: 5}\n"
    directory = write_config(tmp_path / "config", {"branches.yaml": text + f"  - {branch}\n"})
    problems = validate_config(directory)
    assert len(problems) == 1 and expected in problems[0], problems


@pytest.mark.parametrize("name", ["b1", "High-Street_2", "filiale.münchen", "101"])
def test_plain_ids_are_fine(tmp_path: Path, name: str) -> None:
    text = (
        "branches:\n  - {id: b1, name: One, capacity: 10}\n  - {id: b2, name: Two, capacity: 5}\n"
        f"  - {{id: '{name}x', name: X, capacity: 3}}\n"
    )
    assert validate_config(write_config(tmp_path / "config", {"branches.yaml": text})) == []


def test_an_id_written_as_a_block_scalar_keeps_no_newline(tmp_path: Path) -> None:
    text = "branches:\n  - {id: b1, name: One, capacity: 10}\n  - {id: b2, name: Two, capacity: 5}\n"
    text += "  - id: |\n      b3\n    name: Three\n    capacity: 10\n"
    text += '    cameras: [{id: c, roi: [0, 0, 9, 9]}, {id: "c\\n", roi: [0, 0, 9, 9]}]\n'
    problems = validate_config(write_config(tmp_path / "config", {"branches.yaml": text}))
    # one line, the id shown escaped
    assert problems == [
        "branches.yaml: branch 'b3\\n': id must be a plain name of at most 64 letters, digits, '_', '-' or '.' "
        "starting with a letter or digit (it names folders in the data directory), got 'b3\\n'",
        "branches.yaml: branch 'b3\\n': cameras['c\\n'].id must be a plain name of at most 64 letters, digits, "
        "'_', '-' or '.' starting with a letter or digit (it names folders in the data directory), got 'c\\n'",
    ]


@pytest.mark.parametrize(
    ("branch", "expected"),
    [
        # YAML's true/false read as 1/0: `tiles: true` passed validate as one tile, `capacity: true` as 1
        ("{id: b3, name: X, capacity: true}", "capacity must be a number, got true"),
        ("{id: b3, name: X, capacity: 3, cameras: [{id: c, roi: [0, 0, 9, 9], tiles: true}]}", "tiles must be a"),
        ("{id: b3, name: X, capacity: 3, cameras: [{id: c, roi: [0, 0, 9, 9], stride: true}]}", "stride must be a"),
        (
            "{id: b3, name: X, capacity: 3, cameras: [{id: c, roi: [0, 0, 9, 9], detect_margin: false}]}",
            "detect_margin must be a number, got false",
        ),
        ("{id: b3, name: X, capacity: 3, cameras: [{id: c, roi: [0, 0, 9, 9], min_dwell: true}]}", "min_dwell"),
        ("{id: b3, name: X, capacity: 3, cameras: [{id: c, roi: [true, 0, 9, 9]}]}", "roi must be numbers only"),
        ("{id: b3, name: X, capacity: 3, min_staff: false}", "min_staff must be a number"),
        ("{id: b3, name: X, capacity: 3, staff: {min_presence_minutes: true}}", "min_presence_minutes must be a"),
    ],
)
def test_a_boolean_where_a_number_belongs_is_refused(tmp_path: Path, branch: str, expected: str) -> None:
    text = "branches:\n  - {id: b1, name: One, capacity: 10}\n  - {id: b2, name: Two, capacity: 5}\n"
    directory = write_config(tmp_path / "config", {"branches.yaml": text + f"  - {branch}\n"})
    problems = validate_config(directory)
    assert len(problems) == 1 and expected in problems[0], problems


def test_booleans_where_booleans_belong_still_load(tmp_path: Path) -> None:
    text = (
        "branches:\n  - {id: b1, name: One, capacity: 10, staff: {door_crossings: null}}\n"
        "employees:\n  - id: e1\n    name: Ann\n    branch: b1\n"
        "    shifts: {weekly: [], exceptions: [{date: 2026-11-30, off: true}]}\n"
    )
    files = {"branches.yaml": text.split("employees:")[0], "employees.yaml": "employees:" + text.split("employees:")[1]}
    assert validate_config(write_config(tmp_path / "config", files)) == []
