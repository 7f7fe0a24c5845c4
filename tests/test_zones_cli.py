"""``retail-intel zones`` and ``kpis --zones`` through the real console entry point."""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import json
import textwrap
from pathlib import Path

import pytest

from retail_intel.movements.geometry import Polygon
from retail_intel.movements.tracks import Track
from retail_intel.movements.zone_store import write_zone_tables
from retail_intel.movements.zones import PersonPath, ZoneSource, ZoneSpec, judge_zones
from tests.cli_helpers import CliResult, run_cli

T0 = dt.datetime(2026, 2, 8, 10, 0, tzinfo=dt.UTC)
BRANCHES = """
branches:
  - id: b1
    name: One
    capacity: 10
    timezone: Europe/London
    cameras:
      - id: c1
        roi: [0, 0, 700, 500]
        zones:
          - {id: shelf, label: Shelf, polygon: [[0, 0], [100, 0], [100, 100], [0, 100]]}
          - {id: till, kind: service, polygon: [[400, 0], [500, 0], [500, 100], [400, 100]]}
          - {id: queue, kind: queue, service: till, min_dwell: 3, polygon: [[200, 0], [300, 0], [300, 100], [200, 100]]}
"""


def _stay(track_id: int, stops: list[tuple[int, float, float]]) -> Track:
    samples = [(float(t), x, y) for (t0, x, y), (t1, _, _) in itertools.pairwise(stops) for t in range(t0, t1)]
    t_last, x_last, y_last = stops[-1]
    return Track.from_samples(track_id, [*samples, (float(t_last), x_last, y_last)])


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    config = tmp_path / "config"
    config.mkdir()
    (config / "branches.yaml").write_text(textwrap.dedent(BRANCHES), encoding="utf-8")
    data = tmp_path / "data"
    people = [
        _stay(1, [(0, 50, 50), (8, 150, 150), (9, 150, 150)]),  # 7 s at the shelf
        _stay(2, [(10, 250, 50), (40, 450, 50), (70, 150, 150), (71, 150, 150)]),  # waits 30 s
    ]
    specs = [
        ZoneSpec("shelf", Polygon.from_rect(0, 0, 100, 100)),
        ZoneSpec("queue", Polygon.from_rect(200, 0, 300, 100), "queue", 3.0, "till"),
        ZoneSpec("till", Polygon.from_rect(400, 0, 500, 100), "service"),
    ]
    paths = [PersonPath(f"p{p.track_id}", p) for p in people]
    tables = judge_zones(paths, specs, ZoneSource("b1", "c1", "f" * 64, T0, 90.0))
    write_zone_tables(tables, data, branch_id="b1", day=T0.date(), source_key="c1-x")
    return config, data


