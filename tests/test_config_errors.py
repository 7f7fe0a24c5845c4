"""Malformed configs: every kind of mistake gives one precise, readable problem line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from retail_intel.config import load_config, validate_config
from retail_intel.errors import ConfigError

BASE = {
    "branches.yaml": """
        branches:
          - id: b1
            name: One
            capacity: 10
            timezone: Europe/London
            neighbors: [b2]
            cameras:
              - {id: c1, roi: [0, 0, 100, 100]}
          - id: b2
            name: Two
            capacity: 5
            timezone: Europe/Amsterdam
        """,
    "employees.yaml": """
        employees:
          - id: e1
            branch: b1
            name: Ann
            shifts:
              weekly:
                - {day: mon, start: "09:00", end: "17:00"}
        """,
    "tasks.yaml": """
        tasks:
          - {id: t1, branch: b1, assignee: e1, title: Count baskets}
        """,
    "events.yaml": """
        events:
          - {id: v1, name: Fair, branch: b1, start: 2026-05-01T10:00:00Z, end: 2026-05-01T12:00:00Z}
        """,
    "promotions.yaml": """
        promotions:
          - {id: p1, name: Sale, start: 2026-05-01T00:00:00Z, end: 2026-05-08T00:00:00Z}
        """,
}


def write_config(directory: Path, overrides: dict[str, str | None] | None = None) -> Path:
    """BASE with some files replaced (text) or removed (None)."""
    files: dict[str, str | None] = {**BASE, **(overrides or {})}
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        if text is not None:
            (directory / name).write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return directory


def branches_with(extra_b2: str) -> str:
    """branches.yaml whose second branch has extra (or overriding) lines."""
    return (
        "branches:\n"
        "  - {id: b1, name: One, capacity: 10, cameras: [{id: c1, roi: [0, 0, 100, 100]}]}\n"
        "  - id: b2\n"
        "    name: Two\n" + textwrap.indent(textwrap.dedent(extra_b2).strip("\n"), "    ") + "\n"
    )


def employee_with_shifts(shifts: str) -> str:
    return (
        "employees:\n  - id: e1\n    branch: b1\n    name: Ann\n    shifts:\n"
        + textwrap.indent(textwrap.dedent(shifts).strip("\n"), "      ")
        + "\n"
    )


def entries(key: str, *flows: str) -> str:
    """A file with one flow-style entry per argument: entries("tasks", "id: t1, ...")."""
    return f"{key}:\n" + "".join(f"  - {{{flow}}}\n" for flow in flows)


HOUR = "start: 2026-05-01T10:00:00Z, end: 2026-05-01T11:00:00Z"


def test_base_config_is_valid(tmp_path: Path) -> None:
    assert validate_config(write_config(tmp_path)) == []


CASES: list[tuple[str, dict[str, str | None], str]] = [
    # --- field values (pydantic) ---
    (
        "capacity_not_positive",
        {"branches.yaml": branches_with("capacity: -5")},
        'branches.yaml: branch "b2": capacity must be > 0, got -5',
    ),
    (
        "required_field_missing",
        {"branches.yaml": branches_with("timezone: UTC")},
        'branches.yaml: branch "b2": capacity is required',
    ),
    (
        "misspelt_field",
        {"branches.yaml": branches_with("capacity: 3\ncapcity: 3")},
        'branches.yaml: branch "b2": unknown field "capcity" (did you mean "capacity"?)',
    ),
    (
        # timezone is a branch's field: suggesting it back ("did you mean timezone?") told nothing
        "field_of_another_kind_of_entry",
        {"branches.yaml": branches_with("capacity: 3\ncameras: [{id: c2, roi: [0, 0, 100, 100], timezone: UTC}]")},
        'branches.yaml: branch "b2": cameras["c2"]: unknown field "timezone" here (it belongs to another kind of entry)',
    ),
    (
        "wrong_number_type",
        {"branches.yaml": branches_with("capacity: lots")},
        "branches.yaml: branch \"b2\": capacity must be a whole number, got 'lots'",
    ),
    (
        "unknown_timezone",
        {"branches.yaml": branches_with("capacity: 3\ntimezone: Mars/Base")},
        "branches.yaml: branch \"b2\": timezone must be an IANA timezone such as 'Europe/London', got 'Mars/Base'",
    ),
    (
        "bad_state",
        {"branches.yaml": branches_with("capacity: 3\nstate: open")},
        "branches.yaml: branch \"b2\": state must be one of 'active', 'inactive' or 'closed', got 'open'",
    ),
    (
        "opening_hours_not_a_range",
        {"branches.yaml": branches_with("capacity: 3\nopening_hours: {tue: 9am}")},
        "branches.yaml: branch \"b2\": opening_hours.tue must be HH:MM-HH:MM or closed, got '9am'",
    ),
    (
        "opening_hours_bad_time",
        {"branches.yaml": branches_with("capacity: 3\nopening_hours: {mon: '9-17:00'}")},
        "branches.yaml: branch \"b2\": opening_hours.mon.start must be a time of day HH:MM, got '9'",
    ),
    (
        "opening_hours_empty",  # 18:00-09:00 is a night across midnight; a span of no length is refused
        {"branches.yaml": branches_with("capacity: 3\nopening_hours: {wed: '18:00-18:00'}")},
        'branches.yaml: branch "b2": opening_hours.wed: end must differ from start (an end earlier than the start '
        "runs past midnight; a whole day is 00:00-24:00), got 18:00-18:00",
    ),
    (
        "zone_too_few_points",
        {"branches.yaml": branches_with("capacity: 3\ncameras: [{id: door, zone: [[0, 0], [5, 5]]}]")},
        'branches.yaml: branch "b2": cameras["door"].zone must have at least 3 points [x, y], got 2',
    ),
    (
        "zone_flat",
        {"branches.yaml": branches_with("capacity: 3\ncameras: [{id: door, zone: [[0, 0], [5, 5], [10, 10]]}]")},
        'branches.yaml: branch "b2": cameras["door"].zone must enclose an area (points not all on one line), '
        "got [[0.0, 0.0], [5.0, 5.0], [10.0, 10.0]]",
    ),
    (
        "staff_zone_flat",
        {
            "branches.yaml": branches_with(
                "capacity: 3\ncameras: [{id: door, roi: [0, 0, 50, 50]}]\nstaff: {zones: {door: [[[0, 0], [10, 0]]]}}"
            )
        },
        "branches.yaml: branch \"b2\": staff.zones: camera 'door', polygon #1: a region needs at least 3 points, got 2",
    ),
    (
        "staff_zone_crossing_itself",
        {
            "branches.yaml": branches_with(
                "capacity: 3\ncameras: [{id: door, roi: [0, 0, 50, 50]}]\n"
                "staff: {zones: {door: [[[0, 0], [30, 10], [30, 0], [0, 20]]]}}"
            )
        },
        "branches.yaml: branch \"b2\": staff.zones: camera 'door', polygon #1: must not cross itself: "
        "edge 1 ([0.0, 0.0] to [30.0, 10.0]) crosses edge 3 ([30.0, 0.0] to [0.0, 20.0]); "
        "give the corners in order around the region",
    ),
    (
        "staff_zone_unknown_camera",
        {
            "branches.yaml": branches_with(
                "capacity: 3\ncameras: [{id: door, roi: [0, 0, 50, 50]}]\n"
                "staff: {zones: {cam-typo: [[[0, 0], [10, 0], [10, 10]]]}}"
            )
        },
        "branches.yaml: branch \"b2\": staff.zones names cameras this branch does not have: ['cam-typo'] "
        "(cameras: 'door')",
    ),
    (
        "staff_uniform_saturation_upside_down",
        {"branches.yaml": branches_with("capacity: 3\nstaff: {uniform: {low: [100, 200, 50], high: [120, 100, 255]}}")},
        'branches.yaml: branch "b2": staff.uniform: low S must not be above high S (only hue wraps), '
        "got low [100, 200, 50], high [120, 100, 255]",
    ),
    (
        "camera_id_with_a_decimal_point",
        {"branches.yaml": branches_with("capacity: 3\ncameras: [{id: 1.10, roi: [0, 0, 50, 50]}]")},
        'branches.yaml: branch "b2": cameras#1: id 1.1 is read as a number; write the id in quotes ("...")',
    ),
    (
        "neighbor_with_a_decimal_point",
        {"branches.yaml": branches_with("capacity: 3\nneighbors: [2.0]")},
        'branches.yaml: branch "b2": neighbors: unknown branch "2.0" (known: b1, b2)',
    ),
    (
        "branch_id_with_a_decimal_point",
        {"branches.yaml": branches_with("capacity: 3").replace("id: b2", "id: 2.10")},
        'branches.yaml: entry #2: id 2.1 is read as a number; write the id in quotes ("...")',
    ),
    (
        "roi_wrong_length",
        {"branches.yaml": branches_with("capacity: 3\ncameras: [{id: door, roi: [1, 2, 3]}]")},
        'branches.yaml: branch "b2": cameras["door"].roi must be [x1, y1, x2, y2] (4 numbers), got 3 values',
    ),
    (
        "roi_inverted",
        {"branches.yaml": branches_with("capacity: 3\ncameras: [{id: door, roi: [50, 50, 10, 10]}]")},
        'branches.yaml: branch "b2": cameras["door"].roi must have x1 < x2 and y1 < y2, got [50.0, 50.0, 10.0, 10.0]',
    ),
    (
        "camera_without_region",
        {"branches.yaml": branches_with("capacity: 3\ncameras: [{id: door}]")},
        'branches.yaml: branch "b2": cameras["door"] needs a region: roi [x1, y1, x2, y2] or zone [[x, y], ...]',
    ),
    (
        "camera_roi_and_zone",
        {
            "branches.yaml": branches_with(
                "capacity: 3\ncameras: [{id: d, roi: [0, 0, 1, 1], zone: [[0, 0], [1, 0], [1, 1]]}]"
            )
        },
        'branches.yaml: branch "b2": cameras["d"]: give either roi (x1,y1,x2,y2) or zone (polygon), not both',
    ),
    (
        # passed validate and was refused only when process ran (pipeline/run.py, full_frame_detector)
        "camera_int8_on_torch",
        {
            "branches.yaml": branches_with(
                "capacity: 3\ncameras: [{id: d, roi: [0, 0, 1, 1], precision: int8, backend: torch}]"
            )
        },
        'branches.yaml: branch "b2": cameras["d"] has precision int8 and backend torch: precision int8 runs on'
        " the OpenVINO backend; use precision auto or f32, or backend auto or openvino",
    ),
    (
        "detection_setting_out_of_range",
        {"branches.yaml": branches_with("capacity: 3\ncameras: [{id: d, roi: [0, 0, 1, 1], fps: 0}]")},
        'branches.yaml: branch "b2": cameras["d"].fps must be > 0, got 0',
    ),
    (
        "entry_without_id",
        {"branches.yaml": "branches:\n  - {id: b1, name: One, capacity: 1}\n  - {name: Two, capacity: 1}\n"},
        "branches.yaml: entry #2: id is required",
    ),
    (
        "entry_not_a_mapping",
        {"tasks.yaml": "tasks:\n  - just a sentence\n"},
        "tasks.yaml: entry #1: expected a mapping of fields (id: ..., ...), got the text 'just a sentence'",
    ),
    (
        "weekday_unknown",
        {"employees.yaml": employee_with_shifts('weekly: [{day: funday, start: "09:00", end: "10:00"}]')},
        "employees.yaml: employee \"e1\": shifts.weekly#1.day must be one of 'mon', 'tue', 'wed', 'thu', 'fri', "
        "'sat' or 'sun', got 'funday'",
    ),
    (
        "shift_time_invalid",
        {"employees.yaml": employee_with_shifts('weekly: [{day: mon, start: "09:00", end: "25:00"}]')},
        'employees.yaml: employee "e1": shifts.weekly#1.end must be a time of day HH:MM from 00:00 to 23:59, '
        "or 24:00 for midnight, got '25:00'",
    ),
    (
        "shift_end_equals_start",  # 17:00-09:00 is a night shift; a shift of no length is refused
        {"employees.yaml": employee_with_shifts('weekly: [{day: mon, start: "17:00", end: "17:00"}]')},
        'employees.yaml: employee "e1": shifts.weekly#1: end must differ from start (an end earlier than the start '
        "runs past midnight; a whole day is 00:00-24:00), got 17:00-17:00",
    ),
    (
        "exception_off_and_hours",
        {"employees.yaml": employee_with_shifts('exceptions: [{date: 2026-05-01, off: true, start: "09:00"}]')},
        'employees.yaml: employee "e1": shifts.exceptions#1: an exception is either off: true or has start/end, '
        "not both",
    ),
    (
        "impossible_date",
        {"employees.yaml": employee_with_shifts("exceptions: [{date: 2026-13-01, off: true}]")},
        "employees.yaml: employee \"e1\": shifts.exceptions#1.date must be a date such as 2026-03-01, got '2026-13-01'",
    ),
    (
        "task_bad_status",
        {"tasks.yaml": "tasks:\n  - {id: t1, branch: b1, title: X, status: started}\n"},
        "tasks.yaml: task \"t1\": status must be one of 'open', 'in_progress', 'done' or 'cancelled', got 'started'",
    ),
    (
        "time_without_timezone",
        {"tasks.yaml": "tasks:\n  - {id: t1, branch: b1, title: X, due: 2026-05-01T10:00:00}\n"},
        'tasks.yaml: task "t1": due must carry a timezone (ISO 8601 such as 2026-02-08T10:00:00+00:00), '
        "got 2026-05-01T10:00:00",
    ),
    (
        "event_end_before_start",
        {
            "events.yaml": entries(
                "events", "id: v1, name: F, branch: b1, start: 2026-05-02T10:00:00Z, end: 2026-05-01T10:00:00Z"
            )
        },
        'events.yaml: event "v1": end must be after start, got start 2026-05-02T10:00:00+00:00 '
        "end 2026-05-01T10:00:00+00:00",
    ),
    (
        "event_without_place",
        {"events.yaml": "events:\n  - {id: v1, name: F, start: 2026-05-01T10:00:00Z, end: 2026-05-01T11:00:00Z}\n"},
        'events.yaml: event "v1": needs a branch or a location',
    ),
    (
        "event_until_without_repeat",
        {"events.yaml": entries("events", "id: v1, name: F, branch: b1, " + HOUR + ", until: 2026-06-01")},
        'events.yaml: event "v1": until only makes sense with repeat daily, weekly or monthly',
    ),
    (
        "event_bad_repeat",
        {"events.yaml": entries("events", "id: v1, name: F, branch: b1, " + HOUR + ", repeat: yearly")},
        "events.yaml: event \"v1\": repeat must be one of 'none', 'daily', 'weekly' or 'monthly', got 'yearly'",
    ),
    (
        "promotion_end_before_start",
        {
            "promotions.yaml": entries(
                "promotions", "id: p1, name: S, start: 2026-05-08T00:00:00Z, end: 2026-05-01T00:00:00Z"
            )
        },
        'promotions.yaml: promotion "p1": end must be after start, got start 2026-05-08T00:00:00+00:00 '
        "end 2026-05-01T00:00:00+00:00",
    ),
    (
        "promotion_branches_typo",
        {
            "promotions.yaml": entries(
                "promotions", "id: p1, name: S, branches: al, start: 2026-05-01T00:00:00Z, end: 2026-05-02T00:00:00Z"
            )
        },
        "promotions.yaml: promotion \"p1\": branches must be a list of branch ids or 'all', got 'al'",
    ),
    # --- cross-entry and cross-file checks ---
    (
        "duplicate_branch_id",
        {
            "branches.yaml": entries(
                "branches",
                "id: b1, name: One, capacity: 1",
                "id: b1, name: Two, capacity: 1",
                "id: b2, name: Three, capacity: 1",
            )
        },
        'branches.yaml: duplicate branch id "b1" (2 entries use it)',
    ),
    (
        "duplicate_employee_id",
        {"employees.yaml": "employees:\n  - {id: e1, branch: b1, name: A}\n  - {id: e1, branch: b2, name: B}\n"},
        'employees.yaml: duplicate employee id "e1" (2 entries use it)',
    ),
    (
        "duplicate_camera_id",
        {
            "branches.yaml": branches_with(
                "capacity: 3\ncameras: [{id: c, roi: [0, 0, 1, 1]}, {id: c, roi: [0, 0, 2, 2]}]"
            )
        },
        'branches.yaml: branch "b2": duplicate camera id "c" (2 cameras use it)',
    ),
    (
        "unknown_neighbor",
        {"branches.yaml": branches_with("capacity: 3\nneighbors: [b9]")},
        'branches.yaml: branch "b2": neighbors: unknown branch "b9" (known: b1, b2)',
    ),
    (
        "self_neighbor",
        {"branches.yaml": branches_with("capacity: 3\nneighbors: [b2]")},
        'branches.yaml: branch "b2": neighbors: a branch cannot be its own neighbor',
    ),
    (
        "employee_unknown_branch",
        {"employees.yaml": "employees:\n  - {id: e1, branch: b7, name: A}\n"},
        'employees.yaml: employee "e1": branch: unknown branch "b7" (known: b1, b2)',
    ),
    (
        "overlapping_weekly_shifts",
        {
            "employees.yaml": employee_with_shifts(
                'weekly:\n  - {day: mon, start: "09:00", end: "13:00"}\n  - {day: mon, start: "12:00", end: "17:00"}'
            )
        },
        'employees.yaml: employee "e1": shifts.weekly: mon 09:00-13:00 overlaps mon 12:00-17:00',
    ),
    (
        "overlapping_exception_hours",
        {
            "employees.yaml": employee_with_shifts(
                'exceptions:\n  - {date: 2026-05-01, start: "09:00", end: "13:00"}\n'
                '  - {date: 2026-05-01, start: "10:00", end: "11:00"}'
            )
        },
        'employees.yaml: employee "e1": shifts.exceptions: 2026-05-01 09:00-13:00 overlaps 2026-05-01 10:00-11:00',
    ),
    (
        "exception_off_and_hours_same_date",
        {
            "employees.yaml": employee_with_shifts(
                'exceptions:\n  - {date: 2026-05-01, off: true}\n  - {date: 2026-05-01, start: "10:00", end: "11:00"}'
            )
        },
        'employees.yaml: employee "e1": shifts.exceptions: 2026-05-01 is marked off: true and also given hours',
    ),
    (
        "task_unknown_assignee",
        {"tasks.yaml": "tasks:\n  - {id: t1, branch: b1, assignee: e99, title: X}\n"},
        'tasks.yaml: task "t1": assignee: unknown employee "e99" (known: e1)',
    ),
    (
        "task_unknown_branch",
        {"tasks.yaml": "tasks:\n  - {id: t1, branch: b5, title: X}\n"},
        'tasks.yaml: task "t1": branch: unknown branch "b5" (known: b1, b2)',
    ),
    (
        "event_unknown_branch",
        {"events.yaml": entries("events", "id: v1, name: F, branch: bx, " + HOUR)},
        'events.yaml: event "v1": branch: unknown branch "bx" (known: b1, b2)',
    ),
    (
        "event_until_before_start",
        {
            "events.yaml": entries(
                "events", "id: v1, name: F, branch: b1, " + HOUR + ", repeat: daily, until: 2026-04-01"
            )
        },
        'events.yaml: event "v1": until 2026-04-01 is before the first occurrence on 2026-05-01',
    ),
    (
        "promotion_unknown_branch",
        {
            "promotions.yaml": entries(
                "promotions",
                "id: p1, name: S, branches: [b1, bz], start: 2026-05-01T00:00:00Z, end: 2026-05-02T00:00:00Z",
            )
        },
        'promotions.yaml: promotion "p1": branches: unknown branch "bz" (known: b1, b2)',
    ),
    # --- files and YAML ---
    (
        "branches_file_missing",
        {"branches.yaml": None},
        "branches.yaml: missing; {dir} must contain branches.yaml with a top-level 'branches:' list",
    ),
    (
        "branches_file_empty",
        {"branches.yaml": ""},
        "branches.yaml: is empty; expected a top-level 'branches:' key holding a list of branch entries",
    ),
    (
        "no_branches_listed",
        {"branches.yaml": "branches: []\n"},
        "branches.yaml: 'branches:' is empty; define at least one branch",
    ),
    (
        "yaml_syntax_error",
        {"tasks.yaml": "tasks:\n  - id: t1\n    title: [unclosed\n"},
        "tasks.yaml: YAML syntax error at line 4, column 1: expected ',' or ']', but got '<stream end>' "
        "(while parsing a flow sequence on line 3)",
    ),
    (
        "yaml_duplicate_key",
        {"tasks.yaml": "tasks:\n  - id: t1\n    branch: b1\n    title: X\n    title: Y\n"},
        "tasks.yaml: YAML syntax error at line 5, column 5: key 'title' is given twice (first on line 4) "
        "(while reading a mapping on line 2)",
    ),
    (
        "top_level_is_a_list",
        {"tasks.yaml": "- {id: t1, branch: b1, title: X}\n"},
        "tasks.yaml: expected a top-level 'tasks:' key holding a list of task entries, got a list",
    ),
    (
        "top_level_key_misspelt",
        {"promotions.yaml": "promos:\n  - {id: p1}\n"},
        "promotions.yaml: expected a top-level 'promotions:' key holding a list of promotion entries, "
        "found top-level keys 'promos'",
    ),
    (
        "top_level_extra_key",
        {"events.yaml": "events: []\nnotes: hello\n"},
        "events.yaml: unknown top-level key 'notes'; only 'events:' is allowed",
    ),
    (
        "list_key_holds_a_mapping",
        {"events.yaml": "events:\n  id: v1\n"},
        "events.yaml: 'events:' must hold a list (each entry starting with '- id: ...'), got a mapping",
    ),
]


@pytest.mark.parametrize(("overrides", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_malformed_config_reports_precise_problem(
    tmp_path: Path, overrides: dict[str, str | None], expected: str
) -> None:
    directory = write_config(tmp_path / "config", overrides)
    problems = validate_config(directory)
    assert expected.format(dir=directory) in problems
    with pytest.raises(ConfigError) as caught:
        load_config(directory)
    assert caught.value.problems == problems


@pytest.mark.parametrize(
    "settings", ["precision: int8", "precision: int8, backend: openvino", "backend: torch, precision: f32"]
)
def test_int8_is_refused_only_with_backend_torch(tmp_path: Path, settings: str) -> None:
    camera = f"capacity: 3\ncameras: [{{id: d, roi: [0, 0, 1, 1], {settings}}}]"
    assert validate_config(write_config(tmp_path, {"branches.yaml": branches_with(camera)})) == []


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    directory = write_config(
        tmp_path,
        {
            "branches.yaml": branches_with("capacity: -5\nneighbors: [b9]"),
            "employees.yaml": "employees:\n  - {id: e1, branch: b7, name: A}\n",
            "tasks.yaml": "tasks:\n  - {id: t1, branch: b1, assignee: e99, title: X, priority: huge}\n",
        },
    )
    problems = validate_config(directory)
    expected = [
        'branches.yaml: branch "b2": capacity must be > 0, got -5',
        'branches.yaml: branch "b2": neighbors: unknown branch "b9" (known: b1, b2)',
        'employees.yaml: employee "e1": branch: unknown branch "b7" (known: b1, b2)',
        "tasks.yaml: task \"t1\": priority must be one of 'low', 'medium', 'high' or 'urgent', got 'huge'",
        'tasks.yaml: task "t1": assignee: unknown employee "e99" (known: e1)',
    ]
    assert problems == expected  # all of them, grouped file by file
    with pytest.raises(ConfigError, match="5 problems in config directory") as caught:
        load_config(directory)
    assert caught.value.problems == expected


def test_a_field_error_hides_none_of_the_checks_across_fields(tmp_path: Path) -> None:
    # a misspelt key used to hide the duplicate camera, the zone pairing and the overlapping shifts
    cameras = """
        capcity: 4
        cameras:
          - {id: door, roi: [0, 0, 10, 10]}
          - id: door
            roi: [0, 0, 10, 10]
            zones:
              - {id: till, kind: service, polygon: [[0, 0], [5, 0], [5, 5]]}
              - {id: odd, kind: aisle, service: till, polygon: [[0, 0], [5, 0], [5, 5]]}
              - {id: lonely, kind: service, polygon: [[0, 0], [5, 0], [5, 5]]}
          - 7
          - {roi: [0, 0, 10, 10]}
        """
    shifts = """
        weekly:
          - {day: mon, start: "09:00", end: "13:00"}
          - {day: mon, start: "12:00", end: "17:00"}
          - {day: mon, start: "25:00", end: "26:00"}
          - not a shift
        exceptions:
          - {date: 2026-05-04, off: true}
          - {date: 2026-05-04, start: "10:00", end: "11:00"}
        """
    employees = employee_with_shifts(shifts).replace("    name: Ann\n", "    name: Ann\n    rol: cashier\n")
    problems = validate_config(
        write_config(tmp_path, {"branches.yaml": branches_with(cameras), "employees.yaml": employees})
    )
    for expected in [
        'branches.yaml: branch "b2": capacity is required',
        'branches.yaml: branch "b2": duplicate camera id "door" (2 cameras use it)',
        'branches.yaml: branch "b2": cameras["door"].zones["lonely"]: a service zone must be paired with a queue',
        'employees.yaml: employee "e1": shifts.weekly: mon 09:00-13:00 overlaps mon 12:00-17:00',
        'employees.yaml: employee "e1": shifts.exceptions: 2026-05-04 is marked off: true and also given hours',
    ]:
        assert any(p.startswith(expected) for p in problems), (expected, problems)
    # the zone of invalid kind may be the till's queue: "till" is not reported unpaired
    assert not any('zones["till"]' in p for p in problems), problems


def test_every_problem_of_one_event_is_reported_at_once(tmp_path: Path) -> None:
    # an end before the start used to hide the missing place, which then hid the until without repeat
    event = "id: v1, name: F, start: 2026-05-02T10:00:00Z, end: 2026-05-01T10:00:00Z, until: 2026-06-01"
    problems = validate_config(write_config(tmp_path, {"events.yaml": entries("events", event)}))
    assert problems == [
        'events.yaml: event "v1": end must be after start, got start 2026-05-02T10:00:00+00:00 '
        "end 2026-05-01T10:00:00+00:00",
        'events.yaml: event "v1": needs a branch or a location',
        'events.yaml: event "v1": until only makes sense with repeat daily, weekly or monthly',
    ]


def test_a_field_error_hides_no_staff_zone_on_an_unknown_camera(tmp_path: Path) -> None:
    # a misspelt key used to hide the staff zone drawn for a camera the branch does not have
    branch = (
        "capcity: 3\ncameras: [{id: door, roi: [0, 0, 50, 50]}]\n"
        "staff: {zones: {cam-typo: [[[0, 0], [10, 0], [10, 10]]]}}"
    )
    problems = validate_config(write_config(tmp_path, {"branches.yaml": branches_with(branch)}))
    unknown = (
        "branches.yaml: branch \"b2\": staff.zones names cameras this branch does not have: ['cam-typo'] "
        "(cameras: 'door')"
    )
    assert unknown in problems and problems.count(unknown) == 1, problems
    assert 'branches.yaml: branch "b2": capacity is required' in problems
    # a camera without a readable id may be the one named: nothing is said until it has one
    unreadable = branches_with(
        "capcity: 3\ncameras: [{roi: [0, 0, 50, 50]}]\nstaff: {zones: {door: [[[0, 0], [10, 0], [10, 10]]]}}"
    )
    problems = validate_config(write_config(tmp_path, {"branches.yaml": unreadable}))
    assert not any("staff.zones names" in p for p in problems), problems


@pytest.mark.parametrize(
    "branches",
    ["branch:\n  - {id: b1, name: One, capacity: 10}\n", "branches: [\n", "branches: b1\n", "- {id: b1}\n"],
)
def test_an_unreadable_branches_file_is_one_problem_not_one_per_reference(tmp_path: Path, branches: str) -> None:
    # a misspelt top-level key made every employee, task and event that names a branch "unknown branch ...
    # (known: none defined)", though the branch is written in the file
    problems = validate_config(write_config(tmp_path, {"branches.yaml": branches}))
    assert len(problems) == 1 and problems[0].startswith("branches.yaml: "), problems


def test_an_unreadable_employees_file_makes_no_assignee_unknown(tmp_path: Path) -> None:
    problems = validate_config(write_config(tmp_path, {"employees.yaml": "employee:\n  - {id: e1, branch: b1}\n"}))
    assert len(problems) == 1 and problems[0].startswith("employees.yaml: "), problems
    # a file that is simply absent holds no employees: the assignee is unknown
    (tmp_path / "employees.yaml").unlink()
    assert validate_config(tmp_path) == ['tasks.yaml: task "t1": assignee: unknown employee "e1" (known: none defined)']


def test_single_problem_is_the_error_message(tmp_path: Path) -> None:
    directory = write_config(tmp_path, {"branches.yaml": branches_with("capacity: 0")})
    with pytest.raises(ConfigError) as caught:
        load_config(directory)
    assert str(caught.value) == 'branches.yaml: branch "b2": capacity must be > 0, got 0'


def test_invalid_entry_does_not_cascade_into_unknown_reference(tmp_path: Path) -> None:
    # b2 is broken, but it is written in the file, so e2 at b2 is not "unknown branch".
    directory = write_config(
        tmp_path,
        {
            "branches.yaml": branches_with("capacity: -1"),
            "employees.yaml": "employees:\n  - {id: e2, branch: b2, name: B}\n",
            "tasks.yaml": None,
        },
    )
    assert validate_config(directory) == ['branches.yaml: branch "b2": capacity must be > 0, got -1']


def test_missing_directory_says_how_to_point_at_one(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(ConfigError) as caught:
        load_config(missing)
    message = str(caught.value)
    # the parameter a Python caller passes; the CLI words it as its flag or variable
    assert (
        message == f"config directory {missing} does not exist; point config_dir at a directory holding branches.yaml"
    )
    assert caught.value.worded_for({"config_dir": "--config DIR"}) == (
        f"config directory {missing} does not exist; point --config DIR at a directory holding branches.yaml"
    )


def test_config_path_that_is_a_file(tmp_path: Path) -> None:
    file = tmp_path / "branches.yaml"
    file.write_text("branches: []\n")
    assert validate_config(file) == [f"config path {file} is a file, expected a directory holding branches.yaml"]


def test_ids_with_leading_zeros_keep_their_text(tmp_path: Path) -> None:
    # YAML 1.1 reads 0101 as the octal 65 and 007 as 7: the ids would silently change
    directory = write_config(
        tmp_path / "config",
        {
            "branches.yaml": "branches:\n  - {id: 0101, name: One, capacity: 010}\n",
            "employees.yaml": "employees:\n  - {id: 007, branch: 0101, name: Bond}\n",
            "tasks.yaml": None,
            "events.yaml": None,
        },
    )
    config = load_config(directory)
    assert [b.id for b in config.branches] == ["0101"]
    assert config.branches[0].capacity == 10  # a number field still reads it as ten
    assert [(e.id, e.branch) for e in config.employees] == [("007", "0101")]


@pytest.mark.parametrize(
    "queue",
    [
        "{kind: queue, service: till, polygon: [[0, 0], [5, 0], [5, 5]]}",  # no id
        "{id: q, kind: queue, service: [till], polygon: [[0, 0], [5, 0], [5, 5]]}",  # service not text
    ],
)
def test_a_queue_that_cannot_be_read_does_not_make_its_till_unpaired(tmp_path: Path, queue: str) -> None:
    # the unreadable zone may be the till's queue: only its own field error is reported
    cameras = f"""
        capcity: 4
        cameras:
          - id: door
            roi: [0, 0, 10, 10]
            zones:
              - {queue}
              - {{id: till, kind: service, polygon: [[0, 0], [5, 0], [5, 5]]}}
        """
    problems = validate_config(write_config(tmp_path, {"branches.yaml": branches_with(cameras)}))
    assert any("capacity is required" in p for p in problems), problems
    assert not any("must be paired with a queue" in p for p in problems), problems


def test_ids_with_a_newline_are_shown_escaped_keeping_each_problem_one_line(tmp_path: Path) -> None:
    cameras = """
        capcity: 4
        cameras:
          - {id: "door\\n", roi: [0, 0, 10, 10]}
          - id: "door\\n"
            roi: [0, 0, 10, 10]
            zones:
              - {id: "z\\n", polygon: [[0, 0], [5, 0], [5, 5]]}
              - {id: "z\\n", polygon: [[0, 0], [5, 0], [5, 5]]}
        """
    problems = validate_config(write_config(tmp_path, {"branches.yaml": branches_with(cameras)}))
    assert any("duplicate camera id 'door\\n'" in p for p in problems), problems
    assert any("duplicate zone id 'z\\n'" in p for p in problems), problems
    assert all("\n" not in p for p in problems), problems


@pytest.mark.parametrize(
    ("file", "flow", "entry"),
    [
        ("promotions.yaml", "id: p1, name: S, branches: , " + HOUR, 'promotion "p1"'),
        ("holidays.yaml", "date: 2026-12-25, name: X, branches: ", "entry #1"),
    ],
)
def test_branches_left_empty_is_one_problem(tmp_path: Path, file: str, flow: str, entry: str) -> None:
    # the key written with nothing after it: one line saying what belongs there, not one per
    # alternative of the type ("must be a list", "must be one of 'all'")
    directory = write_config(tmp_path / "config", {file: entries(file.removesuffix(".yaml"), flow)})
    assert validate_config(directory) == [
        f"{file}: {entry}: branches must be a list of branch ids or 'all', got nothing (empty)"
    ]
