"""The guards behind the hardening: plausible times, data-dir checks, locks, owed KPIs, ledger lines, full disks."""

from __future__ import annotations

import datetime as dt
import errno
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from retail_intel.batch.ledger import Ledger, LedgerEntry, ledger_path
from retail_intel.batch.pending import add_pending, clear_pending, load_pending, pending_path
from retail_intel.datadir import describe_data_dir, require_retail_data
from retail_intel.errors import DataError, WriteError
from retail_intel.ingest import ingest_file
from retail_intel.locking import data_dir_lock, lock_path
from retail_intel.movements.filecheck import refuse_implausible
from retail_intel.movements.plausible import TimeLimits
from retail_intel.movements.schema import MOVEMENT_SCHEMA
from retail_intel.movements.store import write_movements
from tests.cli_helpers import run_cli

UTC = dt.UTC
ROOT = Path(__file__).resolve().parents[1]
CONFIG = "branches:\n  - {id: b1, name: One, capacity: 10}\n"


def _event(n: int, enter: str, exit_: str) -> str:
    return json.dumps(
        {
            "customer_id": f"00000000-0000-4000-8000-{n:012d}",
            "branch_id": "b1",
            "enter_time": enter,
            "exit_time": exit_,
            "action_type": "entered",
        }
    )


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "config"
    directory.mkdir()
    (directory / "branches.yaml").write_text(CONFIG)
    return directory


# ------------------------------------------------------------------ plausible times


def test_time_limits_name_each_problem() -> None:
    limits = TimeLimits().resolved(dt.datetime(2026, 2, 8, 12, 0, 0, 500, tzinfo=UTC))
    assert limits.latest == dt.datetime(2026, 2, 9, 12, tzinfo=UTC)
    fine = dt.datetime(2026, 2, 8, 10, tzinfo=UTC)
    assert limits.problems(fine, fine + dt.timedelta(hours=24)) == []
    kinds = [k for k, _ in limits.problems(dt.datetime(1, 1, 1, tzinfo=UTC), dt.datetime(1, 1, 1, 1, tzinfo=UTC))]
    assert kinds == ["implausible time", "implausible time"]
    [(kind, message)] = limits.problems(fine, fine + dt.timedelta(hours=25))
    assert kind == "dwell too long" and "25.0 h, more than the maximum dwell 24.0 h" in message


