"""``retail-intel ingest``: validation, rejects file, idempotence, store contents."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import retail_intel
from retail_intel.errors import InputError, TimeError
from retail_intel.ingest import InputFormat, default_rejects_path, ingest_file
from retail_intel.ingest.core import check_rejects_path
from retail_intel.ingest.reader import REQUIRED_FIELDS
from retail_intel.movements.compaction import compact_store
from retail_intel.movements.plausible import TimeLimits
from retail_intel.movements.schema import MOVEMENT_SCHEMA
from retail_intel.movements.store import movement_files, read_movements
from tests.cli_helpers import run_cli

BRANCHES = """\
branches:
  - {id: b1, name: One, capacity: 40, timezone: Europe/Berlin}
  - {id: b2, name: Two, capacity: 60}
"""
NOW = dt.datetime(2026, 2, 9, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "config"
    directory.mkdir()
    (directory / "branches.yaml").write_text(BRANCHES)
    return directory


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


def event(n: int, **changes: Any) -> dict[str, Any]:
    """A valid event; ``n`` makes the customer_id and times distinct."""
    row: dict[str, Any] = {
        "customer_id": str(uuid.UUID(int=n + 1)),
        "branch_id": "b1",
        "enter_time": f"2026-02-08T10:{n % 60:02d}:00+01:00",
        "exit_time": f"2026-02-08T10:{n % 60:02d}:30+01:00",
        "action_type": "entered",
    }
    row.update(changes)
    return row


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def write_csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(REQUIRED_FIELDS), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(buffer.getvalue())
    return path


def read_rejects(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_valid_jsonl_rows_land_in_the_store_in_the_movement_schema(
    tmp_path: Path, config_dir: Path, data_dir: Path
) -> None:
    source = write_jsonl(tmp_path / "events.jsonl", [event(1), event(2, action_type="passed", branch_id="b2")])

    result = ingest_file(source, config_dir=config_dir, data_dir=data_dir, now=NOW)

    assert (result.read, result.accepted, result.rejected, result.already_present) == (2, 2, 0, 0)
    assert result.rejects_file is None
    stored = read_movements(data_dir)
    assert stored.schema == MOVEMENT_SCHEMA
    rows = {r["customer_id"]: r for r in stored.to_pylist()}
    first = rows[str(uuid.UUID(int=2))]
    assert first["branch_id"] == "b1"
    assert first["enter_time"] == dt.datetime(2026, 2, 8, 9, 1, tzinfo=dt.UTC)
    assert first["exit_time"] == dt.datetime(2026, 2, 8, 9, 1, 30, tzinfo=dt.UTC)
    assert first["dwell_seconds"] == 30.0
    assert first["first_seen"] == first["enter_time"]
    assert first["last_seen"] == first["exit_time"]
    assert first["exit_observed"] is True
    assert first["camera_id"] is None and first["model"] is None and first["track_id"] is None
    assert first["n_frames"] is None and first["mean_confidence"] is None
    assert first["source_video"] == "events.jsonl"
    assert first["video_fingerprint"] == hashlib.sha256(source.read_bytes()).hexdigest()
    assert first["processed_at"] == NOW
    assert rows[str(uuid.UUID(int=3))]["action_type"] == "passed"


def test_rows_are_split_into_one_file_per_branch_and_utc_date(tmp_path: Path, config_dir: Path, data_dir: Path) -> None:
    rows = [
        event(1),
        event(2, branch_id="b2"),
        # 00:30 in Berlin on the 9th is still the 8th in UTC
        event(3, enter_time="2026-02-09T00:30:00+01:00", exit_time="2026-02-09T00:40:00+01:00"),
        event(4, enter_time="2026-02-09T10:00:00Z", exit_time="2026-02-09T10:01:00Z"),
    ]
    source = write_jsonl(tmp_path / "multi.jsonl", rows)

    result = ingest_file(source, config_dir=config_dir, data_dir=data_dir, now=NOW)

    layout = sorted(str(p.relative_to(data_dir / "movements").parent) for p in result.written)
    assert layout == ["b1/2026-02-08", "b1/2026-02-09", "b2/2026-02-08"]
    assert sorted(p.name for p in movement_files(data_dir)) == sorted(p.name for p in result.written)
    assert pq.read_table(data_dir / "movements/b1/2026-02-08" / result.written[0].name).num_rows == 2


def test_csv_gives_the_same_rows_as_jsonl(tmp_path: Path, config_dir: Path) -> None:
    rows = [event(n) for n in range(5)]
    jsonl = ingest_file(write_jsonl(tmp_path / "a.jsonl", rows), config_dir=config_dir, data_dir=tmp_path / "j")
    csv_result = ingest_file(write_csv(tmp_path / "a.csv", rows), config_dir=config_dir, data_dir=tmp_path / "c")

    assert (jsonl.accepted, csv_result.accepted) == (5, 5)
    assert csv_result.format is InputFormat.csv
    columns = ["customer_id", "branch_id", "action_type", "enter_time", "exit_time", "dwell_seconds"]
    from_jsonl = read_movements(tmp_path / "j").select(columns).sort_by("customer_id")
    from_csv = read_movements(tmp_path / "c").select(columns).sort_by("customer_id")
    assert from_jsonl.equals(from_csv)


BAD_ROWS: list[tuple[str, dict[str, Any], str]] = [
    ("not a uuid", event(10, customer_id="visitor-17"), "customer_id: expected a UUID"),
    ("unknown branch", event(10, branch_id="b9"), "unknown branch 'b9'"),
    ("missing field", {k: v for k, v in event(10).items() if k != "exit_time"}, "exit_time: missing"),
    ("empty field", event(10, action_type=" "), "action_type: missing or empty"),
    ("naive time", event(10, enter_time="2026-02-08T10:00:00"), "enter_time: expected a time with a timezone"),
    ("unparseable time", event(10, exit_time="yesterday"), "exit_time: expected an ISO 8601 time"),
    (
        "exit before enter",
        event(10, enter_time="2026-02-08T10:00:00Z", exit_time="2026-02-08T09:59:59Z"),
        "is before enter_time",
    ),
    ("unknown action", event(10, action_type="loitered"), "action_type: expected one of entered, passed"),
]


@pytest.mark.parametrize(("label", "bad", "reason"), BAD_ROWS, ids=[b[0] for b in BAD_ROWS])
@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_each_kind_of_bad_row_is_rejected_with_line_raw_text_and_reason(
    tmp_path: Path, config_dir: Path, data_dir: Path, label: str, bad: dict[str, Any], reason: str, fmt: str
) -> None:
    rows = [event(1), bad, event(2)]
    if fmt == "csv":
        source = write_csv(tmp_path / "in.csv", [{k: r.get(k, "") for k in REQUIRED_FIELDS} for r in rows])
        bad_line = 3  # header is line 1
    else:
        source = write_jsonl(tmp_path / "in.jsonl", rows)
        bad_line = 2

    result = ingest_file(source, config_dir=config_dir, data_dir=data_dir)

    assert (result.read, result.accepted, result.rejected) == (3, 2, 1)
    assert result.rejects_file == default_rejects_path(data_dir, source, result.fingerprint)
    [rejected] = read_rejects(result.rejects_file)
    assert rejected["line"] == str(bad_line)
    assert reason in rejected["reason"]
    assert rejected["raw"] == source.read_text().splitlines()[bad_line - 1]
    assert read_movements(data_dir).num_rows == 2


def test_every_problem_of_a_row_is_reported(tmp_path: Path, config_dir: Path, data_dir: Path) -> None:
    bad = event(1, customer_id="x", branch_id="nowhere", action_type="ran", enter_time="2026-02-08")
    result = ingest_file(write_jsonl(tmp_path / "e.jsonl", [bad]), config_dir=config_dir, data_dir=data_dir)

    assert result.rejects_file is not None
    [rejected] = read_rejects(result.rejects_file)
    for part in ("customer_id", "branch_id", "action_type", "enter_time"):
        assert part in rejected["reason"]
    assert set(result.reject_kinds) == {"invalid customer_id", "unknown branch", "unknown action_type", "invalid time"}


def test_an_implausible_time_is_reported_beside_the_other_times_problem(
    tmp_path: Path, config_dir: Path, data_dir: Path
) -> None:
    # enter_time lacks its timezone and exit_time is year 9999: both are this row's problems, so
    # fixing the timezone must not reveal the second one only on the next ingest
    rows = [
        event(1, enter_time="2026-02-08T10:00:00", exit_time="9999-01-01T00:00:00Z"),
        event(2, enter_time="0001-01-01T00:00:00Z", exit_time="2026-02-08T10:00:00"),
    ]
    result = ingest_file(write_jsonl(tmp_path / "e.jsonl", rows), config_dir=config_dir, data_dir=data_dir)

    assert result.rejects_file is not None
    first, second = read_rejects(result.rejects_file)
    assert "enter_time: expected a time with a timezone" in first["reason"]
    assert "exit_time: 9999-01-01T00:00:00+00:00 is outside the plausible range" in first["reason"]
    assert "enter_time: 0001-01-01T00:00:00+00:00 is outside the plausible range" in second["reason"]
    assert "exit_time: expected a time with a timezone" in second["reason"]
    assert "dwell" not in first["reason"] + second["reason"]  # no dwell without both times
    assert result.reject_kinds == {"invalid time": 2, "implausible time": 2}


def test_broken_json_lines_wrong_types_and_non_objects_are_rejected(
    tmp_path: Path, config_dir: Path, data_dir: Path
) -> None:
    source = tmp_path / "mixed.jsonl"
    lines = [json.dumps(event(1)), "{not json", "[1, 2]", json.dumps(event(2, customer_id=12345)), ""]
    source.write_text("\n".join(lines) + "\n")

    result = ingest_file(source, config_dir=config_dir, data_dir=data_dir)

    assert (result.read, result.accepted, result.rejected) == (4, 1, 3)
    assert result.rejects_file is not None
    reasons = {r["line"]: r["reason"] for r in read_rejects(result.rejects_file)}
    assert reasons["2"].startswith("not valid JSON")
    assert reasons["3"] == "expected a JSON object, got list"
    assert "customer_id: expected a string, got int" in reasons["4"]


def test_a_csv_row_with_the_wrong_number_of_fields_is_rejected(
    tmp_path: Path, config_dir: Path, data_dir: Path
) -> None:
    source = write_csv(tmp_path / "e.csv", [event(1)])
    source.write_text(source.read_text() + "only,three,fields\n")

    result = ingest_file(source, config_dir=config_dir, data_dir=data_dir)

    assert result.rejects_file is not None
    [rejected] = read_rejects(result.rejects_file)
    assert rejected == {
        "line": "3",
        "reason": "expected 5 comma-separated fields as in the header, got 3",
        "raw": "only,three,fields",
    }


def test_a_quoted_csv_field_spanning_lines_keeps_its_first_line_and_full_text(
    tmp_path: Path, config_dir: Path, data_dir: Path
) -> None:
    source = write_csv(tmp_path / "e.csv", [event(1), event(2, branch_id="b\nrogue"), event(3)])

    result = ingest_file(source, config_dir=config_dir, data_dir=data_dir)

    assert result.rejects_file is not None
    [rejected] = read_rejects(result.rejects_file)
    assert rejected["line"] == "3"
    assert "b\nrogue" in rejected["raw"]
    assert result.accepted == 2


def test_a_customer_id_twice_in_one_file_rejects_the_second(tmp_path: Path, config_dir: Path, data_dir: Path) -> None:
    same = event(1)
    source = write_jsonl(tmp_path / "dup.jsonl", [same, event(2), {**same, "action_type": "passed"}])

    result = ingest_file(source, config_dir=config_dir, data_dir=data_dir)

    assert (result.accepted, result.rejected) == (2, 1)
    assert result.rejects_file is not None
    [rejected] = read_rejects(result.rejects_file)
    assert rejected["line"] == "3"
    assert "already appears on line 1" in rejected["reason"]


def test_ingesting_the_same_file_twice_adds_nothing(tmp_path: Path, config_dir: Path, data_dir: Path) -> None:
    source = write_jsonl(tmp_path / "e.jsonl", [event(n) for n in range(4)] + [event(9, branch_id="b9")])
    first = ingest_file(source, config_dir=config_dir, data_dir=data_dir, now=NOW)
    stored_files = {p: p.read_bytes() for p in movement_files(data_dir)}

    second = ingest_file(source, config_dir=config_dir, data_dir=data_dir, now=NOW + dt.timedelta(hours=1))

    assert (first.accepted, first.already_present) == (4, 0)
    assert (second.read, second.accepted, second.rejected, second.already_present) == (5, 0, 1, 4)
    assert second.written == []
    assert {p: p.read_bytes() for p in movement_files(data_dir)} == stored_files
    assert read_movements(data_dir).num_rows == 4


def test_a_customer_already_stored_from_another_file_is_skipped(
    tmp_path: Path, config_dir: Path, data_dir: Path
) -> None:
    ingest_file(write_jsonl(tmp_path / "one.jsonl", [event(1), event(2)]), config_dir=config_dir, data_dir=data_dir)

    # The second export repeats the customer of event 2 (with other times) and adds a new one.
    again = event(2, enter_time="2026-02-08T15:00:00Z", exit_time="2026-02-08T15:10:00Z")
    result = ingest_file(
        write_jsonl(tmp_path / "two.jsonl", [again, event(3)]), config_dir=config_dir, data_dir=data_dir
    )

    assert (result.read, result.accepted, result.already_present, result.rejected) == (2, 1, 1, 0)
    stored = read_movements(data_dir)
    assert stored.num_rows == 3
    assert sorted(stored.column("customer_id").to_pylist()) == [str(uuid.UUID(int=n)) for n in (2, 3, 4)]
    kept = [r for r in stored.to_pylist() if r["customer_id"] == str(uuid.UUID(int=3))]
    assert [r["source_video"] for r in kept] == ["one.jsonl"]


def test_uuid_spelling_does_not_hide_a_duplicate(tmp_path: Path, config_dir: Path, data_dir: Path) -> None:
    ingest_file(write_jsonl(tmp_path / "a.jsonl", [event(1)]), config_dir=config_dir, data_dir=data_dir)
    shouted = event(1, customer_id=str(uuid.UUID(int=2)).upper())

    result = ingest_file(write_jsonl(tmp_path / "b.jsonl", [shouted]), config_dir=config_dir, data_dir=data_dir)

    assert (result.accepted, result.already_present) == (0, 1)


def test_rejects_path_can_be_chosen(tmp_path: Path, config_dir: Path, data_dir: Path) -> None:
    target = tmp_path / "out" / "bad-rows.csv"
    source = write_jsonl(tmp_path / "e.jsonl", [event(1, branch_id="b7")])

    result = ingest_file(source, config_dir=config_dir, data_dir=data_dir, rejects_path=target)

    assert result.rejects_file == target
    assert [r["line"] for r in read_rejects(target)] == ["1"]
    assert not (data_dir / "rejects").exists()


@pytest.mark.parametrize("target", ["-", "folder", "folder/taken.csv/x.csv"], ids=["dash", "directory", "below-a-file"])
def test_a_rejects_path_that_cannot_be_written_is_refused_before_any_row_is_stored(
    target: str,
    tmp_path: Path,
    config_dir: Path,
    data_dir: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "taken.csv").write_text("x\n")
    source = write_jsonl(tmp_path / "e.jsonl", [event(1), event(2, branch_id="b7")])
    args = ["ingest", str(source), "--config", str(config_dir), "--data-dir", str(data_dir), "--rejects", target]

    result = run_cli(args, capsys, monkeypatch)

    # found only at the end, the valid row was already stored (and '-' became a file named '-')
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.startswith("error: --rejects: ") and len(result.stderr.strip().splitlines()) == 1
    assert movement_files(data_dir) == [] and not (tmp_path / "-").exists()


@pytest.mark.parametrize("spelling", ["same", "relative"])
def test_a_rejects_path_that_is_the_input_file_is_refused_before_it_is_overwritten(
    spelling: str,
    tmp_path: Path,
    config_dir: Path,
    data_dir: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    source = write_jsonl(tmp_path / "e.jsonl", [event(1), event(2, branch_id="b7")])
    original = source.read_bytes()
    target = source
    if spelling == "relative":  # the same file, spelled another way
        monkeypatch.chdir(tmp_path)
        target = Path(".") / "e.jsonl"
    args = ["ingest", str(source), "--config", str(config_dir), "--data-dir", str(data_dir), "--rejects", str(target)]

    result = run_cli(args, capsys, monkeypatch)

    # the rejects file replaced the events it was read from: the one rejected row was all that was left
    assert result.exit_code == 1 and result.stdout == ""
    [line] = result.stderr.strip().splitlines()
    assert (
        line
        == f"error: --rejects: {target} is the file being ingested ({source}); give another path for the rejected rows"
    )
    assert source.read_bytes() == original and movement_files(data_dir) == []


def test_a_corrupt_file_in_the_store_is_one_line_naming_it(
    tmp_path: Path,
    config_dir: Path,
    data_dir: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ingest_file(write_jsonl(tmp_path / "a.jsonl", [event(1)]), config_dir=config_dir, data_dir=data_dir)
    broken = movement_files(data_dir)[0].with_name("broken.parquet")
    broken.write_bytes(movement_files(data_dir)[0].read_bytes()[:300])  # cut short, as by a full disk
    source = write_jsonl(tmp_path / "b.jsonl", [event(2)])

    result = run_cli(
        ["ingest", str(source), "--config", str(config_dir), "--data-dir", str(data_dir)], capsys, monkeypatch
    )

    assert result.exit_code == 1 and result.stdout == ""
    [line] = result.stderr.strip().splitlines()  # DuckDB's "LINE 1:" excerpt of the query added three more
    assert line.startswith(f"error: {data_dir / 'movements'}: cannot read the movement store (")
    assert f"{broken}'" in line and line.endswith("move the file it names out of the data directory, then ingest again")


def test_a_stale_rejects_file_goes_once_the_rows_are_accepted(tmp_path: Path, data_dir: Path) -> None:
    config_dir = tmp_path / "cfg"
    config_dir.mkdir()
    (config_dir / "branches.yaml").write_text("branches:\n  - {id: b1, name: One, capacity: 5}\n")
    source = write_jsonl(tmp_path / "e.jsonl", [event(1), event(2, branch_id="b3")])
    first = ingest_file(source, config_dir=config_dir, data_dir=data_dir)
    assert first.rejects_file is not None and first.rejects_file.exists()

    (config_dir / "branches.yaml").write_text(
        "branches:\n  - {id: b1, name: One, capacity: 5}\n  - {id: b3, name: Three, capacity: 5}\n"
    )
    second = ingest_file(source, config_dir=config_dir, data_dir=data_dir)

    assert (second.accepted, second.already_present, second.rejected) == (1, 1, 0)
    assert not first.rejects_file.exists()
    assert read_movements(data_dir).num_rows == 2


def test_a_number_too_long_to_read_rejects_its_row_not_the_file(
    tmp_path: Path, config_dir: Path, data_dir: Path
) -> None:
    # Python refuses to convert integers of more than 4300 digits: one such value is one bad row
    huge = "1" * 5000
    source = tmp_path / "huge.jsonl"
    source.write_text(json.dumps(event(1)) + "\n" + '{"customer_id": ' + huge + "}\n")
    result = ingest_file(source, config_dir=config_dir, data_dir=data_dir)
    assert (result.read, result.accepted, result.rejected) == (2, 1, 1)
    assert result.rejects_file is not None
    (reject,) = read_rejects(result.rejects_file)
    assert reject["line"] == "2" and reject["reason"].startswith("not a usable JSON value")
    array = tmp_path / "huge.json"
    array.write_text("[" + json.dumps(event(1)) + ', {"customer_id": ' + huge + "}]")
    with pytest.raises(InputError, match=r"huge\.json: the JSON array holds a value that cannot be read"):
        ingest_file(array, config_dir=config_dir, data_dir=data_dir)


def test_a_json_array_file_is_read_entry_by_entry(tmp_path: Path, config_dir: Path, data_dir: Path) -> None:
    source = tmp_path / "payload.json"
    source.write_text(json.dumps([event(1), event(2, action_type="left")], indent=2))

    result = ingest_file(source, config_dir=config_dir, data_dir=data_dir)

    assert (result.read, result.accepted, result.rejected) == (2, 1, 1)
    assert result.rejects_file is not None
    [rejected] = read_rejects(result.rejects_file)
    assert rejected["line"] == "2"
    assert json.loads(rejected["raw"])["action_type"] == "left"


@pytest.mark.parametrize("name", ["e.jsonl", "e.ndjson"])
def test_a_json_lines_file_whose_first_row_is_an_array_rejects_that_row_only(
    name: str, tmp_path: Path, config_dir: Path, data_dir: Path
) -> None:
    # only a .json file is read as one array; here the first line is one bad row, as any later line would be
    source = tmp_path / name
    source.write_text('["not", "an event"]\n' + "".join(json.dumps(event(n)) + "\n" for n in (1, 2)))

    result = ingest_file(source, config_dir=config_dir, data_dir=data_dir)

    assert (result.read, result.accepted, result.rejected) == (3, 2, 1)
    assert result.rejects_file is not None
    [rejected] = read_rejects(result.rejects_file)
    assert (rejected["line"], rejected["reason"]) == ("1", "expected a JSON object, got list")


def test_extra_columns_are_reported_as_ignored(tmp_path: Path, config_dir: Path, data_dir: Path) -> None:
    source = write_jsonl(tmp_path / "e.jsonl", [{**event(1), "id": 7}])
    result = ingest_file(source, config_dir=config_dir, data_dir=data_dir)
    assert result.accepted == 1
    assert result.ignored_columns == ("id",)


def test_a_key_that_is_not_unicode_text_is_listed_in_json_without_a_traceback(
    tmp_path: Path, config_dir: Path, data_dir: Path
) -> None:
    # JSON may escape a lone surrogate ("\\ud800") as a key; listed as an ignored column, it could not
    # be written to a UTF-8 stdout: a traceback after the rows were stored, and no summary
    source = tmp_path / "e.jsonl"
    source.write_text(json.dumps(event(1) | {"\ud800": 1}) + "\n")
    root = Path(retail_intel.__file__).resolve().parents[1]
    args = ["ingest", str(source), "--format", "json", "--config", str(config_dir), "--data-dir", str(data_dir)]
    done = subprocess.run(
        [sys.executable, "-m", "retail_intel", *args],
        capture_output=True,
        env={**os.environ, "PYTHONPATH": str(root), "PYTHONIOENCODING": "utf-8"},
        check=False,
    )

    assert done.returncode == 0, done.stderr.decode(errors="replace")
    summary = json.loads(done.stdout)
    assert (summary["accepted"], summary["ignored_columns"]) == (1, ["\ud800"])


def test_blank_header_cells_of_a_spreadsheet_are_unnamed_ignored_columns(
    tmp_path: Path, config_dir: Path, data_dir: Path
) -> None:
    # a sheet saved with empty columns right of the data: "...,action_type,," and every row ",,"
    source = tmp_path / "sheet.csv"
    rows = [",".join(REQUIRED_FIELDS) + ",,"] + [",".join(event(n)[f] for f in REQUIRED_FIELDS) + ",," for n in (1, 2)]
    source.write_text("\r\n".join(rows) + "\r\n")

    result = ingest_file(source, config_dir=config_dir, data_dir=data_dir)

    assert (result.read, result.accepted, result.rejected) == (2, 2, 0)
    assert result.ignored_columns == ("(unnamed column 6)", "(unnamed column 7)")


def test_a_csv_without_the_required_columns_is_refused(tmp_path: Path, config_dir: Path, data_dir: Path) -> None:
    source = tmp_path / "e.csv"
    source.write_text("customer_id,branch_id,enter_time\nx,b1,2026-02-08T10:00:00Z\n")
    with pytest.raises(InputError, match="missing exit_time, action_type"):
        ingest_file(source, config_dir=config_dir, data_dir=data_dir)


def test_an_unknown_extension_needs_input_format(tmp_path: Path, config_dir: Path, data_dir: Path) -> None:
    source = write_csv(tmp_path / "events.txt", [event(1)])
    # named input_format, the parameter (the CLI passes --input-format: the test below)
    with pytest.raises(InputError, match=r"or pass input_format jsonl\|csv$"):
        ingest_file(source, config_dir=config_dir, data_dir=data_dir)
    result = ingest_file(source, config_dir=config_dir, data_dir=data_dir, input_format=InputFormat.csv)
    assert result.accepted == 1


def test_ingest_messages_name_the_parameter_and_the_cli_its_flag(
    tmp_path: Path,
    config_dir: Path,
    data_dir: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # ingest_file said "--rejects: ..." and "pass --input-format" to a caller who wrote rejects_path=
    source = write_csv(tmp_path / "events.txt", [event(1)])
    with pytest.raises(InputError, match=r"^rejects_path: expected a file path .* leave rejects_path out for"):
        ingest_file(source, config_dir=config_dir, data_dir=data_dir, input_format="csv", rejects_path=Path("-"))
    with pytest.raises(InputError, match=r"^rejects_path: .* is the file being ingested"):
        ingest_file(source, config_dir=config_dir, data_dir=data_dir, input_format="csv", rejects_path=source)
    with pytest.raises(InputError, match=r"^--rejects: expected a file path"):
        check_rejects_path(Path("-"), name="--rejects")
    assert not data_dir.exists()
    result = run_cli(
        ["ingest", str(source), "--config", str(config_dir), "--data-dir", str(data_dir)], capsys, monkeypatch
    )
    assert result.exit_code == 1 and "or pass --input-format jsonl|csv" in result.stderr.replace("\n", "")


def _assert_only_the_no_rows_error(
    source: Path,
    flags: list[str],
    config_dir: Path,
    data_dir: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``ingest`` of a file without rows exits 1 with its error line alone and writes nothing."""
    args = ["ingest", str(source), *flags, "--config", str(config_dir), "--data-dir", str(data_dir)]
    result = run_cli(args, capsys, monkeypatch)

    assert result.exit_code == 1
    # the error line alone: no table of zeros on stdout, no "wrote 0 movement file(s)" before it
    assert result.stdout == ""
    assert [line for line in result.stderr.splitlines() if line.strip()] == [
        f"error: {source} holds no rows; nothing was ingested"
    ]
    assert movement_files(data_dir) == []


