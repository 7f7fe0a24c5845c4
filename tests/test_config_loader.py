"""Loading a config directory: the sample config, Config look-ups, optional files, YAML gotchas."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from retail_intel.config import Config, load_config, validate_config
from retail_intel.config.models import Repeat
from retail_intel.errors import ConfigError

SAMPLE = Path(__file__).resolve().parents[1] / "config"

MINIMAL_BRANCHES = """\
branches:
  - id: b1
    name: One
    capacity: 10
    cameras:
      - {id: front, roi: [0, 0, 10, 10]}
      - {id: back, zone: [[0, 0], [5, 0], [5, 5]]}
  - id: b2
    name: Two
    capacity: 5
"""


@pytest.fixture
def minimal(tmp_path: Path) -> Config:
    (tmp_path / "branches.yaml").write_text(MINIMAL_BRANCHES)
    return load_config(tmp_path)


def test_sample_config_is_valid_and_realistic() -> None:
    assert validate_config(SAMPLE) == []
    config = load_config(SAMPLE)
    assert config.source_dir == SAMPLE
    assert [b.id for b in config.branches] == ["b1", "b2", "b3"]
    high_street = config.branch("b1")
    assert high_street.name == "High Street" and high_street.timezone == "Europe/London"
    vtest = config.camera("b1", "vtest")
    assert vtest.roi is not None and vtest.fps == 7 and vtest.imgsz == 1280
    assert len({b.timezone for b in config.branches}) > 1
    for branch in config.branches:
        assert branch.cameras, branch.id
        assert len(config.employees_of(branch.id)) >= 2, branch.id
    assert any(e.shifts.exceptions for e in config.employees)
    assert {e.repeat for e in config.events} >= {Repeat.none, Repeat.daily, Repeat.weekly, Repeat.monthly}
    assert any(p.branches == "all" for p in config.promotions)
    assert any(p.branches != "all" for p in config.promotions)


def test_optional_files_may_be_missing(minimal: Config) -> None:
    assert (minimal.employees, minimal.tasks, minimal.events, minimal.promotions) == ((), (), (), ())
    assert isinstance(minimal.branches, tuple) and len(minimal.branches) == 2


@pytest.mark.parametrize("lookup", ["employees_of", "tasks_of", "events_for", "promotions_for", "holidays_for"])
def test_a_lookup_by_an_unknown_branch_id_names_the_known_ones(minimal: Config, lookup: str) -> None:
    # a mistyped id returned () and read as a branch without staff, tasks or events
    assert getattr(minimal, lookup)("b1") == ()
    with pytest.raises(ConfigError, match=r'unknown branch "b9": .*branches.yaml defines b1, b2'):
        getattr(minimal, lookup)("b9")


def test_empty_optional_file_or_null_list_means_no_entries(tmp_path: Path) -> None:
    (tmp_path / "branches.yaml").write_text(MINIMAL_BRANCHES)
    (tmp_path / "tasks.yaml").write_text("")
    (tmp_path / "events.yaml").write_text("events:\n")
    (tmp_path / "promotions.yaml").write_text("# nothing yet\npromotions: []\n")
    config = load_config(tmp_path)
    assert (config.tasks, config.events, config.promotions) == ((), (), ())


def test_branch_lookup_names_the_unknown_id_and_the_known_ones(minimal: Config) -> None:
    assert minimal.branch("b2").name == "Two"
    with pytest.raises(ConfigError, match=r'unknown branch "b9": .*branches.yaml defines b1, b2'):
        minimal.branch("b9")


def test_camera_lookup(minimal: Config) -> None:
    assert minimal.camera("b1").id == "front"  # None picks the first camera
    assert minimal.camera("b1", "back").zone is not None
    with pytest.raises(ConfigError, match='branch "b1" has no camera "side"; its cameras are back, front'):
        minimal.camera("b1", "side")
    with pytest.raises(ConfigError, match='branch "b2" has no cameras'):
        minimal.camera("b2")
    with pytest.raises(ConfigError, match='unknown branch "b3"'):
        minimal.camera("b3")


def test_per_branch_selections() -> None:
    config = load_config(SAMPLE)
    for branch in config.branches:
        assert all(e.branch == branch.id for e in config.employees_of(branch.id))
        assert all(e.branch == branch.id for e in config.events_for(branch.id))
        assert all(p.branches == "all" or branch.id in p.branches for p in config.promotions_for(branch.id))
    assert sum(len(config.employees_of(b.id)) for b in config.branches) == len(config.employees)
    assert config.timezones["b3"].key == "Europe/Amsterdam"


def test_yaml_times_and_off_key_read_as_written(tmp_path: Path) -> None:
    # Unquoted 10:00 is base-60 600 and `off` is False in plain YAML 1.1.
    (tmp_path / "branches.yaml").write_text(MINIMAL_BRANCHES)
    (tmp_path / "employees.yaml").write_text(
        "employees:\n"
        "  - id: 7\n"
        "    branch: b1\n"
        "    name: Seven\n"
        "    shifts:\n"
        "      weekly: [{day: mon, start: 10:00, end: 18:30}]\n"
        "      exceptions: [{date: 2026-06-01, off: true}]\n"
    )
    (employee,) = load_config(tmp_path).employees
    assert employee.id == "7"
    assert (employee.shifts.weekly[0].start, employee.shifts.weekly[0].end) == ("10:00", "18:30")
    assert employee.shifts.exceptions[0].off is True
    assert employee.shifts.exceptions[0].date == dt.date(2026, 6, 1)


def test_opening_hours_forms(tmp_path: Path) -> None:
    (tmp_path / "branches.yaml").write_text(
        "branches:\n"
        "  - id: b1\n"
        "    name: One\n"
        "    capacity: 3\n"
        "    opening_hours:\n"
        "      mon: 09:00-17:30\n"
        "      tue: {start: '10:00', end: '16:00'}\n"
        "      wed: closed\n"
        "      thu:\n"
        "      fri: ''\n"  # empty text is an empty day too, as docs/config.md says
    )
    hours = load_config(tmp_path).branch("b1").opening_hours
    assert set(hours) == {"mon", "tue"}
    assert (hours["mon"].start, hours["mon"].end, hours["tue"].start) == ("09:00", "17:30", "10:00")


def test_not_utf8_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "branches.yaml").write_bytes(b"branches:\n  - id: \xff\n")
    (problem,) = validate_config(tmp_path)
    assert problem.startswith("branches.yaml: is not UTF-8 text")
