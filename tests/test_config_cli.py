"""The read-only config commands: validate, branches list/show, tasks, events, promotions."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from retail_intel.cli.app import _register, app, main
from retail_intel.config import expand_events, load_config
from retail_intel.config.records import (
    BRANCH_COLUMNS,
    EVENT_COLUMNS,
    PROMOTION_COLUMNS,
    TASK_COLUMNS,
    branch_detail,
    branch_rows,
    event_rows,
    promotion_rows,
    task_rows,
)
from retail_intel.errors import ConfigError, InputError
from tests.kpi_fixtures import make_config_dir

SAMPLE = Path(__file__).resolve().parents[1] / "config"
BAD_BRANCHES = """\
branches:
  - {id: b1, name: One, capacity: -5, neighbors: [b9]}
  - {id: b2, name: Two, capacity: 3, timezone: Mars/Base}
"""


@pytest.fixture(scope="module", autouse=True)
def _commands() -> None:
    if not any(getattr(c, "name", None) == "validate" for c in app.registered_commands):
        _register()


@pytest.fixture
def bad_config(tmp_path: Path) -> Path:
    (tmp_path / "branches.yaml").write_text(BAD_BRANCHES)
    (tmp_path / "tasks.yaml").write_text("tasks:\n  - {id: t1, branch: b1, title: X, assignee: ghost}\n")
    return tmp_path


def invoke(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def json_out(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


BAD_PROBLEMS = [
    'branches.yaml: branch "b1": capacity must be > 0, got -5',
    "branches.yaml: branch \"b2\": timezone must be an IANA timezone such as 'Europe/London', got 'Mars/Base'",
    'branches.yaml: branch "b1": neighbors: unknown branch "b9" (known: b1, b2)',
    'tasks.yaml: task "t1": assignee: unknown employee "ghost" (known: none defined)',
]


# --- validate ----------------------------------------------------------------


def test_validate_sample_config_passes() -> None:
    result = invoke("validate", "--config", str(SAMPLE))
    assert result.exit_code == 0, result.output
    assert "config OK" in result.stdout and "3 branches" in result.stdout


def test_validate_counts_one_record_in_the_singular(tmp_path: Path) -> None:
    # a config with one event and one promotion said "1 events, 1 promotions"
    result = invoke("validate", "--config", str(make_config_dir(tmp_path)))
    assert result.exit_code == 0, result.output
    assert "2 branches, 2 employees, 0 tasks, 1 event, 1 promotion, 0 holidays" in " ".join(result.stdout.split())


def test_validate_bad_config_lists_every_problem_and_exits_1(bad_config: Path) -> None:
    result = invoke("validate", "--config", str(bad_config))
    assert result.exit_code == 1
    for problem in BAD_PROBLEMS:
        assert problem in result.stdout
    assert "4 problems" in result.stderr


def test_validate_json_report(bad_config: Path) -> None:
    result = invoke("validate", "--config", str(bad_config), "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False and report["problems"] == BAD_PROBLEMS
    ok = json.loads(invoke("validate", "--config", str(SAMPLE), "--format", "json").stdout)
    assert ok["ok"] is True and ok["problems"] == [] and ok["counts"]["branches"] == 3


def test_validate_csv_lists_problems(bad_config: Path) -> None:
    result = invoke("validate", "--config", str(bad_config), "-f", "csv")
    assert result.exit_code == 1
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["problem"] for r in rows] == BAD_PROBLEMS


def test_validate_missing_directory(tmp_path: Path) -> None:
    result = invoke("validate", "--config", str(tmp_path / "missing"))
    assert result.exit_code == 1
    assert "does not exist" in result.stdout and "RETAIL_INTEL_CONFIG" in result.stdout


def test_config_dir_from_environment(bad_config: Path) -> None:
    result = CliRunner().invoke(app, ["validate"], env={"RETAIL_INTEL_CONFIG": str(bad_config)})
    assert result.exit_code == 1 and BAD_PROBLEMS[0] in result.stdout


# --- every reading command fails the same way on a bad config ---------------

READING_COMMANDS = [
    ["branches", "list"],
    ["branches", "show", "b1"],
    ["tasks", "b1"],
    ["events"],
    ["promotions"],
]


@pytest.mark.parametrize("command", READING_COMMANDS, ids=[" ".join(c) for c in READING_COMMANDS])
def test_reading_commands_refuse_bad_config(bad_config: Path, command: list[str]) -> None:
    result = invoke(*command, "--config", str(bad_config))
    assert result.exit_code == 1
    assert isinstance(result.exception, ConfigError)
    assert result.exception.problems == BAD_PROBLEMS


def test_error_edge_prints_every_problem(
    bad_config: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "argv", ["retail-intel", "branches", "list", "--config", str(bad_config)])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 1
    stderr = capsys.readouterr().err
    assert "4 problems in config directory" in stderr
    for problem in BAD_PROBLEMS:
        assert problem in stderr


# --- branches -----------------------------------------------------------------


def test_branches_list_json_matches_config() -> None:
    rows = json_out(invoke("branches", "list", "--config", str(SAMPLE), "--json"))
    config = load_config(SAMPLE)
    assert [r["id"] for r in rows] == [b.id for b in config.branches]
    first = rows[0]
    assert first["cameras"] == [c.id for c in config.branches[0].cameras]
    assert first["employees"] == len(config.employees_of(first["id"]))
    assert first["timezone"] == config.branches[0].timezone


def test_branches_list_table_and_csv() -> None:
    table = invoke("branches", "list", "--config", str(SAMPLE))
    assert table.exit_code == 0 and "b1" in table.stdout
    rows = list(csv.DictReader(io.StringIO(invoke("branches", "list", "--config", str(SAMPLE), "-f", "csv").stdout)))
    assert [r["id"] for r in rows] == ["b1", "b2", "b3"]
    # list cells are JSON, as in the kpis and sql CSV (they were Python reprs: ['b2'])
    config = load_config(SAMPLE)
    assert [json.loads(r["neighbors"]) for r in rows] == [b.neighbors for b in config.branches]
    assert [json.loads(r["cameras"]) for r in rows] == [[c.id for c in b.cameras] for b in config.branches]
    promos = list(csv.DictReader(io.StringIO(invoke("promotions", "--config", str(SAMPLE), "-f", "csv").stdout)))
    listed = {r["id"]: r["branches"] if r["branches"] == "all" else json.loads(r["branches"]) for r in promos}
    assert listed == {p.id: p.branches if p.branches == "all" else list(p.branches) for p in config.promotions}
    assert any(isinstance(b, list) for b in listed.values())


def test_an_empty_csv_answer_keeps_its_header() -> None:
    # tasks b1 --status cancelled -f csv (none), events and promotions matching nothing printed an
    # empty line: no header for a script to read, unlike the same commands with rows
    config = ["--config", str(SAMPLE), "-f", "csv"]
    cases = {
        ("tasks", "b1", "--status", "cancelled"): TASK_COLUMNS,
        ("events", "--from", "1950-01-01T00:00:00Z", "--to", "1950-01-02T00:00:00Z"): EVENT_COLUMNS,
        ("promotions", "--active-at", "1990-01-01T00:00:00Z"): PROMOTION_COLUMNS,
    }
    for args, columns in cases.items():
        result = invoke(*args, *config)
        assert result.exit_code == 0, result.output
        assert result.stdout == ",".join(columns) + "\n", args
    # the columns are those of the rows when there are rows
    loaded = load_config(SAMPLE)
    assert tuple(branch_rows(loaded)[0]) == BRANCH_COLUMNS
    assert tuple(task_rows(loaded, "b1")[0]) == TASK_COLUMNS
    far = dt.datetime(2027, 6, 1, tzinfo=dt.UTC)
    assert tuple(event_rows(loaded, far, far + dt.timedelta(days=30))[0]) == EVENT_COLUMNS
    assert tuple(promotion_rows(loaded)[0]) == PROMOTION_COLUMNS


def test_branches_show_csv_writes_a_cameras_line_and_zones_as_json() -> None:
    rows = list(
        csv.DictReader(io.StringIO(invoke("branches", "show", "b1", "--config", str(SAMPLE), "-f", "csv").stdout))
    )
    (vtest,) = [r["value"] for r in rows if r["field"] == "camera vtest"]
    line = next(part for part in vtest.split("; ") if part.startswith("line "))
    assert json.loads(line.removeprefix("line "))["start"] == list(
        load_config(SAMPLE).branch("b1").cameras[0].line.start
    )


def test_branches_show_json() -> None:
    detail = json_out(invoke("branches", "show", "b1", "--config", str(SAMPLE), "--json"))
    config = load_config(SAMPLE)
    assert detail["id"] == "b1" and detail["name"] == config.branch("b1").name
    assert [c["id"] for c in detail["cameras"]] == [c.id for c in config.branch("b1").cameras]
    assert set(detail["opening_hours"]) == {"mon", "tue", "wed", "thu", "fri", "sat", "sun"}
    assert [e["id"] for e in detail["employees"]] == [e.id for e in config.employees_of("b1")]


def test_a_branch_without_opening_hours_is_shown_open_all_day(tmp_path: Path) -> None:
    # the KPIs take a branch without any opening span as open around the clock; `branches show`
    # (and GET /branches/{id}) said "closed" for every day of it
    for hours in ("", "    opening_hours: {mon: closed}\n"):
        (tmp_path / "branches.yaml").write_text(f"branches:\n  - id: b9\n    name: Nine\n    capacity: 5\n{hours}")
        detail = json_out(invoke("branches", "show", "b9", "--config", str(tmp_path), "--json"))
        assert set(detail["opening_hours"].values()) == {"open all day"}
    shop = load_config(SAMPLE).branch("b1")
    assert (
        shop.opening_hours and "open all day" not in branch_detail(load_config(SAMPLE), "b1")["opening_hours"].values()
    )


def test_branches_show_table() -> None:
    result = invoke("branches", "show", "b2", "--config", str(SAMPLE))
    assert result.exit_code == 0
    assert "Station Arcade" in result.stdout and "hours sun" in result.stdout


def test_branches_show_unknown_id_exits_1() -> None:
    result = invoke("branches", "show", "nope", "--config", str(SAMPLE))
    assert result.exit_code == 1
    assert isinstance(result.exception, ConfigError)
    assert 'unknown branch "nope"' in str(result.exception) and "b1, b2, b3" in str(result.exception)


# --- tasks ------------------------------------------------------------------


def test_tasks_json_lists_the_branch_tasks_in_priority_order() -> None:
    rows = json_out(invoke("tasks", "b1", "--config", str(SAMPLE), "--json"))
    config = load_config(SAMPLE)
    assert {r["id"] for r in rows} == {t.id for t in config.tasks_of("b1")}
    statuses = [r["status"] for r in rows]
    assert statuses.index("done") > max(i for i, s in enumerate(statuses) if s in ("open", "in_progress"))
    named = [r for r in rows if r["assignee"]]
    names = {e.id: e.name for e in config.employees}
    assert named and all(r["assignee_name"] == names[r["assignee"]] for r in named)


def test_tasks_status_filter() -> None:
    rows = json_out(invoke("tasks", "b1", "--status", "done", "--config", str(SAMPLE), "--json"))
    assert rows and {r["status"] for r in rows} == {"done"}


def test_tasks_bad_status_is_a_usage_error() -> None:
    assert invoke("tasks", "b1", "--status", "later", "--config", str(SAMPLE)).exit_code == 2


# --- events -----------------------------------------------------------------


def test_events_range_expands_repetitions() -> None:
    start, end = "2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z"
    rows = json_out(invoke("events", "--config", str(SAMPLE), "--from", start, "--to", end, "--json"))
    config = load_config(SAMPLE)
    expected = expand_events(
        config.events,
        dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
        dt.datetime(2027, 1, 1, tzinfo=dt.UTC),
        timezones=config.timezones,
    )
    assert len(rows) == len(expected) > len(config.events)
    assert [dt.datetime.fromisoformat(r["start"]) for r in rows] == [o.start for o in expected]
    assert all(r["start"][-6:] in ("+00:00", "+01:00") for r in rows)  # shown in the branch's zone


def test_events_branch_filter() -> None:
    args = ["--from", "2026-12-01T00:00:00Z", "--to", "2026-12-31T00:00:00Z", "--config", str(SAMPLE), "--json"]
    rows = json_out(invoke("events", "--branch", "b2", *args))
    assert rows and {r["branch"] for r in rows} == {"b2"}


def _utc_today() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def test_events_default_window_is_30_days_from_today() -> None:
    # "today" is read before and after the command: one run across midnight (UTC) took the command's
    # today from one day and the test's from the next, and an event ending that first day failed it
    before = _utc_today()
    rows = json_out(invoke("events", "--config", str(SAMPLE), "--json"))
    after = _utc_today()
    assert all(dt.datetime.fromisoformat(r["start"]) < after + dt.timedelta(days=30) for r in rows)
    assert all(dt.datetime.fromisoformat(r["end"]) > before for r in rows)
    assert sum(r["event_id"] == "ev-market" for r in rows) >= 4  # weekly, no end date


def test_events_rejects_naive_and_inverted_ranges() -> None:
    naive = invoke("events", "--config", str(SAMPLE), "--from", "2026-12-01T00:00:00")
    assert naive.exit_code == 1 and "timezone" in str(naive.exception)
    inverted = invoke(
        "events", "--config", str(SAMPLE), "--from", "2026-12-02T00:00:00Z", "--to", "2026-12-01T00:00:00Z"
    )
    assert inverted.exit_code == 1 and "--to must be after --from" in str(inverted.exception)


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["--from", "9999-12-31T00:00:00Z"], "--from"),  # + the default 30 days overflowed
        (["--from", "0001-01-01T00:00:00Z", "--to", "0001-02-01T00:00:00Z"], "--from"),
        (["--from", "2026-12-01T00:00:00Z", "--to", "9999-12-31T23:00:00Z"], "--to"),
    ],
)
def test_events_near_the_ends_of_the_calendar_is_one_line_naming_the_flag(args: list[str], flag: str) -> None:
    result = invoke("events", "--config", str(SAMPLE), *args)
    assert result.exit_code == 1 and isinstance(result.exception, InputError), result.exception
    assert str(result.exception).startswith(f"{flag}: expected a time between 1900-01-01 and 3000-01-01")


def test_event_rows_name_their_parameters_to_a_python_caller() -> None:
    # they said "--to must be after --from" and "--from: expected ..." to a caller who wrote start= and end=
    loaded, at = load_config(SAMPLE), dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    with pytest.raises(InputError, match=r"^end must be after start, got from 2026-12-01"):
        event_rows(loaded, at, at)
    with pytest.raises(InputError, match=r"^start: expected a time between 1900-01-01 and 3000-01-01"):
        event_rows(loaded, at.replace(year=1), at)
    with pytest.raises(InputError, match=r"^until: expected a time between"):
        event_rows(loaded, at, at.replace(year=3001), range_names=("since", "until"))


def test_events_from_near_the_last_time_listed_ends_there_instead_of_blaming_to() -> None:
    # the default 30 days from 2999-12-15 pass 3000-01-01: the window ends there (no --to was given)
    result = invoke("events", "--config", str(SAMPLE), "--from", "2999-12-15T00:00:00Z", "--format", "json")
    assert result.exit_code == 0, result.exception


# --- promotions ---------------------------------------------------------------


def test_promotions_all_and_filtered() -> None:
    config = load_config(SAMPLE)
    everything = json_out(invoke("promotions", "--config", str(SAMPLE), "--json"))
    assert {r["id"] for r in everything} == {p.id for p in config.promotions}
    for_b2 = json_out(invoke("promotions", "--branch", "b2", "--config", str(SAMPLE), "--json"))
    assert {r["id"] for r in for_b2} == {p.id for p in config.promotions_for("b2")}
    assert all(r["branches"] == "all" or "b2" in r["branches"] for r in for_b2)


def test_promotions_active_at() -> None:
    config = load_config(SAMPLE)
    moment = "2026-11-28T12:00:00Z"
    rows = json_out(invoke("promotions", "--active-at", moment, "--config", str(SAMPLE), "--json"))
    at = dt.datetime(2026, 11, 28, 12, tzinfo=dt.UTC)
    assert {r["id"] for r in rows} == {p.id for p in config.promotions if p.start <= at < p.end}
    assert rows  # the sample's Black Friday promotion runs then


def test_too_many_occurrences_name_the_range_flags(tmp_path: Path) -> None:
    # event_rows names start/end to a Python caller; the events command passes --from/--to
    config = tmp_path / "config"
    shutil.copytree(SAMPLE, config)
    daily = "  - {id: ev-daily, name: Daily, branch: b1, start: 2026-01-01T06:00:00Z, end: 2026-01-01T07:00:00Z, repeat: daily}\n"
    with open(config / "events.yaml", "a") as handle:
        handle.write(daily)
    at, late = dt.datetime(2026, 1, 1, tzinfo=dt.UTC), dt.datetime(2400, 1, 1, tzinfo=dt.UTC)
    with pytest.raises(InputError, match=r"ask for a shorter range \(start/end\)$"):
        event_rows(load_config(config), at, late)
    result = invoke("events", "--config", str(config), "--from", "2026-01-01T00:00:00Z", "--to", "2400-01-01T00:00:00Z")
    assert result.exit_code == 1 and str(result.exception).endswith("ask for a shorter range (--from/--to)")