@pytest.mark.parametrize("content", ["", "\n\n", ",".join(REQUIRED_FIELDS) + "\n"])
def test_an_empty_file_is_reported_and_exits_1(
    tmp_path: Path,
    config_dir: Path,
    data_dir: Path,
    content: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    source = tmp_path / "empty.csv"
    source.write_text(content)

    _assert_only_the_no_rows_error(source, [], config_dir, data_dir, capsys, monkeypatch)


def test_cli_dash_reads_standard_input(
    tmp_path: Path,
    config_dir: Path,
    data_dir: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # `ingest -` said "-: no such file": a piped export (gunzip -c ... |) had to go through /dev/stdin
    monkeypatch.chdir(tmp_path)
    data = write_jsonl(tmp_path / "piped.jsonl", [event(1), event(2)]).read_bytes()
    args = ["ingest", "-", "--config", str(config_dir), "--data-dir", str(data_dir), "--format", "json"]

    def piped(*extra: str) -> Any:
        monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data)))
        return run_cli([*args, *extra], capsys, monkeypatch)

    first = piped("--input-format", "jsonl")
    assert first.exit_code == 0, first.stderr
    assert json.loads(first.stdout)["accepted"] == 2
    again = piped("--input-format", "jsonl")  # the same rows piped again add nothing
    assert json.loads(again.stdout)["already_present"] == 2
    assert set(read_movements(data_dir).column("source_video").to_pylist()) == {"stdin"}
    unknown = piped()  # refused before waiting for the end of the input
    assert unknown.exit_code == 1 and "FILE - (standard input) needs --input-format" in unknown.stderr
    assert not (tmp_path / "-").exists()
    # a JSON array piped in is read as one, as from a .json file (it was split into 23 bad rows)
    data = (json.dumps([event(3), event(4)], indent=2) + "\n").encode()
    array = piped("--input-format", "jsonl")
    assert array.exit_code == 0, array.stderr
    assert json.loads(array.stdout)["accepted"] == 2


