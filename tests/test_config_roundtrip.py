"""load -> dump -> load gives the same records, for every file of the config directory."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from retail_intel.config import Config, config_to_yaml, load_config, write_config
from retail_intel.config.loader import CONFIG_FILES
from retail_intel.config.models import Branch, Employee
from retail_intel.errors import WriteError

SAMPLE = Path(__file__).resolve().parents[1] / "config"
FILE_KEYS = [(spec.filename, spec.key) for spec in CONFIG_FILES]


@pytest.mark.parametrize(("filename", "key"), FILE_KEYS, ids=[name for name, _ in FILE_KEYS])
def test_each_sample_file_round_trips(tmp_path: Path, filename: str, key: str) -> None:
    original = load_config(SAMPLE)
    assert getattr(original, key), f"the sample {filename} should not be empty"
    write_config(original, tmp_path)
    again = load_config(tmp_path)
    assert getattr(again, key) == getattr(original, key)
    # And the written text is stable: dumping the reloaded config gives the same file.
    assert config_to_yaml(again)[filename] == (tmp_path / filename).read_text()


def test_writing_into_a_path_that_is_a_file_is_a_write_error_naming_it(tmp_path: Path) -> None:
    # was a bare FileExistsError from mkdir
    in_the_way = tmp_path / "config"
    in_the_way.write_text("not a folder")
    with pytest.raises(
        WriteError, match=r"config/branches.yaml: cannot be written \(.*config is a file, not a folder\)"
    ):
        write_config(load_config(SAMPLE), in_the_way)
    assert in_the_way.read_text() == "not a folder"


def test_a_directory_given_as_a_string_is_written(tmp_path: Path) -> None:
    write_config(load_config(SAMPLE), str(tmp_path / "out"))  # type: ignore[arg-type]
    assert load_config(tmp_path / "out").branches == load_config(SAMPLE).branches


def test_written_files_read_the_same_with_plain_yaml(tmp_path: Path) -> None:
    # Someone may open the files with another YAML reader: times must stay text there too.
    write_config(load_config(SAMPLE), tmp_path)
    employees = yaml.safe_load((tmp_path / "employees.yaml").read_text())["employees"]
    starts = [s["start"] for e in employees for s in e.get("shifts", {}).get("weekly", [])]
    assert starts and all(isinstance(s, str) for s in starts)
    exceptions = [x for e in employees for x in e.get("shifts", {}).get("exceptions", [])]
    assert any(x.get("off") is True for x in exceptions)


# ids are plain names: a letter or digit first, then letters, digits, "-" and "_"
_ids = st.from_regex(r"[a-z0-9][a-z0-9_-]{0,7}", fullmatch=True)
_names = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\x85\u2028\u2029"),
    min_size=1,
    max_size=20,
).filter(lambda s: s.strip() == s and s != "")
_hhmm = st.builds(lambda h, m: f"{h:02d}:{m:02d}", st.integers(0, 22), st.integers(0, 59))


@st.composite
def branches(draw: st.DrawFn) -> Branch:
    x1, y1 = draw(st.integers(0, 500)), draw(st.integers(0, 500))
    camera = {
        "id": draw(_ids),
        "roi": [x1, y1, x1 + draw(st.integers(1, 500)), y1 + draw(st.integers(1, 500))],
        "fps": draw(st.none() | st.floats(min_value=0.5, max_value=60, allow_nan=False)),
        "filename_pattern": draw(st.none() | st.just("cam_%Y%m%d_%H%M%S")),
    }
    days = draw(st.dictionaries(st.sampled_from(["mon", "sat"]), _hhmm))
    opening = {day: f"{start}-{draw(st.sampled_from(['23:59', '24:00']))}" for day, start in days.items()}
    return Branch.model_validate(
        {
            "id": draw(_ids),
            "name": draw(_names),
            "capacity": draw(st.integers(1, 10_000)),
            "state": draw(st.sampled_from(["active", "inactive", "closed"])),
            "timezone": draw(st.sampled_from(["UTC", "Europe/London", "America/New_York", "Asia/Kolkata"])),
            "peak_time": draw(st.none() | _hhmm),
            "opening_hours": opening,
            "customers_per_staff": draw(st.floats(min_value=0.1, max_value=100, allow_nan=False)),
            "min_staff": draw(st.integers(0, 20)),
            "cameras": [camera],
        }
    )


@settings(max_examples=60, deadline=None)
@given(branch=branches(), day=st.dates(dt.date(2020, 1, 1), dt.date(2030, 12, 31)))
def test_generated_records_round_trip(tmp_path_factory: pytest.TempPathFactory, branch: Branch, day: dt.date) -> None:
    employee = Employee.model_validate(
        {
            "id": "e1",
            "branch": branch.id,
            "name": "Ann",
            "shifts": {
                "weekly": [{"day": "tue", "start": "08:00", "end": "12:00"}],
                "exceptions": [{"date": day, "off": True}],
            },
        }
    )
    config = Config(branches=(branch,), employees=(employee,))
    directory = tmp_path_factory.mktemp("roundtrip")
    write_config(config, directory)
    again = load_config(directory)
    assert again.branches == config.branches
    assert again.employees == config.employees
