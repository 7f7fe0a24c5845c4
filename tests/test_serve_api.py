"""``retail-intel serve``: every route in-process, 404 / 405 / 422 / 500 answers, read-only behaviour."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from retail_intel.config import load_config
from retail_intel.config.models import TaskStatus
from retail_intel.config.records import branch_detail, branch_rows, event_rows, promotion_rows, task_rows
from retail_intel.errors import DataError
from retail_intel.kpis.schema import KPI_COLUMNS, KPI_SCHEMA
from retail_intel.kpis.store import read_kpis
from retail_intel.movements.schema import MOVEMENT_COLUMNS, MOVEMENT_SCHEMA
from retail_intel.movements.store import read_movements
from retail_intel.serve import create_app
from retail_intel.serve.errors import scrub_paths
from retail_intel.serve.models import KpiRow, MovementRow
from retail_intel.serve.state import ServeState
from tests.test_serve_support import DAY1, Api, Site, iso, make_site

KPI_TIMES = {name for name in KPI_SCHEMA.names if pa.types.is_timestamp(KPI_SCHEMA.field(name).type)}
MOVEMENT_TIMES = {name for name in MOVEMENT_SCHEMA.names if pa.types.is_timestamp(MOVEMENT_SCHEMA.field(name).type)}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    return make_site(tmp_path_factory.mktemp("site"))


@pytest.fixture(scope="module")
def api(site: Site) -> Api:
    return Api(create_app(site.config_dir, site.data_dir))


def parsed(rows: list[dict[str, Any]], times: set[str]) -> list[dict[str, Any]]:
    """API rows with their time strings turned back into datetimes, to compare with Arrow rows."""
    return [
        {k: dt.datetime.fromisoformat(v) if k in times and v is not None else v for k, v in r.items()} for r in rows
    ]


def with_times(rows: list[dict[str, Any]], keys: tuple[str, ...]) -> list[dict[str, Any]]:
    return [{k: dt.datetime.fromisoformat(v) if k in keys and v is not None else v for k, v in r.items()} for r in rows]


# --- models agree with the Parquet contracts ----------------------------------------


def test_row_models_list_exactly_the_parquet_columns() -> None:
    assert tuple(KpiRow.model_fields) == KPI_COLUMNS
    assert tuple(MovementRow.model_fields) == MOVEMENT_COLUMNS


# --- health ---------------------------------------------------------------------------


def test_health_reports_directories_counts_and_last_video(api: Api, site: Site) -> None:
    body = api.ok("/health")
    config = load_config(site.config_dir)
    assert body["status"] == "ok"
    assert body["config"] == {"ok": True, "loaded_at": body["config"]["loaded_at"], "problem": None}
    assert body["config_dir"] == str(site.config_dir)
    assert body["data_dir"] == str(site.data_dir)
    counts = body["counts"]
    assert counts["branches"] == len(config.branches)
    assert counts["employees"] == len(config.employees)
    assert counts["tasks"] == len(config.tasks)
    assert counts["events"] == len(config.events)
    assert counts["promotions"] == len(config.promotions)
    assert counts["movements"] == read_movements(site.data_dir).num_rows
    assert counts["movement_files"] == len(list((site.data_dir / "movements").rglob("*.parquet")))
    assert counts["kpi_files"] == len(list((site.data_dir / "kpis").rglob("*.parquet")))
    assert body["kpi_windows"] == [15, 60]
    last = body["last_processed_video"]
    # The newest summary by modification time, and only the video's file name.
    assert last["video"] == "cam1_20260302.mp4"
    assert dt.datetime.fromisoformat(last["processed_at"]) == dt.datetime.fromtimestamp(1_800_000_000, dt.UTC)
    assert "output" not in last


def test_health_last_video_is_not_a_batch_summary(api: Api, site: Site) -> None:
    # a batch writes its own summary (no one video) to runs/ after the files' run summaries:
    # /health showed it as the last video, every field null
    newest = site.data_dir / "runs" / "batch-20260302T120000000000Z.json"
    newest.write_text(json.dumps({"source": "archive", "kind": "folder", "files": [], "done": 0, "skipped": 3}))
    os.utime(newest, (1_900_000_000, 1_900_000_000))
    last = api.ok("/health")["last_processed_video"]
    assert (last["video"], last["branch_id"], last["camera_id"]) == ("cam1_20260302.mp4", "b1", "vtest")
    assert dt.datetime.fromisoformat(last["processed_at"]) == dt.datetime.fromtimestamp(1_800_000_000, dt.UTC)


def test_health_last_run_may_be_a_live_session(api: Api, site: Site) -> None:
    # a live stream (process rtsp://...) writes its record to runs/ too, with a url and no video: skipping
    # every summary without a video (the batch's own) also hid a running session behind an older file's run
    record = site.data_dir / "runs" / "live-b1-vtest-20260302T120000Z.json"
    live = {"url": "rtsp://cam/stream1", "session_id": "20260302T120000Z", "branch_id": "b1", "camera_id": "vtest"}
    record.write_text(json.dumps({**live, "running": True, "people": 7, "entered": 5, "passed": 2}))
    os.utime(record, (1_900_000_000, 1_900_000_000))
    last = api.ok("/health")["last_processed_video"]
    assert (last["video"], last["branch_id"], last["camera_id"], last["people"]) == (None, "b1", "vtest", 7)
    assert dt.datetime.fromisoformat(last["processed_at"]) == dt.datetime.fromtimestamp(1_900_000_000, dt.UTC)


def test_health_without_any_data(tmp_path: Path, site: Site) -> None:
    api = Api(create_app(site.config_dir, tmp_path / "no-data-yet"))
    body = api.ok("/health")
    assert body["counts"]["movements"] == 0
    assert body["counts"]["movement_files"] == 0
    assert body["kpi_windows"] == []
    assert body["last_processed_video"] is None
    assert api.ok("/movements") == {"rows": [], "count": 0, "limit": 100, "next_cursor": None}


# --- config routes --------------------------------------------------------------------


def test_branches_list_and_detail_match_the_config(api: Api, site: Site) -> None:
    config = load_config(site.config_dir)
    assert api.ok("/branches") == branch_rows(config)
    detail = api.ok("/branches/b1")
    assert detail["kpi_windows"] == [15, 60]
    del detail["kpi_windows"]
    assert detail == branch_detail(config, "b1")
    assert api.ok("/branches/b3")["kpi_windows"] == []


@pytest.mark.parametrize("url", ["/branches/nope", "/tasks/nope", "/kpis/branch/nope", "/events?branch=nope"])
def test_unknown_branch_is_404(api: Api, url: str) -> None:
    response = api.get(url)
    assert response.status_code == 404
    assert "nope" in response.json()["detail"]


def test_tasks_match_the_config_and_filter_by_status(api: Api, site: Site) -> None:
    config = load_config(site.config_dir)
    for branch in config.branches:
        expected = task_rows(config, branch.id)
        assert with_times(api.ok(f"/tasks/{branch.id}"), ("due",)) == expected
    open_tasks = api.ok("/tasks/b1", params={"status": "open"})
    assert open_tasks and all(t["status"] == "open" for t in open_tasks)
    assert with_times(open_tasks, ("due",)) == task_rows(config, "b1", TaskStatus.open)


def test_task_and_promotion_times_are_answered_in_utc(api: Api) -> None:
    # tasks.yaml gives t5's due as 17:00+01:00; the API answered it with that offset, not in UTC
    [t5] = [t for t in api.ok("/tasks/b3") if t["id"] == "t5"]
    assert t5["due"] == "2026-11-30T16:00:00Z"
    dues = [t["due"] for b in ("b1", "b2", "b3") for t in api.ok(f"/tasks/{b}") if t["due"] is not None]
    promotion_times = [p[k] for p in api.ok("/promotions") for k in ("start", "end")]
    assert dues and promotion_times and all(text.endswith("Z") for text in dues + promotion_times)


def test_events_in_a_range_match_the_calendar(api: Api, site: Site) -> None:
    config = load_config(site.config_dir)
    start, end = dt.datetime(2026, 11, 1, tzinfo=dt.UTC), dt.datetime(2026, 12, 31, tzinfo=dt.UTC)
    body = api.ok("/events", params={"from": iso(start), "to": iso(end)})
    expected = event_rows(config, start, end)
    assert body and with_times(body, ("start", "end")) == expected
    only_b1 = api.ok("/events", params={"from": iso(start), "to": iso(end), "branch": "b1"})
    assert with_times(only_b1, ("start", "end")) == event_rows(config, start, end, "b1")
    assert len(only_b1) < len(body)


def test_events_default_range_is_30_days(api: Api) -> None:
    # Only from: 30 days from it; the answer equals the explicit range.
    start = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)
    implicit = api.ok("/events", params={"from": iso(start)})
    explicit = api.ok("/events", params={"from": iso(start), "to": iso(start + dt.timedelta(days=30))})
    assert implicit == explicit


def test_events_default_range_stops_at_the_bounds(api: Api, site: Site) -> None:
    # Only from, a day before the last time listed: the default 30 days end at 3000-01-01; this
    # was a 422 blaming "--to", a CLI flag, for a value the client never sent.
    config = load_config(site.config_dir)
    start, latest = dt.datetime(2999, 12, 31, tzinfo=dt.UTC), dt.datetime(3000, 1, 1, tzinfo=dt.UTC)
    body = api.ok("/events", params={"from": iso(start)})
    assert with_times(body, ("start", "end")) == event_rows(config, start, latest)
    end, earliest = dt.datetime(1900, 1, 2, tzinfo=dt.UTC), dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
    assert api.ok("/events", params={"to": iso(end)}) == api.ok(
        "/events", params={"from": iso(earliest), "to": iso(end)}
    )
    assert api.ok("/events", params={"to": iso(earliest)}) == []
    # only to, elsewhere: still the 30 days before it
    end = dt.datetime(2026, 12, 20, tzinfo=dt.UTC)
    assert api.ok("/events", params={"to": iso(end)}) == api.ok(
        "/events", params={"from": iso(end - dt.timedelta(days=30)), "to": iso(end)}
    )


def test_promotions_match_the_config(api: Api, site: Site) -> None:
    config = load_config(site.config_dir)
    assert with_times(api.ok("/promotions"), ("start", "end")) == promotion_rows(config)
    for branch in ("b1", "b2"):
        body = api.ok("/promotions", params={"branch": branch})
        assert with_times(body, ("start", "end")) == promotion_rows(config, branch)
    moment = config.promotions[0].start + dt.timedelta(hours=1)
    running = api.ok("/promotions", params={"active_at": iso(moment)})
    assert with_times(running, ("start", "end")) == promotion_rows(config, None, moment)
    assert config.promotions[0].id in [p["id"] for p in running]


@pytest.mark.parametrize("made", [False, True], ids=["missing", "empty"])
def test_health_of_a_data_dir_the_report_cannot_read_is_degraded_naming_it(
    site: Site, tmp_path: Path, made: bool
) -> None:
    # serve --data-dir with a typo: /health said "ok" while /report answered 503. Still a 200, as
    # for a config that failed to reload: the server runs and takes data written later.
    data_dir = tmp_path / "typo"
    if made:
        data_dir.mkdir()
    api = Api(create_app(site.config_dir, data_dir))
    report = api.get("/report/b1")
    assert report.status_code == 503
    body = api.ok("/health")
    assert body["status"] == "degraded"
    assert body["data"] == {"ok": False, "problem": report.json()["detail"]}
    assert body["data_dir"] == str(data_dir) and body["config"]["ok"] is True
    assert body["counts"]["movements"] == 0
    healthy = Api(create_app(site.config_dir, site.data_dir)).ok("/health")
    assert healthy["status"] == "ok" and healthy["data"] == {"ok": True, "problem": None}


# --- KPIs ---------------------------------------------------------------------------------


def stored_kpis(site: Site, branch: str, minutes: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = read_kpis(site.data_dir, branch, minutes).to_pylist()
    return rows


def test_kpis_return_the_stored_series(api: Api, site: Site) -> None:
    body = api.ok("/kpis/branch/b1")
    expected = stored_kpis(site, "b1", 60)
    assert body["window_minutes"] == 60
    assert body["total"] == len(expected)
    assert body["next_offset"] is None
    assert parsed(body["rows"], KPI_TIMES) == expected
    quarter = api.ok("/kpis/branch/b1", params={"window": "15m"})
    assert parsed(quarter["rows"], KPI_TIMES) == stored_kpis(site, "b1", 15)
    assert api.ok("/kpis/branch/b1", params={"window": "1h"}) == body


def test_kpis_time_range_is_from_inclusive_to_exclusive(api: Api, site: Site) -> None:
    start, end = DAY1 + dt.timedelta(hours=5), DAY1 + dt.timedelta(hours=17)
    body = api.ok("/kpis/branch/b2", params={"from": iso(start), "to": iso(end)})
    expected = [r for r in stored_kpis(site, "b2", 60) if start <= r["window_start"] < end]
    assert len(expected) == 12
    assert parsed(body["rows"], KPI_TIMES) == expected
    assert body["total"] == 12
    assert body["start"] == iso(start) and body["end"] == iso(end)
    # The same range written with another offset is the same range.
    shifted = api.ok("/kpis/branch/b2", params={"from": "2026-03-02T06:00:00+01:00", "to": iso(end)})
    assert shifted["rows"] == body["rows"]


def test_kpis_time_range_takes_the_windows_overlapping_it_as_the_cli_does(api: Api, site: Site) -> None:
    # from 05:30: the 05:00 window starts before the range and ends inside it. Only windows starting
    # inside the range were served, while `retail-intel kpis --from/--to` and read_kpis take it.
    start, end = DAY1 + dt.timedelta(hours=5, minutes=30), DAY1 + dt.timedelta(hours=7, minutes=30)
    body = api.ok("/kpis/branch/b2", params={"from": iso(start), "to": iso(end)})
    expected = read_kpis(site.data_dir, "b2", 60, start, end).to_pylist()
    assert [r["window_start"] for r in expected] == [DAY1 + dt.timedelta(hours=h) for h in (5, 6, 7)]
    assert parsed(body["rows"], KPI_TIMES) == expected
    assert body["total"] == 3
    # a range inside one window is that window
    inside = api.ok("/kpis/branch/b2", params={"from": iso(start), "to": iso(start + dt.timedelta(minutes=10))})
    assert [r["window_start"] for r in inside["rows"]] == [iso(DAY1 + dt.timedelta(hours=5))]


@pytest.mark.parametrize("offset", ["+01:00", "%2B01:00", " 01:00", "%2001:00"])
def test_an_offset_typed_into_a_url_unescaped_is_read_as_an_offset(api: Api, offset: str) -> None:
    # an unescaped "+" arrives as a space; the answer was a 422 asking for a timezone that was given
    body = api.ok(f"/kpis/branch/b2?from=2026-03-02T06:00:00{offset}&to=2026-03-02T17:00:00Z")
    assert body["start"] == "2026-03-02T05:00:00Z" and body["total"] == 12
    assert (
        api.ok(f"/movements?from=2026-03-02T06:00:00{offset}&limit=1")["rows"]
        == api.ok("/movements?from=2026-03-02T05:00:00Z&limit=1")["rows"]
    )


@pytest.mark.parametrize(
    "text", ["2026-03-02 06:00:00 01:00", "2026-03-02T06:00:00  01:00", "2026-03-02T06:00:00 1:00"]
)
def test_other_spaced_times_are_still_refused(api: Api, text: str) -> None:
    response = api.get("/kpis/branch/b2", params={"from": text})
    assert response.status_code == 422 and response.json()["errors"][0]["parameter"] == "from"


def test_kpis_pages_cover_the_series_once(api: Api, site: Site) -> None:
    seen: list[dict[str, Any]] = []
    offset: int | None = 0
    while offset is not None:
        page = api.ok("/kpis/branch/b1", params={"window": "15m", "limit": 10, "offset": offset})
        assert page["total"] == 96
        seen.extend(page["rows"])
        offset = page["next_offset"]
    assert parsed(seen, KPI_TIMES) == stored_kpis(site, "b1", 15)
    beyond = api.ok("/kpis/branch/b1", params={"offset": 500})
    assert beyond["rows"] == [] and beyond["total"] == 48 and beyond["next_offset"] is None


def test_kpis_not_computed_for_a_window_is_404_naming_what_exists(api: Api) -> None:
    response = api.get("/kpis/branch/b1", params={"window": "30m"})
    assert response.status_code == 404
    assert "15m, 60m" in response.json()["detail"]
    # a configured branch, but a window size computed for no branch
    assert api.get("/kpis/branch/b3", params={"window": "30m"}).status_code == 404


def test_kpis_of_a_configured_branch_without_movements_are_an_empty_series(api: Api) -> None:
    # `retail-intel kpis --window 60m` writes no file for a branch without movements; the answer was
    # a 404 telling the user to run that very command.
    body = api.ok("/kpis/branch/b3", params={"window": "60m"})
    assert (body["branch_id"], body["window_minutes"], body["total"], body["rows"]) == ("b3", 60, 0, [])
    assert body["next_offset"] is None
    assert api.ok("/kpis/branch/b3", params={"window": "1h"}) == body


# --- movements and customers -----------------------------------------------------------


def stored_movements(site: Site) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = read_movements(site.data_dir).to_pylist()
    return sorted(rows, key=lambda r: (r["enter_time"], r["customer_id"]))


def all_pages(api: Api, **params: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        page = api.ok("/movements", params=query)
        assert page["count"] == len(page["rows"]) <= page["limit"]
        rows.extend(page["rows"])
        cursor = page["next_cursor"]
        if cursor is None:
            return parsed(rows, MOVEMENT_TIMES)


def test_movement_pages_return_every_row_once_in_order(api: Api, site: Site) -> None:
    expected = stored_movements(site)
    assert len(expected) > 100
    assert all_pages(api, limit=7) == expected
    assert all_pages(api) == expected


@pytest.mark.parametrize(
    "params",
    [
        {"branch": "b2"},
        {"action_type": "entered"},
        {"branch": "b1", "action_type": "passed"},
        {"from": "2026-03-02T12:00:00Z", "to": "2026-03-03T11:00:00Z"},
        {"branch": "b1", "from": "2026-03-03T00:00:00+00:00"},
        {"to": "2026-03-02T10:00:00Z"},
    ],
)
def test_movement_filters(api: Api, site: Site, params: dict[str, str]) -> None:
    start = dt.datetime.fromisoformat(params["from"]) if "from" in params else None
    end = dt.datetime.fromisoformat(params["to"]) if "to" in params else None
    expected = [
        r
        for r in stored_movements(site)
        if r["branch_id"] == params.get("branch", r["branch_id"])
        and r["action_type"] == params.get("action_type", r["action_type"])
        and (start is None or r["enter_time"] >= start)
        and (end is None or r["enter_time"] < end)
    ]
    assert expected
    assert all_pages(api, limit=9, **params) == expected


def test_customer_summary_and_unknown_customer(api: Api, site: Site) -> None:
    person = stored_movements(site)[10]
    body = api.ok(f"/customers/{person['customer_id']}")
    assert body["customer_id"] == person["customer_id"]
    assert parsed(body["rows"], MOVEMENT_TIMES) == [person]
    entered = person["action_type"] == "entered"
    assert (body["visits"], body["passes"], body["movements"]) == (int(entered), int(not entered), 1)
    assert body["branches"] == [person["branch_id"]]
    assert body["total_dwell_seconds"] == pytest.approx(person["dwell_seconds"] if entered else 0.0)
    assert dt.datetime.fromisoformat(body["first_seen"]) == person["first_seen"]
    assert api.get("/customers/00000000-0000-0000-0000-000000000000").status_code == 404


# --- 422: bad parameters are named ------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "parameter"),
    [
        ("/kpis/branch/b1?window=7m", "window"),
        ("/kpis/branch/b1?window=often", "window"),
        ("/kpis/branch/b1?from=2026-03-02T00:00:00", "from"),
        ("/kpis/branch/b1?to=yesterday", "to"),
        ("/kpis/branch/b1?from=2026-03-03T00:00:00Z&to=2026-03-02T00:00:00Z", "to"),
        ("/kpis/branch/b1?limit=0", "limit"),
        ("/kpis/branch/b1?offset=-1", "offset"),
        ("/kpis/branch/b1?from=0001-01-01T00:00:00%2B14:00", "from"),
        ("/movements?action_type=left", "action_type"),
        ("/movements?limit=100000", "limit"),
        ("/movements?cursor=not-a-cursor", "cursor"),
        ("/movements?from=2026-03-02T00:00:00Z&to=2026-03-02T00:00:00Z", "to"),
        ("/tasks/b1?status=someday", "status"),
        ("/events?from=2026-01-01T00:00:00Z&to=2040-01-01T00:00:00Z", "to"),
        ("/events?from=3000-01-01T00:00:00Z", "from"),
        ("/events?to=1899-12-31T00:00:00Z", "to"),
        ("/promotions?active_at=soon", "active_at"),
    ],
)
def test_bad_parameter_is_422_naming_it(api: Api, url: str, parameter: str) -> None:
    response = api.get(url)
    assert response.status_code == 422, response.text
    body = response.json()
    assert f"'{parameter}'" in body["detail"]
    assert body["errors"][0]["parameter"] == parameter


# --- 405: nothing but GET --------------------------------------------------------------


ROUTES = [
    "/health",
    "/branches",
    "/branches/b1",
    "/tasks/b1",
    "/events",
    "/promotions",
    "/kpis/branch/b1",
    "/movements",
    "/customers/x",
    "/report/b1",
    "/data-version",
    "/zones/b1",
    "/queues/b1",
    "/quality/branch/b1",
]


def test_openapi_lists_every_route_and_only_get(api: Api) -> None:
    schema = api.ok("/openapi.json")
    paths = schema["paths"]
    assert {p.replace("{branch_id}", "b1").replace("{customer_id}", "x") for p in paths} == set(ROUTES)
    assert all(set(methods) == {"get"} for methods in paths.values())
    docs = api.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    root = api.get("/")  # the dashboard (tests/test_serve_dashboard.py)
    assert root.status_code == 200 and root.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize("url", ROUTES)
def test_writing_methods_are_405(api: Api, url: str, method: str) -> None:
    response = api.request(method, url, json={"id": "b9"})
    assert response.status_code == 405
    assert response.json() == {"detail": "Method Not Allowed"}


def tree(directory: Path) -> dict[str, tuple[int, int]]:
    return {str(p): (p.stat().st_mtime_ns, p.stat().st_size) for p in sorted(directory.rglob("*"))}


def test_requests_leave_config_and_data_untouched(site: Site) -> None:
    before = (tree(site.config_dir), tree(site.data_dir))
    api = Api(create_app(site.config_dir, site.data_dir))
    for url in [*ROUTES, "/kpis/branch/b1?window=15m", "/movements?branch=b1&limit=3", "/openapi.json"]:
        api.get(url)
    assert (tree(site.config_dir), tree(site.data_dir)) == before


# --- errors never leak paths or tracebacks ---------------------------------------------------


def test_unexpected_error_is_500_without_details(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    app = create_app(site.config_dir, site.data_dir)
    state: ServeState = app.state.retail_intel

    def broken() -> dict[str, Any]:
        raise RuntimeError(f"boom in {site.data_dir}/movements/b1/secret.parquet")

    monkeypatch.setattr(state, "health", broken)
    response = Api(app).get("/health")
    assert response.status_code == 500
    assert response.json() == {"detail": "internal error"}
    assert "Traceback" not in response.text


def test_data_error_is_503_with_paths_removed(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    app = create_app(site.config_dir, site.data_dir)
    state: ServeState = app.state.retail_intel

    def unreadable(**kwargs: Any) -> bytes:
        raise DataError(f'could not read "{site.data_dir.resolve()}/movements/b1/2026-03-02/x.parquet" or /etc/x/y')

    monkeypatch.setattr(state, "movement_page", unreadable)
    response = Api(app).get("/movements")
    assert response.status_code == 503
    detail = response.json()["detail"]
    assert detail == 'could not read "<data>/movements/b1/2026-03-02/x.parquet" or <path>'
    assert str(site.data_dir.parent) not in response.text


def test_a_colon_after_a_path_is_not_taken_into_it(tmp_path: Path) -> None:
    data = tmp_path / "data"
    named = [(data, "<data>")]
    assert scrub_paths(f"{data}: holds no retail-intel data", named) == "<data>: holds no retail-intel data"
    assert scrub_paths(f"{data}/kpis/60m/b1.parquet: unreadable", named) == "<data>/kpis/60m/b1.parquet: unreadable"
    assert scrub_paths("/etc/secret/x: no", named) == "<path>: no"


def test_no_error_response_names_a_server_path(api: Api, site: Site) -> None:
    root = str(site.config_dir.parent)
    for url in [
        "/branches/nope",
        "/kpis/branch/b1?window=30m",
        "/kpis/branch/b3?window=30m",
        "/movements?cursor=%2F%2F",
        "/customers/none",
        "/events?branch=" + root,
        "/kpis/branch/b1?from=" + root,
    ]:
        response = api.get(url)
        assert response.status_code in (404, 422), url
        assert root not in response.text and "Traceback" not in response.text, url