def test_cli_exit_code_and_json_counts(
    tmp_path: Path,
    config_dir: Path,
    data_dir: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    good = write_jsonl(tmp_path / "good.jsonl", [event(1), event(2)])
    args = ["--config", str(config_dir), "--data-dir", str(data_dir), "--format", "json"]

    ok = run_cli(["ingest", str(good), *args], capsys, monkeypatch)
    assert ok.exit_code == 0
    counts = json.loads(ok.stdout)
    assert (counts["read"], counts["accepted"], counts["rejected"], counts["already_present"]) == (2, 2, 0, 0)

    again = run_cli(["ingest", str(good), *args], capsys, monkeypatch)
    assert again.exit_code == 0
    assert json.loads(again.stdout)["already_present"] == 2

    mixed = write_jsonl(tmp_path / "mixed.jsonl", [event(3), event(4, branch_id="nope")])
    bad = run_cli(["ingest", str(mixed), *args], capsys, monkeypatch)
    assert bad.exit_code == 1
    assert json.loads(bad.stdout)["rejected"] == 1
    assert "1 row(s) rejected" in bad.stderr

    only_bad = write_jsonl(tmp_path / "only-bad.jsonl", [event(5, branch_id="nope")])
    none = run_cli(
        ["ingest", str(only_bad), "--config", str(config_dir), "--data-dir", str(data_dir)], capsys, monkeypatch
    )
    assert none.exit_code == 1
    assert "no valid rows" in none.stderr
    assert "already present" in none.stdout  # the counts table is still shown


_offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(lambda m: dt.timezone(dt.timedelta(minutes=m)))
_instants = st.datetimes(min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2030, 1, 1)).map(
    lambda d: d.replace(tzinfo=dt.UTC)
)