def _run(
    dirs: tuple[Path, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str
) -> CliResult:
    config, data = dirs
    return run_cli([*args, "--config", str(config), "--data-dir", str(data)], capsys, monkeypatch)


def test_zones_prints_the_days_zone_and_queue_tables(
    dirs: tuple[Path, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    result = _run(dirs, capsys, monkeypatch, "zones", "--branch", "b1", "--date", "2026-02-08")
    assert result.exit_code == 0, result.stderr
    assert "Zones" in result.stdout and "Queues" in result.stdout
    assert "shelf" in result.stdout and "30.000" in result.stdout  # the 30 s wait

    as_json = _run(dirs, capsys, monkeypatch, "zones", "-b", "b1", "-d", "2026-02-08", "--format", "json")
    document = json.loads(as_json.stdout)
    shelf = next(r for r in document["zones"] if r["zone_id"] == "shelf")
    assert (shelf["visits"], shelf["counted_visits"], shelf["mean_dwell_seconds"]) == (1, 1, 7.0)
    assert shelf["window_start"] == "2026-02-08T00:00:00+00:00" and shelf["window_minutes"] == 1440
    assert document["queues"][0]["mean_wait_seconds"] == 30.0

    queues_csv = _run(dirs, capsys, monkeypatch, "zones", "-b", "b1", "-d", "2026-02-08", "-f", "csv", "--queues")
    rows = list(csv.DictReader(io.StringIO(queues_csv.stdout)))
    assert [(r["zone_id"], r["people_queued"]) for r in rows] == [("queue", "1")]

    empty_day = _run(dirs, capsys, monkeypatch, "zones", "-b", "b1", "-d", "2026-02-09")
    assert empty_day.exit_code == 0 and "no zone visits" in empty_day.stderr


def test_an_empty_day_is_its_lines_alone_without_an_empty_table(
    dirs: tuple[Path, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # an empty day printed "no rows for Zones", the Zones table's header with no rows, then the note
    empty_day = _run(dirs, capsys, monkeypatch, "zones", "-b", "b1", "-d", "2026-02-09")
    assert empty_day.exit_code == 0, empty_day.stderr
    assert empty_day.stdout == ""
    assert "no rows for Zones" in empty_day.stderr and "no zone visits in this range" in empty_day.stderr
    as_json = _run(dirs, capsys, monkeypatch, "zones", "-b", "b1", "-d", "2026-02-09", "--format", "json")
    assert json.loads(as_json.stdout) == {"zones": [], "queues": []}


def test_kpis_zones_per_window(
    dirs: tuple[Path, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    result = _run(
        dirs, capsys, monkeypatch, "kpis", "--zones", "--window", "1m", "--format", "csv", "--engine", "polars"
    )
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    # the shelf visit at 10:00, queue visit at 10:00, till visit at 10:00:40
    assert sorted((r["zone_id"], r["window_start"]) for r in rows) == [
        ("queue", "2026-02-08T10:00:00+00:00"),
        ("shelf", "2026-02-08T10:00:00+00:00"),
        ("till", "2026-02-08T10:00:00+00:00"),
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["zones", "-b", "b1", "-d", "08/02/2026"], "--date: expected a date YYYY-MM-DD, got '08/02/2026'"),
        (["zones", "-b", "nope", "-d", "2026-02-08"], 'unknown branch "nope"'),
        (["kpis", "--zones", "-f", "parquet", "-o", "x.parquet"], "--zones prints to stdout"),
        (["zones", "-b", "b1"], "--date YYYY-MM-DD is required (or --rejudge"),
        (["kpis", "--queues", "-f", "csv"], "--queues picks the queue rows of --zones: add --zones"),
    ],
)
def test_bad_input_is_one_line(
    dirs: tuple[Path, Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    message: str,
) -> None:
    result = _run(dirs, capsys, monkeypatch, *args)
    assert result.exit_code == 1
    assert message in result.stderr


def test_help_has_an_example(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    result = run_cli(["zones", "--help"], capsys, monkeypatch)
    assert "retail-intel zones --branch b1 --date 2026-02-08" in result.stdout
    # --date is refused when missing (without --rejudge): the help says so, not only the error
    assert "required unless --rejudge" in " ".join(result.stdout.replace("│", " ").split())


def test_rejudge_without_stored_paths_says_so(
    dirs: tuple[Path, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    result = _run(dirs, capsys, monkeypatch, "zones", "-b", "b1", "--rejudge")
    assert result.exit_code == 0, result.stderr
    assert "re-judged 0 videos: 0 zone visits, 0 queued" in result.stderr
    # a user would take the visits shown next for ones judged against the current zones
    assert "has no stored paths" in result.stderr and "process its videos again" in result.stderr
    # the zone files written without paths are left alone
    assert json.loads(_run(dirs, capsys, monkeypatch, "zones", "-b", "b1", "-d", "2026-02-08", "-f", "json").stdout)[
        "zones"
    ]


def test_kpis_zones_table_shows_at_most_max_rows(
    dirs: tuple[Path, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # a store's hourly zone rows run to hundreds of thousands; --max-rows caps the Rich table as
    # it does for the branch KPIs, and says how many were left out
    result = _run(dirs, capsys, monkeypatch, "kpis", "--zones", "--window", "1m", "--max-rows", "1")
    assert result.exit_code == 0, result.stderr
    shown = [zone for zone in ("shelf", "queue", "till") if zone in result.stdout.split("Queues")[0]]
    assert len(shown) == 1
    assert "showing 1 of 3 zones rows" in " ".join(result.stderr.split())


def test_kpis_zones_table_of_every_branch_names_each_rows_branch(
    dirs: tuple[Path, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # branches often share camera and zone ids (cam-1, till_queue): a row must say whose it is
    everyone = _run(dirs, capsys, monkeypatch, "kpis", "--zones", "--window", "1d")
    assert everyone.exit_code == 0, everyone.stderr
    zones_table, queues_table = everyone.stdout.split("Queues")
    assert "branch" in zones_table and "b1" in zones_table
    assert "branch" in queues_table and "b1" in queues_table
    one = _run(dirs, capsys, monkeypatch, "kpis", "--zones", "--window", "1d", "--branch", "b1")
    assert "branch" not in one.stdout  # asked for one branch: the column would only repeat it
