"""Zones in branches.yaml: valid ones load, each mistake is one line naming file, camera and zone."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from retail_intel.config import load_config, validate_config
from retail_intel.errors import InputError
from retail_intel.pipeline.zone_step import check_zones_inside_frame, zone_specs

CAMERA_ZONES = """
branches:
  - id: b1
    name: One
    capacity: 10
    cameras:
      - id: c1
        roi: [0, 0, 700, 500]
        zones:
{zones}
      - id: c2
        roi: [0, 0, 100, 100]
        zones:
          - {{id: far_till, kind: service, polygon: [[0, 0], [50, 0], [50, 50]]}}
          - {{id: far_queue, kind: queue, service: far_till, polygon: [[60, 60], [90, 60], [90, 90]]}}
  - id: b2
    name: Two
    capacity: 5
    cameras:
      - id: c1
        roi: [0, 0, 100, 100]
        zones:
          - {{id: shelf, polygon: [[0, 0], [50, 0], [50, 50]]}}
"""

GOOD = """\
          - {id: shelf, label: Shelf, polygon: [[10, 10], [200, 10], [200, 100], [10, 100]]}
          - {id: till, kind: service, polygon: [[300, 10], [400, 10], [400, 100]]}
          - {id: queue, kind: queue, service: till, min_dwell: 3, polygon: [[300, 200], [400, 200], [400, 300]]}"""


def _write(tmp_path: Path, zones: str) -> Path:
    (tmp_path / "branches.yaml").write_text(textwrap.dedent(CAMERA_ZONES.format(zones=zones)), encoding="utf-8")
    return tmp_path


def test_good_zones_load_and_become_specs(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, GOOD))
    camera = config.camera("b1", "c1")
    assert [z.id for z in camera.zones] == ["shelf", "till", "queue"]
    assert camera.zones[0].min_dwell == 5.0  # the default
    assert camera.zones[0].title == "Shelf" and camera.zones[1].title == "till"
    specs = zone_specs(camera.zones)
    assert [(s.id, s.kind, s.min_dwell_s, s.service) for s in specs] == [
        ("shelf", "area", 5.0, None),
        ("till", "service", 5.0, None),
        ("queue", "queue", 3.0, "till"),
    ]
    # the same zone id on another branch is fine: ids are unique per branch
    assert config.camera("b2", "c1").zones[0].id == "shelf"


@pytest.mark.parametrize(
    ("zones", "expected"),
    [
        (
            GOOD + "\n          - {id: shelf, polygon: [[0, 0], [5, 0], [5, 5]]}",
            'branches.yaml: branch "b1": duplicate zone id "shelf" (2 zones use it, on camera(s) c1)',
        ),
        (
            "          - {id: flat, polygon: [[0, 0], [10, 10], [20, 20]]}",
            'branches.yaml: branch "b1": cameras["c1"].zones["flat"].polygon must enclose an area',
        ),
        # corners out of order: a rectangle drawn corner to opposite corner was called "all on one
        # line", and a lopsided one (two triangles of unequal size) was accepted as a zone of two triangles
        (
            "          - {id: bow, polygon: [[0, 0], [10, 10], [10, 0], [0, 10]]}",
            'branches.yaml: branch "b1": cameras["c1"].zones["bow"].polygon must not cross itself: '
            "edge 1 ([0.0, 0.0] to [10.0, 10.0]) crosses edge 3 ([10.0, 0.0] to [0.0, 10.0])",
        ),
        (
            "          - {id: lopsided, polygon: [[0, 0], [10, 10], [10, 0], [0, 20]]}",
            'branches.yaml: branch "b1": cameras["c1"].zones["lopsided"].polygon must not cross itself',
        ),
        (
            "          - {id: tiny, polygon: [[0, 0], [10, 10]]}",
            'branches.yaml: branch "b1": cameras["c1"].zones["tiny"].polygon must have at least 3 points',
        ),
        (
            "          - {id: odd, kind: aisle, polygon: [[0, 0], [10, 0], [10, 10]]}",
            'branches.yaml: branch "b1": cameras["c1"].zones["odd"].kind must be one of',
        ),
        (
            "          - {id: lonely_till, kind: service, polygon: [[0, 0], [10, 0], [10, 10]]}",
            'branches.yaml: branch "b1": cameras["c1"].zones["lonely_till"]: a service zone must be paired with a queue',
        ),
        (
            "          - {id: q, kind: queue, service: far_till, polygon: [[0, 0], [10, 0], [10, 10]]}",
            'branches.yaml: branch "b1": cameras["c1"].zones["q"].service: "far_till" is on camera "c2"',
        ),
        (
            "          - {id: q, kind: queue, service: nowhere, polygon: [[0, 0], [10, 0], [10, 10]]}",
            'branches.yaml: branch "b1": cameras["c1"].zones["q"].service: unknown zone "nowhere"',
        ),
        (
            GOOD + "\n          - {id: q2, kind: queue, service: shelf, polygon: [[0, 0], [10, 0], [10, 10]]}",
            'branches.yaml: branch "b1": cameras["c1"].zones["q2"].service: "shelf" must be a zone of kind service',
        ),
        (
            "          - {id: a, kind: area, service: x, polygon: [[0, 0], [10, 0], [10, 10]]}",
            'branches.yaml: branch "b1": cameras["c1"].zones["a"]: service: only a queue zone names a service zone',
        ),
        (
            "          - {id: a, polygon: [[0, 0], [10, 0], [10, 10]], min_dwell: -1}",
            'branches.yaml: branch "b1": cameras["c1"].zones["a"].min_dwell must be >= 0, got -1',
        ),
        (
            "          - {id: a, polygon: [[0, 0], [10, 0], [10, 10]], min_dwell: 100000}",
            'branches.yaml: branch "b1": cameras["c1"].zones["a"].min_dwell must be <= 86400, got 100000',
        ),
        (
            "          - {id: a, polygon: [[0, 0], [10, 0], [10, 10]], min_dwell: 5 minutes}",
            'branches.yaml: branch "b1": cameras["c1"].zones["a"].min_dwell must be a duration such as 2s',
        ),
    ],
)
def test_each_mistake_is_one_line_naming_file_camera_and_zone(tmp_path: Path, zones: str, expected: str) -> None:
    problems = validate_config(_write(tmp_path, zones))
    assert len(problems) == 1, problems
    assert problems[0].startswith(expected), problems[0]


def test_zone_min_dwell_takes_a_duration_like_the_cameras(tmp_path: Path) -> None:
    zones = """\
          - {id: shelf, min_dwell: 1.5m, polygon: [[10, 10], [200, 10], [200, 100]]}
          - {id: door, min_dwell: 500ms, polygon: [[300, 10], [400, 10], [400, 100]]}
          - {id: aisle, min_dwell: 7, polygon: [[300, 200], [400, 200], [400, 300]]}"""
    camera = load_config(_write(tmp_path, zones)).camera("b1", "c1")
    assert [z.min_dwell for z in camera.zones] == [90.0, 0.5, 7.0]


def test_zone_outside_the_frame_is_refused_at_process_time(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, GOOD))
    specs = zone_specs(config.camera("b1", "c1").zones)
    check_zones_inside_frame(specs, 768, 576, "c1")  # fits
    with pytest.raises(InputError, match=r'camera "c1": zone "shelf" .* reaches outside the 150x576 frame'):
        check_zones_inside_frame(specs, 150, 576, "c1")
