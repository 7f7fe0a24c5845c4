"""``retail-intel quality``: door imbalance per camera and local day, on hand-written movements."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyarrow as pa
import pytest

from retail_intel.config.loader import load_config
from retail_intel.errors import InputError
from retail_intel.kpis.quality import door_quality
from retail_intel.movements.schema import MOVEMENT_SCHEMA
from retail_intel.movements.store import write_movements
from tests.cli_helpers import run_cli

CONFIG = Path(__file__).parents[1] / "config"
UTC = dt.UTC


def rows(camera: str, people: list[dict[str, object]]) -> pa.Table:
    base = dt.datetime(2026, 2, 8, 10, tzinfo=UTC)  # 10:00 in London (GMT in February)
    full = []
    for k, person in enumerate(people):
        enter = base + dt.timedelta(minutes=k)
        row: dict[str, object] = {name: None for name in MOVEMENT_SCHEMA.names}
        row |= {
            "customer_id": f"{camera}-{k}",
            "branch_id": "b1",
            "camera_id": camera,
            "action_type": "entered",
            "enter_time": enter,
            "exit_time": enter + dt.timedelta(minutes=5),
            "exit_observed": True,
            "dwell_seconds": 300.0,
            "first_seen": enter,
            "last_seen": enter + dt.timedelta(minutes=5),
            "source_video": f"{camera}.mp4",
            "video_fingerprint": camera,
            "processed_at": base,
        }
        row |= person
        full.append(row)
    return pa.Table.from_pylist(full, schema=MOVEMENT_SCHEMA)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    day = dt.date(2026, 2, 8)
    door = rows(
        "door",
        [
            {"line_in": 1, "line_out": 1},
            {"line_in": 2, "line_out": 0},  # came in twice, left unseen
            {"line_in": 1, "line_out": 1},
            {"line_in": 3, "line_out": 3, "is_staff": True, "staff_reason": "door crossed 6 times"},
            {"action_type": "passed", "line_in": 0, "line_out": 0},
        ],
    )
    floor = rows("floor", [{}, {"exit_observed": False}, {}, {}])  # no line: one in each, three outs seen
    write_movements(door, tmp_path, branch_id="b1", day=day, source_key="door-1")
    write_movements(floor, tmp_path, branch_id="b1", day=day, source_key="floor-1")
    return tmp_path


def test_door_balance_per_camera_and_day(data_dir: Path) -> None:
    table = door_quality(load_config(CONFIG), data_dir, branch="b1")
    door, floor = table.to_pylist()
    # door: ins 1 + 2 + 1 = 4, outs 1 + 0 + 1 = 2 (staff and the passer-by left out)
    assert (door["camera_id"], door["people"], door["staff"], door["ins"], door["outs"]) == ("door", 5, 1, 4, 2)
    assert door["imbalance"] == 2 and door["imbalance_ratio"] == 0.5 and door["flagged"]
    assert (floor["ins"], floor["outs"], floor["imbalance"], floor["imbalance_ratio"]) == (4, 3, 1, 0.25)
    assert floor["date"] == dt.date(2026, 2, 8) and floor["flagged"]
    lenient = door_quality(load_config(CONFIG), data_dir, branch="b1", threshold=0.3).to_pylist()
    assert [r["flagged"] for r in lenient] == [True, False]
    assert door_quality(load_config(CONFIG), data_dir, start=dt.date(2026, 2, 9)).num_rows == 0


def test_a_ratio_of_exactly_the_threshold_is_not_flagged(tmp_path: Path) -> None:
    # ratio 0.57 shown next to flagged = true at --threshold 0.57: 57 > 0.57 * 100 (56.99999999999999)
    door = rows("door", [{"line_in": 100, "line_out": 43}])
    write_movements(door, tmp_path, branch_id="b1", day=dt.date(2026, 2, 8), source_key="door-1")
    [row] = door_quality(load_config(CONFIG), tmp_path, branch="b1", threshold=0.57).to_pylist()
    assert (row["imbalance"], row["imbalance_ratio"], row["flagged"]) == (57, 0.57, False)
    [row] = door_quality(load_config(CONFIG), tmp_path, branch="b1", threshold=0.56).to_pylist()
    assert row["flagged"]
    # a day with outs but no ins: any imbalance is flagged
    door = rows("door", [{"line_in": 0, "line_out": 2}])
    write_movements(door, tmp_path, branch_id="b1", day=dt.date(2026, 2, 8), source_key="door-1")
    [row] = door_quality(load_config(CONFIG), tmp_path, branch="b1", threshold=1.0).to_pylist()
    assert (row["ins"], row["imbalance_ratio"], row["flagged"]) == (0, None, True)


def test_rows_of_other_action_types_are_not_people(tmp_path: Path) -> None:
    # an 'exited' row (a foreign export's) of a clerk counted as a second person and a second staff
    # member, though the KPIs ignore action types other than entered and passed
    day = dt.date(2026, 2, 8)
    table = rows(
        "door", [{"line_in": 1, "line_out": 1}, {"is_staff": True}, {"action_type": "exited", "is_staff": True}]
    )
    write_movements(table, tmp_path, branch_id="b1", day=day, source_key="door-1")
    [door] = door_quality(load_config(CONFIG), tmp_path, branch="b1").to_pylist()
    assert (door["people"], door["staff"], door["ins"], door["outs"]) == (2, 1, 1, 1)


def test_cli_json_and_bad_threshold(
    data_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    args = ["quality", "--config", str(CONFIG), "--data-dir", str(data_dir), "--format", "json"]
    result = run_cli(args, capsys, monkeypatch)
    assert result.exit_code == 0, result.stderr
    assert [r["imbalance"] for r in json.loads(result.stdout)] == [2, 1]
    bad = run_cli([*args, "--threshold", "2"], capsys, monkeypatch)
    assert bad.exit_code == 2 and "--threshold" in bad.stderr


def test_an_empty_range_is_one_line_as_a_table_and_stays_parseable_as_json_and_csv(
    data_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # a table printed "no rows for ..." and then the empty table's header under it
    args = [
        "quality",
        "--config",
        str(CONFIG),
        "--data-dir",
        str(data_dir),
        "--from",
        "2030-01-01",
        "--to",
        "2030-01-02",
    ]
    table = run_cli(args, capsys, monkeypatch)
    assert table.exit_code == 0, table.stderr
    assert table.stdout == "" and table.stderr == "no rows for Door balance per camera and day\n"
    as_json = run_cli([*args, "--format", "json"], capsys, monkeypatch)
    assert json.loads(as_json.stdout) == []
    as_csv = run_cli([*args, "--format", "csv"], capsys, monkeypatch)
    assert as_csv.stdout.startswith("branch_id,camera_id,date,") and as_csv.stdout.count("\n") == 1


def test_serve_route(data_dir: Path) -> None:
    from retail_intel.serve import create_app
    from tests.test_serve_support import Api

    api = Api(create_app(CONFIG, data_dir))
    rows = api.ok("/quality/branch/b1", params={"from": "2026-02-08", "to": "2026-02-08", "threshold": 0.3})
    assert [(r["camera_id"], r["imbalance"], r["flagged"]) for r in rows] == [("door", 2, True), ("floor", 1, False)]
    assert api.get("/quality/branch/nope").status_code == 404
    assert api.get("/quality/branch/b1", params={"threshold": 3}).status_code == 422


def test_serve_docs_say_the_date_routes_include_their_to_day(data_dir: Path) -> None:
    # docs/serve.md said "from is inclusive and to exclusive everywhere", but to=2026-02-08 of
    # /quality (and /report) includes that day, as quality --to and report --to do
    from retail_intel.serve import create_app
    from tests.test_serve_support import Api

    api = Api(create_app(CONFIG, data_dir))
    rows = api.ok("/quality/branch/b1", params={"from": "2026-02-08", "to": "2026-02-08"})
    assert {r["date"] for r in rows} == {"2026-02-08"}
    doc = " ".join((Path(__file__).resolve().parents[1] / "docs" / "serve.md").read_text().split())
    assert "exclusive everywhere" not in doc
    assert "the local dates (`YYYY-MM-DD`) of `/report` and `/quality` include their `to` day" in doc


def test_kpis_cli_leaves_staff_out_unless_asked(
    data_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    args = ["kpis", "--window", "1d", "--branch", "b1", "--config", str(CONFIG), "--data-dir", str(data_dir)]
    plain = run_cli([*args, "--format", "json"], capsys, monkeypatch)
    assert plain.exit_code == 0, plain.stderr
    both = run_cli([*args, "--format", "json", "--include-staff"], capsys, monkeypatch)
    (day,), (with_staff,) = json.loads(plain.stdout), json.loads(both.stdout)
    # 8 entered on the two cameras (4 at the door, one of them the clerk, and 4 on the floor)
    assert (day["visitors"], with_staff["visitors"]) == (7, 8)
    assert day["observed_staff"] == with_staff["observed_staff"] > 0


def test_kpis_with_staff_are_shown_but_not_stored(
    data_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # the stored rows carry no mark of their definition: after --include-staff, serve's
    # /kpis/branch answered 8 visitors where the report (which computes its own) said 7
    from retail_intel.serve import create_app
    from tests.test_serve_support import Api

    args = ["kpis", "--window", "1d", "--branch", "b1", "--config", str(CONFIG), "--data-dir", str(data_dir)]
    assert run_cli([*args, "--format", "json"], capsys, monkeypatch).exit_code == 0
    both = run_cli([*args, "--format", "json", "--include-staff"], capsys, monkeypatch)
    assert both.exit_code == 0, both.stderr
    assert json.loads(both.stdout)[0]["visitors"] == 8
    assert "not stored (--include-staff" in " ".join(both.stderr.split())
    stored = Api(create_app(CONFIG, data_dir)).ok("/kpis/branch/b1", params={"window": "1d"})
    assert [r["visitors"] for r in stored["rows"]] == [7]


def test_compute_kpis_refuses_to_store_kpis_with_staff(data_dir: Path) -> None:
    # the rule is the library's, so a Python caller cannot store them either; write=False computes them
    from retail_intel.errors import InputError
    from retail_intel.kpis.compute import compute_kpis

    config = load_config(CONFIG)
    with pytest.raises(InputError, match=r"include_staff: .*not stored.*write=False"):
        compute_kpis(config, data_dir, window_minutes=1440, branch="b1", include_staff=True)
    assert not (data_dir / "kpis").exists()
    # refused before the store is read: a mistyped data directory is not the error it gets
    with pytest.raises(InputError, match=r"include_staff: "):
        compute_kpis(config, data_dir / "nope", window_minutes=1440, include_staff=True)
    shown = compute_kpis(config, data_dir, window_minutes=1440, branch="b1", include_staff=True, write=False)
    assert shown.table.column("visitors").to_pylist() == [8]
    assert not (data_dir / "kpis").exists()


@pytest.mark.parametrize("window", ["60m", "1d"])
def test_an_out_after_midnight_is_the_next_days_as_in_the_kpis(
    tmp_path: Path, window: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # London is on GMT in February. One customer in at 23:50, out at 00:10 the next day; one
    # earlier in the evening; one the next morning. Each door count belongs to the day it happened.
    late = dt.datetime(2026, 2, 8, 23, 50, tzinfo=UTC)
    people = rows("door", [{}, {}, {}])
    times = [(late - dt.timedelta(hours=5), 30), (late, 20), (late + dt.timedelta(hours=10), 30)]
    people = pa.Table.from_pylist(
        [
            row | {"enter_time": t, "exit_time": t + dt.timedelta(minutes=m), "first_seen": t}
            for row, (t, m) in zip(people.to_pylist(), times, strict=True)
        ],
        schema=MOVEMENT_SCHEMA,
    )
    write_movements(people, tmp_path, branch_id="b1", day=late.date(), source_key="door-1")
    quality = door_quality(load_config(CONFIG), tmp_path, branch="b1").to_pylist()
    assert [(r["date"], r["people"], r["ins"], r["outs"], r["imbalance"]) for r in quality] == [
        (dt.date(2026, 2, 8), 2, 2, 1, 1),
        (dt.date(2026, 2, 9), 1, 1, 2, -1),
    ]
    # the KPIs give the same figure per day, whatever the window size
    args = ["kpis", "--window", window, "--branch", "b1", "--format", "json"]
    result = run_cli([*args, "--config", str(CONFIG), "--data-dir", str(tmp_path)], capsys, monkeypatch)
    assert result.exit_code == 0, result.stderr
    per_day = {r["window_start"][:10]: r["occupancy_imbalance"] for r in json.loads(result.stdout)}
    assert per_day == {str(r["date"]): r["imbalance"] for r in quality}


def test_a_passer_by_is_booked_on_the_day_of_first_seen_as_in_the_kpis(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # London is on GMT in February. A passer-by first seen at 23:59:50 whose enter_time is 00:00:05
    # the next day: the KPIs count them as passed on the 8th (first_seen), quality put them on the 9th.
    seen = dt.datetime(2026, 2, 8, 23, 59, 50, tzinfo=UTC)
    later = seen + dt.timedelta(seconds=15)
    [passer] = rows("door", [{"action_type": "passed", "line_in": 0, "line_out": 0}]).to_pylist()
    passer |= {"first_seen": seen, "enter_time": later, "exit_time": later, "last_seen": later}
    table = pa.Table.from_pylist([passer], schema=MOVEMENT_SCHEMA)
    write_movements(table, tmp_path, branch_id="b1", day=seen.date(), source_key="door-1")
    quality = door_quality(load_config(CONFIG), tmp_path, branch="b1").to_pylist()
    assert [(r["date"], r["people"]) for r in quality] == [(dt.date(2026, 2, 8), 1)]
    args = ["kpis", "--window", "1d", "--branch", "b1", "--format", "json", "--config", str(CONFIG)]
    result = run_cli([*args, "--data-dir", str(tmp_path)], capsys, monkeypatch)
    assert result.exit_code == 0, result.stderr
    assert {r["window_start"][:10]: r["passed"] for r in json.loads(result.stdout)} == {"2026-02-08": 1}


def test_the_library_names_parameters_and_the_cli_its_flags(
    data_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # door_quality said "--threshold must be ..." and "--to must not be before --from" to a Python caller
    config = load_config(CONFIG)
    with pytest.raises(InputError, match=r"^threshold must be between 0 and 1, got 2"):
        door_quality(config, data_dir, threshold=2)
    with pytest.raises(InputError, match=r"^end must not be before start, got from 2026-02-09 to 2026-02-08"):
        door_quality(config, data_dir, start=dt.date(2026, 2, 9), end=dt.date(2026, 2, 8))
    args = [
        "quality",
        "--config",
        str(CONFIG),
        "--data-dir",
        str(data_dir),
        "--from",
        "2026-02-09",
        "--to",
        "2026-02-08",
    ]
    result = run_cli(args, capsys, monkeypatch)
    assert (
        result.exit_code == 1 and "--to must not be before --from, got from 2026-02-09 to 2026-02-08" in result.stderr
    )