@settings(
    max_examples=25,
    deadline=None,
    # replaces the suite's list (tests/conftest.py), which has too_slow
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    events=st.lists(
        st.tuples(_instants, st.floats(min_value=0, max_value=7200), _offsets, st.sampled_from(["entered", "passed"])),
        min_size=1,
        max_size=8,
    )
)
def test_any_valid_event_round_trips_to_the_same_instants(
    tmp_path_factory: pytest.TempPathFactory, config_dir: Path, events: list[tuple[dt.datetime, float, Any, str]]
) -> None:
    work = tmp_path_factory.mktemp("roundtrip")
    rows = []
    expected = {}
    for n, (enter, dwell, offset, action) in enumerate(events):
        exit_ = enter + dt.timedelta(seconds=round(dwell, 3))
        customer = str(uuid.UUID(int=1000 + n))
        rows.append(
            event(
                n,
                customer_id=customer,
                enter_time=enter.astimezone(offset).isoformat(),
                exit_time=exit_.astimezone(offset).isoformat(),
                action_type=action,
            )
        )
        expected[customer] = (enter, exit_, action)

    # the instants reach 2030: ingest as if it were then (limits may only narrow the plausible range)
    result = ingest_file(
        write_jsonl(work / "e.jsonl", rows),
        config_dir=config_dir,
        data_dir=work / "data",
        now=dt.datetime(2030, 1, 1, tzinfo=dt.UTC),
    )

    assert result.accepted == len(events)
    for row in read_movements(work / "data").to_pylist():
        enter, exit_, action = expected[row["customer_id"]]
        assert (row["enter_time"], row["exit_time"], row["action_type"]) == (enter, exit_, action)
        assert row["dwell_seconds"] == pytest.approx((exit_ - enter).total_seconds())


