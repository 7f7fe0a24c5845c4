"""``retail-intel demo-data``: valid labelled config, readable movements, seeded, with rhythms."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from retail_intel.config import load_config, validate_config
from retail_intel.config.models import WEEKDAYS, TimeRange
from retail_intel.demo import DemoSummary, generate_demo
from retail_intel.demo.generate import _period
from retail_intel.demo.movements import uuid_strings
from retail_intel.errors import InputError
from retail_intel.movements.schema import MOVEMENT_SCHEMA
from retail_intel.movements.store import movement_files, read_movements
from tests.cli_helpers import run_cli

START = dt.date(2025, 3, 3)  # a Monday; the period crosses the EU switch to summer time (30 March)
DAYS = 35


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoSummary:
    root = tmp_path_factory.mktemp("demo")
    return generate_demo(root / "config", root / "data", branches=4, days=DAYS, seed=11, start=START)


@pytest.fixture(scope="module")
def stored(demo: DemoSummary) -> pa.Table:
    return read_movements(demo.data_dir)


def test_the_config_passes_the_loader_and_is_labelled(demo: DemoSummary) -> None:
    assert validate_config(demo.config_dir) == []
    config = load_config(demo.config_dir)
    assert len(config.branches) == 4
    assert all(b.name.startswith("DEMO") for b in config.branches)
    assert all(b.cameras and b.opening_hours and b.capacity > 0 for b in config.branches)
    assert config.employees and config.promotions and config.events and config.tasks
    for employee in config.employees:
        assert employee.shifts.weekly, employee.id
    for directory in (demo.config_dir, demo.data_dir):
        assert "SYNTHETIC" in (directory / "README.txt").read_text()


def test_movements_are_readable_and_match_the_summary(demo: DemoSummary, stored: pa.Table) -> None:
    assert stored.schema == MOVEMENT_SCHEMA
    assert stored.num_rows == demo.movements > 0
    actions = Counter(stored.column("action_type").to_pylist())
    assert actions == {"entered": demo.entered, "passed": demo.passed}
    assert len(movement_files(demo.data_dir)) == demo.files
    assert set(stored.column("source_video").to_pylist()) == {"synthetic-demo"}
    assert set(stored.column("model").to_pylist()) == {"synthetic"}
    assert len(set(stored.column("customer_id").to_pylist())) == stored.num_rows


def test_every_row_is_consistent(demo: DemoSummary, stored: pa.Table) -> None:
    config = load_config(demo.config_dir)
    sample = stored.take(list(range(0, stored.num_rows, 37)))  # a spread-out sample keeps the test quick
    for row in sample.to_pylist():
        assert uuid.UUID(row["customer_id"]).version == 4
        assert row["first_seen"] <= row["enter_time"] <= row["exit_time"] <= row["last_seen"]
        assert row["dwell_seconds"] == pytest.approx((row["exit_time"] - row["enter_time"]).total_seconds())
        branch = config.branch(row["branch_id"])
        local = row["enter_time"].astimezone(branch.tzinfo)
        hours: dict[str, TimeRange] = {day: span for day, span in branch.opening_hours.items()}
        span = hours[WEEKDAYS[local.weekday()]]
        second = local.hour * 3600 + local.minute * 60 + local.second
        first, last = span.minutes
        assert first * 60 <= second <= last * 60, (row["branch_id"], local)


def test_files_follow_the_store_layout(demo: DemoSummary) -> None:
    for path in movement_files(demo.data_dir):
        branch, day = path.parent.parent.name, path.parent.name
        assert path.name.startswith(f"demo-{branch}-")
        dt.date.fromisoformat(day)


def _local_hours(demo: DemoSummary, stored: pa.Table, action: str) -> Counter[int]:
    zones = {b.id: b.tzinfo for b in load_config(demo.config_dir).branches}
    hours: Counter[int] = Counter()
    for branch, enter, kind in zip(
        stored.column("branch_id").to_pylist(),
        stored.column("enter_time").to_pylist(),
        stored.column("action_type").to_pylist(),
        strict=True,
    ):
        if kind == action:
            hours[enter.astimezone(zones[branch]).hour] += 1
    return hours


def test_more_visitors_at_midday_than_early_morning_or_mid_afternoon(demo: DemoSummary, stored: pa.Table) -> None:
    hours = _local_hours(demo, stored, "entered")
    assert hours[12] > 2 * hours[7]
    assert hours[12] > 1.3 * hours[9]
    assert hours[12] > hours[15] < hours[17]  # a lunch peak and an after-work peak


def test_saturdays_are_busier_than_tuesdays(demo: DemoSummary, stored: pa.Table) -> None:
    zones = {b.id: b.tzinfo for b in load_config(demo.config_dir).branches}
    per_weekday: Counter[int] = Counter()
    for branch, enter, kind in zip(
        stored.column("branch_id").to_pylist(),
        stored.column("enter_time").to_pylist(),
        stored.column("action_type").to_pylist(),
        strict=True,
    ):
        if kind == "entered":
            per_weekday[enter.astimezone(zones[branch]).weekday()] += 1
    assert per_weekday[5] > 1.2 * per_weekday[1]


def test_promotion_days_are_busier(tmp_path: Path) -> None:
    summary = generate_demo(tmp_path / "c", tmp_path / "d", branches=4, days=42, seed=5, start=START)
    config = load_config(summary.config_dir)
    table = read_movements(summary.data_dir).filter(pc.equal(pc.field("action_type"), "entered"))
    daily: Counter[tuple[str, dt.date]] = Counter()
    zones = {b.id: b.tzinfo for b in config.branches}
    for branch, enter in zip(
        table.column("branch_id").to_pylist(), table.column("enter_time").to_pylist(), strict=True
    ):
        daily[(branch, enter.astimezone(zones[branch]).date())] += 1
    with_promo: list[float] = []
    without: list[float] = []
    for (branch, day), visits in daily.items():
        tz = config.branch(branch).tzinfo
        noon = dt.datetime.combine(day, dt.time(12), tzinfo=tz)
        active = any(p.start <= noon < p.end for p in config.promotions_for(branch))
        # divide out the weekly rhythm so the comparison is about promotions only
        factor = {5: 1.35, 6: 0.75, 4: 1.15}.get(day.weekday(), 0.92)
        (with_promo if active else without).append(visits / factor)
    assert with_promo and without
    ratio = (sum(with_promo) / len(with_promo)) / (sum(without) / len(without))
    assert ratio > 1.1, ratio


def test_the_same_seed_gives_the_same_data(tmp_path: Path, demo: DemoSummary, stored: pa.Table) -> None:
    again = generate_demo(tmp_path / "c", tmp_path / "d", branches=4, days=DAYS, seed=11, start=START)
    assert read_movements(again.data_dir).equals(stored)
    for name in ("branches.yaml", "employees.yaml", "promotions.yaml", "events.yaml", "tasks.yaml", "holidays.yaml"):
        assert (again.config_dir / name).read_text() == (demo.config_dir / name).read_text()


def test_another_seed_gives_other_data(tmp_path: Path, stored: pa.Table) -> None:
    other = generate_demo(tmp_path / "c", tmp_path / "d", branches=4, days=DAYS, seed=12, start=START)
    assert not read_movements(other.data_dir).equals(stored)


def test_non_empty_directories_need_force(tmp_path: Path) -> None:
    config_dir, data_dir = tmp_path / "c", tmp_path / "d"
    data_dir.mkdir()
    (data_dir / "keep.txt").write_text("real data")
    # named as a Python caller wrote them (the CLI passes --data-dir and --force: the test below)
    with pytest.raises(InputError, match=r"^data_dir .* is not empty; .* or pass force to write over it$"):
        generate_demo(config_dir, data_dir, branches=1, days=2, start=START)
    assert not config_dir.exists()

    first = generate_demo(config_dir, data_dir, branches=2, days=10, start=START, force=True)
    with pytest.raises(InputError, match="not empty"):
        generate_demo(config_dir, tmp_path / "fresh", branches=1, days=2, start=START)

    second = generate_demo(config_dir, data_dir, branches=1, days=3, start=START, force=True)
    assert second.removed_files == first.files
    assert len(movement_files(data_dir)) == second.files
    assert len(load_config(config_dir).branches) == 1
    assert (data_dir / "keep.txt").read_text() == "real data"


@pytest.mark.parametrize(("branches", "days"), [(0, 5), (1, 0), (1000, 1)])
def test_out_of_range_sizes_are_refused(tmp_path: Path, branches: int, days: int) -> None:
    with pytest.raises(InputError):
        generate_demo(tmp_path / "c", tmp_path / "d", branches=branches, days=days)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"start": dt.datetime(2026, 1, 5, 10)},
            r"start must be a datetime.date \(the first day of the period\), got datetime.datetime\(2026, 1, 5, 10, 0\) \(datetime\)",
        ),
        ({"start": "2026-01-05"}, r"start must be a datetime.date .*, got '2026-01-05' \(str\)"),
        ({"branches": 1.5}, r"branches must be a whole number \(an int\), got 1.5 \(float\)"),
        ({"days": "3"}, r"days must be a whole number \(an int\), got '3' \(str\)"),
        ({"seed": True}, r"seed must be a whole number \(an int\), got True \(bool\)"),
    ],
)
def test_arguments_of_the_wrong_type_are_refused_naming_them(
    tmp_path: Path, changes: dict[str, object], message: str
) -> None:
    # were TypeErrors from a comparison or range() once the data set was being written (a bool ran as 0 or 1)
    arguments: dict[str, object] = {"branches": 1, "days": 1, "seed": 1, "start": dt.date(2026, 1, 5), **changes}
    with pytest.raises(InputError, match=message):
        generate_demo(tmp_path / "config", tmp_path / "data", **arguments)  # type: ignore[arg-type]
    assert not (tmp_path / "config").exists() and not (tmp_path / "data").exists()


@pytest.mark.parametrize("which", ["config", "data"])
def test_a_directory_below_a_file_is_refused_before_anything_is_written(tmp_path: Path, which: str) -> None:
    # said "Not a directory" after writing the other directory, which stayed behind
    blocker = tmp_path / "notes"
    blocker.write_text("a file")
    config_dir = blocker / "c" if which == "config" else tmp_path / "new" / "c"
    data_dir = blocker / "d" if which == "data" else tmp_path / "new" / "d"
    option = "config_dir" if which == "config" else "data_dir"
    with pytest.raises(InputError, match=f"^{option} .*: cannot be created, .*notes is a file, not a folder"):
        generate_demo(config_dir, data_dir, branches=1, days=1)
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize(("which", "what"), [("config", "the config directory"), ("data", "the data directory")])
def test_a_target_that_is_a_file_is_refused_in_the_words_process_uses(tmp_path: Path, which: str, what: str) -> None:
    # demo-data had its own copy of process's check, with its own wording for the same mistake
    notes = tmp_path / "notes"
    notes.write_text("a file")
    config_dir = notes if which == "config" else tmp_path / "c"
    data_dir = notes if which == "data" else tmp_path / "d"
    option = "config_dir" if which == "config" else "data_dir"
    with pytest.raises(InputError) as refused:
        generate_demo(config_dir, data_dir, branches=1, days=1)
    assert str(refused.value) == f"{option} {notes}: expected {what}, found a file"
    assert notes.read_text() == "a file" and not (tmp_path / "c").exists() and not (tmp_path / "d").exists()


def test_uuid_strings_are_valid_version_4() -> None:
    import numpy as np

    values = uuid_strings(np.random.default_rng(0), 500).to_pylist()
    parsed = [uuid.UUID(v) for v in values]
    assert [str(p) for p in parsed] == values
    assert {p.version for p in parsed} == {4}
    assert len(set(values)) == 500


def test_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    args = ["--branches", "2", "--days", "3", "--seed", "4", "--start", "2025-06-02"]
    dirs = ["--config", str(tmp_path / "c"), "--data-dir", str(tmp_path / "d")]

    result = run_cli(["demo-data", *args, *dirs, "--format", "json"], capsys, monkeypatch)

    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["branches"], summary["days"], summary["start"], summary["end"]) == (
        2,
        3,
        "2025-06-02",
        "2025-06-04",
    )
    assert summary["movements"] == read_movements(tmp_path / "d").num_rows

    refused = run_cli(["demo-data", *args, *dirs], capsys, monkeypatch)
    assert refused.exit_code == 1
    assert "--force" in refused.stderr

    bad_date = run_cli(["demo-data", "--start", "June", *dirs, "--force"], capsys, monkeypatch)
    assert bad_date.exit_code == 1
    assert "YYYY-MM-DD" in bad_date.stderr


def test_staff_groups_and_door_misses_are_generated(demo: DemoSummary, stored: pa.Table) -> None:
    rows = stored.select(["is_staff", "staff_reason", "group_id", "exit_observed", "action_type"]).to_pylist()
    staff = [r for r in rows if r["is_staff"]]
    assert staff and all(r["staff_reason"].startswith("in view ") for r in staff)
    assert all(r["staff_reason"] is None for r in rows if not r["is_staff"])
    sizes: dict[str, int] = {}
    for r in rows:
        if r["group_id"] is not None:
            sizes[r["group_id"]] = sizes.get(r["group_id"], 0) + 1
    assert sizes and min(sizes.values()) >= 2  # a group_id is never a party of one
    assert not any(r["group_id"] and r["is_staff"] for r in rows)
    missed = sum(1 for r in rows if r["action_type"] == "entered" and not r["exit_observed"])
    assert 0 < missed < 0.2 * demo.entered


def test_dwell_follows_the_documented_distributions(stored: pa.Table) -> None:
    # docs/demo-data.md: visitors log-normal around 8 minutes (20 s to 90 min), passers-by 1.5-12 s,
    # whether or not they joined a party that arrived earlier.
    rows = stored.select(["action_type", "is_staff", "dwell_seconds", "group_id"]).to_pylist()
    passed = [r["dwell_seconds"] for r in rows if r["action_type"] == "passed"]
    visits = sorted(r["dwell_seconds"] for r in rows if r["action_type"] == "entered" and not r["is_staff"])
    tolerance = 1e-5  # enter and exit are rounded to microseconds separately
    assert 1.5 - tolerance <= min(passed) and max(passed) <= 12.0 + tolerance
    assert 20.0 - tolerance <= visits[0] and visits[-1] <= 5400.0 + tolerance
    assert 6 * 60 < visits[len(visits) // 2] < 10 * 60
    grouped_passers = [r["dwell_seconds"] for r in rows if r["action_type"] == "passed" and r["group_id"]]
    assert grouped_passers and max(grouped_passers) <= 12.0 + tolerance
    # about one arrival in seven joins the party before it
    members = sum(1 for r in rows if r["group_id"]) - len({r["group_id"] for r in rows if r["group_id"]})
    assert 0.1 < members / len(rows) < 0.2


@pytest.mark.parametrize(
    ("start", "days", "accepted"),
    [
        (dt.date(2000, 1, 1), 5, True),
        (dt.date(1999, 12, 31), 5, False),  # before the earliest plausible time
        (dt.date(2026, 5, 29), 3, True),  # ends yesterday
        (dt.date(2026, 5, 30), 3, False),  # ends today: late local events pass now + 1 day
        (dt.date(2026, 6, 1), 1, False),  # today
        (dt.date(2026, 7, 1), 10, False),  # the future
        (dt.date(9999, 12, 1), 90, False),  # start + days overflows
    ],
)
def test_a_period_the_kpis_would_refuse_is_refused(start: dt.date, days: int, accepted: bool) -> None:
    today = dt.date(2026, 6, 1)
    if accepted:
        assert _period(start, days, today) == (start, start + dt.timedelta(days=days - 1))
    else:
        with pytest.raises(InputError, match=r"^start .* outside 2000-01-01 \.\. 2026-05-31 \(yesterday\)"):
            _period(start, days, today)


@pytest.mark.parametrize(
    ("start", "days", "advice"),
    [
        (dt.date(1999, 12, 31), 5, "choose a start on or after 2000-01-01"),
        (dt.date(2026, 5, 30), 3, "choose an earlier start or fewer days"),
    ],
    ids=["too-early", "too-late"],
)
def test_a_refused_period_says_which_way_to_move_start(start: dt.date, days: int, advice: str) -> None:
    # a --start before 2000 was told to choose an earlier one
    with pytest.raises(InputError) as raised:
        _period(start, days, dt.date(2026, 6, 1))
    assert str(raised.value).endswith(advice)


def test_the_default_period_ends_yesterday() -> None:
    assert _period(None, 90, dt.date(2026, 6, 1)) == (dt.date(2026, 3, 3), dt.date(2026, 5, 31))


@pytest.mark.parametrize("start", ["9999-12-01", "1970-01-01", "next-month"])
def test_cli_refuses_an_implausible_start_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, start: str
) -> None:
    if start == "next-month":
        start = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=31)).isoformat()
    dirs = ["--config", str(tmp_path / "c"), "--data-dir", str(tmp_path / "d")]
    result = run_cli(["demo-data", "--branches", "1", "--days", "90", "--start", start, *dirs], capsys, monkeypatch)
    assert result.exit_code == 1
    assert "--start" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "c").exists() and not (tmp_path / "d").exists()


@pytest.mark.parametrize(
    ("given", "param", "flag"),
    [
        ({"days": 4000}, "days must be between 1 and 3660, got 4000", "--days must be between 1 and 3660, got 4000"),
        ({"branches": 1000}, "branches must be between 1 and 999", "--branches must be between 1 and 999"),
        ({"start": dt.date(1999, 1, 4)}, "start 1999-01-04 with days 90", "--start 1999-01-04 with --days 90"),
    ],
)
def test_the_library_names_parameters_and_the_cli_its_flags(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    given: dict[str, object],
    param: str,
    flag: str,
) -> None:
    # generate_demo(days=4000) said "--days must be between ...": a flag its Python caller never wrote
    with pytest.raises(InputError, match=f"^{param}"):
        generate_demo(tmp_path / "c", tmp_path / "d", **given)  # type: ignore[arg-type]
    ((name, value),) = given.items()
    text = value.isoformat() if isinstance(value, dt.date) else str(value)
    dirs = ["--config", str(tmp_path / "c"), "--data-dir", str(tmp_path / "d")]
    result = run_cli(["demo-data", f"--{name}", text, *dirs], capsys, monkeypatch)
    assert result.exit_code == 1 and flag in result.stderr.replace("\n", " ")
    assert not (tmp_path / "c").exists() and not (tmp_path / "d").exists()


def test_the_cli_names_its_directory_flags_and_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # the library names config_dir, data_dir and force (tests above); demo-data shows its flags
    data_dir = tmp_path / "d"
    data_dir.mkdir()
    (data_dir / "keep.txt").write_text("real data")
    dirs = ["--config", str(tmp_path / "c"), "--data-dir", str(data_dir)]
    result = run_cli(["demo-data", "--days", "2", *dirs], capsys, monkeypatch)
    said = result.stderr.replace("\n", " ")
    assert result.exit_code == 1 and f"--data-dir {data_dir} is not empty" in said and "pass --force" in said
    notes = tmp_path / "notes"
    notes.write_text("a file")
    result = run_cli(
        ["demo-data", "--days", "2", "--config", str(notes), "--data-dir", str(tmp_path / "e")], capsys, monkeypatch
    )
    assert result.exit_code == 1 and f"--config {notes}: expected the config directory" in result.stderr.replace(
        "\n", ""
    )