def test_ingest_flags_narrow_the_range_and_refuse_to_widen_it(
    tmp_path: Path, config_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    events = tmp_path / "e.jsonl"
    events.write_text(
        _event(1, "2026-02-08T10:00:00Z", "2026-02-08T10:30:00Z")
        + "\n"
        + _event(2, "2026-02-08T10:00:00Z", "2026-02-08T12:00:00Z")
        + "\n"
    )
    common = ["--config", str(config_dir), "--data-dir", str(tmp_path / "data"), "--format", "json"]
    narrowed = run_cli(["ingest", str(events), "--max-dwell", "1h", *common], capsys, monkeypatch)
    assert narrowed.exit_code == 1
    assert json.loads(narrowed.stdout)["reject_kinds"] == {"dwell too long": 1}
    widened = run_cli(["ingest", str(events), "--earliest", "1990-01-01T00:00:00Z", *common], capsys, monkeypatch)
    assert widened.exit_code == 1 and "can only narrow the plausible range" in widened.stderr
    too_long = run_cli(["ingest", str(events), "--max-dwell", "2d", *common], capsys, monkeypatch)
    assert too_long.exit_code == 1 and "--max-dwell can be at most 24h" in too_long.stderr
    absurd = run_cli(["ingest", str(events), "--max-dwell", "99999999999h", *common], capsys, monkeypatch)
    assert absurd.exit_code == 1 and "--max-dwell can be at most 24h" in absurd.stderr  # no overflow traceback
    # --earliest after --latest (swapped, or after now + 1 day) rejected every row as "implausible time"
    swapped = ["--earliest", "2026-02-09T00:00:00Z", "--latest", "2026-02-01T00:00:00Z"]
    empty = run_cli(["ingest", str(events), *swapped, *common], capsys, monkeypatch)
    assert empty.exit_code == 1 and empty.stdout == ""
    assert empty.stderr.strip().startswith("error: --earliest must not be after --latest")
    assert "2026-02-09T00:00:00+00:00 .. 2026-02-01T00:00:00+00:00" in empty.stderr


def _movements(enter: dt.datetime, exit_: dt.datetime) -> pa.Table:
    row: dict[str, object] = {name: None for name in MOVEMENT_SCHEMA.names}
    row.update(
        customer_id="c",
        branch_id="b1",
        action_type="entered",
        enter_time=enter,
        exit_time=exit_,
        exit_observed=True,
        dwell_seconds=(exit_ - enter).total_seconds(),
        first_seen=enter,
        last_seen=exit_,
        source_video="s",
        video_fingerprint="f",
        processed_at=exit_,
    )
    return pa.Table.from_pylist([row], schema=MOVEMENT_SCHEMA)


def test_refuse_implausible_names_only_the_files_holding_such_times(tmp_path: Path) -> None:
    good = tmp_path / "good.parquet"
    bad = tmp_path / "bad.parquet"
    day = dt.datetime(2026, 2, 8, 10, tzinfo=UTC)
    pq.write_table(_movements(day, day + dt.timedelta(minutes=5)), good)
    pq.write_table(_movements(dt.datetime(1970, 1, 1, tzinfo=UTC), dt.datetime(1970, 1, 1, 0, 1, tzinfo=UTC)), bad)
    refuse_implausible(pq.read_table(good), [good])  # nothing to say
    both = pa.concat_tables([pq.read_table(good), pq.read_table(bad)])
    with pytest.raises(DataError, match=r"^[^,]*bad\.parquet: holds movements outside the plausible range"):
        refuse_implausible(both, [good, bad])


@pytest.fixture(scope="module")
def demo_site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from retail_intel.demo import generate_demo

    root = tmp_path_factory.mktemp("demo")
    generate_demo(root / "config", root / "data", branches=1, days=2, seed=1, start=dt.date(2026, 1, 5))
    return root / "config", root / "data"


@pytest.mark.parametrize("table", ["movements", "zone_visits", "queue_visits", "queue_lengths"])
def test_a_truncated_file_in_any_table_is_named_by_the_zone_kpis_quality_and_kpis(
    demo_site: tuple[Path, Path], tmp_path: Path, table: str
) -> None:
    # One truncated zone or movement file (a half-copied store) stopped kpis, kpis --zones, zones,
    # report and quality with "data/queue_visits: cannot read the Parquet files (...)": no file named
    from retail_intel.config import load_config
    from retail_intel.kpis import compute_kpis
    from retail_intel.kpis.quality import door_quality
    from retail_intel.kpis.zone_compute import compute_zone_kpis

    config_dir, data_dir = demo_site
    data = tmp_path / "data"
    shutil.copytree(data_dir, data)
    day = next((data / table / "demo-001").iterdir())
    bad = day / "broken.parquet"
    bad.write_bytes(b"PAR1 half a file")
    config = load_config(config_dir)
    named = re.escape(f"{bad}: not a readable Parquet file")

    with pytest.raises(DataError, match=f"^{named}"):
        compute_zone_kpis(config, data, window_minutes=60)
    if table in ("movements", "queue_visits"):  # the tables the branch KPIs read
        with pytest.raises(DataError, match=f"^{named}"):
            compute_kpis(config, data, window_minutes=60)
    if table == "movements":
        with pytest.raises(DataError, match=f"^{named}"):
            door_quality(config, data)


# ------------------------------------------------------------------ the data directory


def test_describe_data_dir_says_what_is_there(tmp_path: Path) -> None:
    missing = describe_data_dir(tmp_path / "typo")
    assert not missing.exists and not missing.is_retail_data and "no such directory" in (missing.problem() or "")
    assert "holds no retail-intel data" in (describe_data_dir(tmp_path).problem() or "")
    (tmp_path / "movements" / "b1" / "2026-02-08").mkdir(parents=True)
    pq.write_table(MOVEMENT_SCHEMA.empty_table(), tmp_path / "movements" / "b1" / "2026-02-08" / "x.parquet")
    summary = describe_data_dir(tmp_path)
    assert summary.is_retail_data and summary.movement_files == 1 and summary.problem() is None
    assert summary.as_dict()["folders"] == ["movements"]
    assert require_retail_data(tmp_path).folders == ("movements",)


@pytest.mark.parametrize(
    "command",
    [
        ["sql", "SELECT count(*) FROM customer_branch_movement"],
        ["kpis"],
        ["etl"],
        ["kpis", "--zones"],
        ["zones", "--branch", "b1", "--date", "2026-02-09"],
        ["zones", "--branch", "b1", "--rejudge"],
        ["quality"],
    ],
)
def test_a_data_dir_without_retail_data_is_one_line(
    tmp_path: Path,
    config_dir: Path,
    command: list[str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (tmp_path / "elsewhere").mkdir()
    result = run_cli(
        [*command, "--config", str(config_dir), "--data-dir", str(tmp_path / "elsewhere")], capsys, monkeypatch
    )
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and "holds no retail-intel data (no movements/" in result.stderr


def test_a_data_dir_with_only_a_preview_says_so(
    tmp_path: Path, config_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # after `process vtest.avi --max-frames 100`, `report`/`kpis` said "holds no retail-intel data ... write data
    # first (process, ...)" of the directory process had just written to
    preview = tmp_path / "previews" / "movements" / "b1" / "2026-02-08"
    preview.mkdir(parents=True)
    pq.write_table(MOVEMENT_SCHEMA.empty_table(), preview / "vtest-45cddc9490be6934.parquet")
    assert not describe_data_dir(tmp_path).is_retail_data  # previews are still not data
    result = run_cli(["kpis", "--config", str(config_dir), "--data-dir", str(tmp_path)], capsys, monkeypatch)
    assert result.exit_code == 1 and result.stderr.count("\n") == 1
    assert "holds only previews" in result.stderr and "without --max-frames" in result.stderr


def test_a_movement_file_cannot_be_written_outside_its_folder(tmp_path: Path) -> None:
    table = MOVEMENT_SCHEMA.empty_table()
    for branch, key in (("../../evil", "k"), ("b1", "../k"), (".hidden", "k")):
        with pytest.raises(DataError, match="cannot be used as a folder or file name"):
            write_movements(table, tmp_path / "data", branch_id=branch, day=dt.date(2026, 2, 8), source_key=key)
    assert not (tmp_path / "data").exists()


# ------------------------------------------------------------------ full disk


def test_a_full_disk_in_ingest_is_one_line_naming_the_file(
    tmp_path: Path, config_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    events = tmp_path / "e.jsonl"
    events.write_text(_event(1, "2026-02-08T10:00:00Z", "2026-02-08T10:30:00Z") + "\n")

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(pq, "write_table", full)
    args = ["ingest", str(events), "--config", str(config_dir), "--data-dir", str(tmp_path / "data")]
    result = run_cli(args, capsys, monkeypatch)
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    [line] = result.stderr.splitlines()
    assert ".parquet: cannot be written (No space left on device; free some space" in line
    assert not list((tmp_path / "data" / "movements").rglob("*.tmp"))  # no temporary file left behind


def test_a_full_disk_in_kpis_is_one_line_naming_the_file(
    tmp_path: Path, config_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    events = tmp_path / "e.jsonl"
    events.write_text(_event(1, "2026-02-08T10:00:00Z", "2026-02-08T10:30:00Z") + "\n")
    ingest_file(events, config_dir=config_dir, data_dir=tmp_path / "data")

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(pq, "write_table", full)
    args = ["kpis", "--config", str(config_dir), "--data-dir", str(tmp_path / "data"), "--format", "csv"]
    result = run_cli(args, capsys, monkeypatch)
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    [line] = result.stderr.splitlines()
    assert "kpis/60m/b1.parquet: cannot be written (No space left on device" in line


def test_a_write_error_is_also_an_os_error_and_keeps_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from retail_intel import storage

    target = tmp_path / "f.json"
    storage.atomic_write_bytes(b"old", target)

    def refused(src: object, dst: object) -> None:
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))

    monkeypatch.setattr(os, "replace", refused)
    with pytest.raises(WriteError, match=r"f\.json: cannot be written \(Permission denied\)") as raised:
        storage.atomic_write_bytes(b"new", target)
    # callers that handle failed writes as OSError (the batch) keep doing so
    assert isinstance(raised.value, OSError) and raised.value.errno == errno.EACCES
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["f.json"]


# ------------------------------------------------------------------ locks


def test_a_held_lock_makes_the_second_writer_wait_or_refuse(tmp_path: Path) -> None:
    told: list[str] = []
    refused = pytest.raises(DataError, match=rf"another ingest is writing to it \(pid {os.getpid()} on ")
    with data_dir_lock(tmp_path, "ingest"):
        with refused, data_dir_lock(tmp_path, "ingest", wait=False):
            pass
        with data_dir_lock(tmp_path, "batch", on_wait=told.append):  # another name: no conflict
            pass
    with data_dir_lock(tmp_path, "ingest", on_wait=told.append):  # free again
        pass
    assert told == []


HOLDER = """
import sys, time
from pathlib import Path
from retail_intel.locking import data_dir_lock
with data_dir_lock(Path(sys.argv[1]), "batch"):
    print("held", flush=True)
    time.sleep(600)
"""


def test_a_lock_of_a_killed_process_is_free_at_once(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path)],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == b"held"
        with pytest.raises(DataError, match=f"pid {holder.pid}"), data_dir_lock(tmp_path, "batch", wait=False):
            pass
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    told: list[str] = []
    began = time.monotonic()
    with data_dir_lock(tmp_path, "batch", on_wait=told.append):
        assert told == []  # the kernel dropped the lock with the process; no stale lock file to clean
    assert time.monotonic() - began < 60
    assert lock_path(tmp_path, "batch").exists()


def test_ingest_waits_for_a_running_ingest(tmp_path: Path, config_dir: Path) -> None:
    events = tmp_path / "e.jsonl"
    events.write_text(_event(1, "2026-02-08T10:00:00Z", "2026-02-08T10:30:00Z") + "\n")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER.replace('"batch"', '"ingest"'), str(tmp_path / "data")],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
    )
    told: list[str] = []
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == b"held"

        def release(holder_text: str) -> None:
            told.append(holder_text)
            holder.send_signal(signal.SIGKILL)  # the other ingest ends; this one goes on

        result = ingest_file(events, config_dir=config_dir, data_dir=tmp_path / "data", on_wait=release)
    finally:
        holder.kill()
        holder.wait()
    assert result.accepted == 1 and len(told) == 1 and f"pid {holder.pid}" in told[0]


# ------------------------------------------------------------------ owed KPIs and the ledger


def test_owed_kpi_spans_are_merged_per_branch_and_cleared(tmp_path: Path) -> None:
    assert load_pending(tmp_path) == []
    a = dt.datetime(2026, 2, 8, 10, tzinfo=UTC)
    known: list[tuple[str, dt.datetime, dt.datetime]] = []
    add_pending(tmp_path, [("b1", a, a + dt.timedelta(hours=1))], known)
    add_pending(tmp_path, [("b1", a + dt.timedelta(hours=2), a + dt.timedelta(hours=3)), ("b2", a, a)], known)
    assert sorted(load_pending(tmp_path)) == [("b1", a, a + dt.timedelta(hours=3)), ("b2", a, a)]
    clear_pending(tmp_path)
    assert not pending_path(tmp_path).exists()
    pending_path(tmp_path).write_text("[1, 2]")
    with pytest.raises(DataError, match=r"kpis-pending\.json: not a list of owed KPI spans"):
        load_pending(tmp_path)


def test_a_ledger_line_that_is_json_but_no_entry_is_named_with_its_line(tmp_path: Path) -> None:
    path = ledger_path(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text('{"key": "a", "status": "do\n[1, 2, 3]\n')  # a torn line, then a foreign one
    with pytest.raises(DataError, match=r"ledger\.jsonl, line 2: not a ledger entry \(expected a JSON object"):
        Ledger.load(tmp_path)
    path.write_text('{"key": "a", "status": "do\n{"key": "b"}\n')
    with pytest.raises(DataError, match=r"line 2: not a ledger entry .*remove that line"):
        Ledger.load(tmp_path)
    path.write_text('{"key": "a", "status": "do\n')
    assert Ledger.load(tmp_path).torn_lines == 1  # a kill's torn line is still just skipped


# one finished file's ledger entry, as the ledger tests below write and read it
LEDGER_ENTRY = LedgerEntry(
    key="k",
    status="done",
    video="/v/door.avi",
    fingerprint="f",
    size=1,
    mtime_ns=1,
    settings_hash="s",
    model_hash="m",
    prev_key=None,
    branch="b1",
    camera="door",
    start_time="2026-02-08T09:00:00+00:00",
    duration_s=5.0,
)


@pytest.mark.parametrize(
    ("field", "value", "why"),
    [
        ("start_time", "08.02.2026 10:00", "Invalid isoformat string"),
        ("start_time", "2026-02-08T10:00:00", "no UTC offset"),
        ("start_time", 1770541200, "must be str"),
        ("duration_s", "5 s", "duration_s must be a number"),
        ("duration_s", 1e300, "too large|out of range|magnitude"),
    ],
)
def test_a_ledger_line_with_a_bad_time_is_named_with_its_line(
    tmp_path: Path, field: str, value: object, why: str
) -> None:
    entry = LEDGER_ENTRY
    good = json.loads(entry.to_line())
    path = ledger_path(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(good) + "\n" + json.dumps({**good, field: value}) + "\n")
    with pytest.raises(DataError, match=rf"ledger\.jsonl, line 2: not a ledger entry \(.*({why})"):
        Ledger.load(tmp_path)
    path.write_text(json.dumps(good) + "\n")
    assert Ledger.load(tmp_path).get("k") == entry


def test_a_ledger_line_that_cannot_be_written_is_one_line_naming_the_ledger(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the batch reports it as the file's reason ("recording the result failed: ..."): the ledger and
    # why, with what to do on a full disk, as for any output file; not "OSError: [Errno 28] ..."
    entry = LEDGER_ENTRY
    ledger = Ledger.load(tmp_path)

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with monkeypatch.context() as patched:
        patched.setattr(os, "fsync", full)
        with pytest.raises(WriteError, match=r"ledger\.jsonl: cannot be written \(No space left on device; free some"):
            ledger.append(entry)
    ledger_path(tmp_path).unlink()
    ledger_path(tmp_path).mkdir()  # something in the way of the file
    with pytest.raises(WriteError, match=r"ledger\.jsonl: cannot be written \(Is a directory\)"):
        ledger.append(entry)


@pytest.mark.parametrize("text", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-23:59"])
def test_a_time_pushed_off_the_calendar_by_its_offset_is_one_clear_error(text: str) -> None:
    from retail_intel.errors import TimeError
    from retail_intel.timeutil import parse_datetime

    with pytest.raises(TimeError, match="between the years 1 and 9999"):
        parse_datetime(text)