@pytest.mark.parametrize("fmt", ["table", "json", "csv"])
def test_a_file_with_no_rows_prints_only_its_error_line(
    fmt: str,
    tmp_path: Path,
    config_dir: Path,
    data_dir: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # `ingest empty.avi --input-format csv` printed a table of zeros and "wrote 0 movement file(s)" before its error
    source = tmp_path / "empty.avi"
    source.write_bytes(b"")
    _assert_only_the_no_rows_error(
        source, ["--input-format", "csv", "--format", fmt], config_dir, data_dir, capsys, monkeypatch
    )


@pytest.mark.parametrize("compacted", [False, True], ids=["own-file", "compacted-month"])
def test_rows_stored_by_an_earlier_run_stay_when_a_narrower_run_adds_one_to_their_day(
    compacted: bool, tmp_path: Path, config_dir: Path, data_dir: Path
) -> None:
    # Row 1 enters before --earliest of the first run; row 2 stays longer than --max-dwell of the second.
    early = event(1, enter_time="2026-02-08T08:00:00Z", exit_time="2026-02-08T08:01:00Z")
    long_stay = event(2, enter_time="2026-02-08T13:00:00Z", exit_time="2026-02-08T13:10:00Z")
    source = write_jsonl(tmp_path / "e.jsonl", [early, long_stay])
    earliest = TimeLimits(earliest=dt.datetime(2026, 2, 8, 12, tzinfo=dt.UTC))
    first = ingest_file(source, config_dir=config_dir, data_dir=data_dir, now=NOW, limits=earliest)
    assert (first.accepted, first.rejected) == (1, 1)
    if compacted:
        compact_store(data_dir, before=dt.date(2100, 1, 1))

    second = ingest_file(
        source, config_dir=config_dir, data_dir=data_dir, now=NOW, limits=TimeLimits(max_dwell=dt.timedelta(minutes=5))
    )

    assert (second.accepted, second.rejected, second.already_present) == (1, 1, 0)
    stored = read_movements(data_dir)
    assert sorted(stored.column("customer_id").to_pylist()) == [early["customer_id"], long_stay["customer_id"]]
    assert stored.column("enter_time").to_pylist() == sorted(stored.column("enter_time").to_pylist())


def test_a_file_with_a_very_long_name_gets_its_rejects_file(tmp_path: Path, config_dir: Path, data_dir: Path) -> None:
    name = "ü" * 100 + "x" * 40 + ".jsonl"  # 245 bytes: a legal name, too long for ".<hash>.rejects.csv" beside it
    source = write_jsonl(tmp_path / name, [event(1), event(2, branch_id="b9")])

    result = ingest_file(source, config_dir=config_dir, data_dir=data_dir, now=NOW)

    assert (result.accepted, result.rejected) == (1, 1)
    assert result.rejects_file is not None and result.rejects_file.name.endswith(".rejects.csv")
    assert len(result.rejects_file.name.encode()) <= 255
    assert result.rejects_file.name.startswith("ü" * 100)
    assert [r["line"] for r in read_rejects(result.rejects_file)] == ["2"]


def test_input_format_given_as_a_string_reads_the_file_as_that_format(
    tmp_path: Path, config_dir: Path, data_dir: Path
) -> None:
    source = write_csv(tmp_path / "events.txt", [event(1), event(2)])
    result = ingest_file(source, config_dir=config_dir, data_dir=data_dir, input_format="csv", now=NOW)
    assert result.format is InputFormat.csv
    assert (result.read, result.accepted, result.rejected) == (2, 2, 0)


def test_an_unknown_input_format_is_refused_naming_the_parameter(
    tmp_path: Path, config_dir: Path, data_dir: Path
) -> None:
    source = write_csv(tmp_path / "events.csv", [event(1)])
    with pytest.raises(InputError, match=r"input_format must be one of jsonl, csv, got 'xml'"):
        ingest_file(source, config_dir=config_dir, data_dir=data_dir, input_format="xml", now=NOW)
    assert not data_dir.exists()


@pytest.mark.parametrize(
    ("limits", "error", "message"),
    [
        (
            TimeLimits(earliest=dt.datetime(1970, 1, 1, tzinfo=dt.UTC)),
            InputError,
            r"^limits can only narrow the plausible range 2000-01-01T00:00:00\+00:00 \.\. 2026-02-10T12:00:00\+00:00 "
            r"\(the KPIs refuse anything outside it\), got 1970-01-01",
        ),
        (TimeLimits(max_dwell=dt.timedelta(days=3)), InputError, r"^limits.max_dwell must be between 0 and 24.0 h"),
        (
            TimeLimits(earliest=dt.datetime(2026, 2, 9, tzinfo=dt.UTC), latest=dt.datetime(2026, 2, 1, tzinfo=dt.UTC)),
            InputError,
            r"^limits.earliest must not be after limits.latest",
        ),
        (TimeLimits(earliest=dt.datetime(2026, 1, 1)), TimeError, r"^limits.earliest must carry a timezone"),
    ],
)
def test_limits_that_widen_or_empty_the_plausible_range_are_refused(
    tmp_path: Path, config_dir: Path, data_dir: Path, limits: TimeLimits, error: type[Exception], message: str
) -> None:
    # The CLI refused these, ingest_file took them: a 1970 row was stored and kpis then refused its file,
    # reversed limits rejected every row as implausible, a naive time raised a bare TypeError.
    source = write_jsonl(tmp_path / "e.jsonl", [event(1, enter_time="1999-12-31T10:00:00Z")])
    with pytest.raises(error, match=message):
        ingest_file(source, config_dir=config_dir, data_dir=data_dir, now=NOW, limits=limits)
    assert not data_dir.exists()
