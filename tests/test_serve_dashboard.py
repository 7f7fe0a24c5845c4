"""The dashboard's server side: the page and its files, ``/report/{branch}`` and ``/data-version``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from retail_intel.config.loader import load_config
from retail_intel.kpis import COMPARED_COLUMNS
from retail_intel.report import collect_report
from retail_intel.report.page import SECTION_ORDER, report_view
from retail_intel.serve import create_app
from tests.report_fixtures import B1_MOVEMENTS, DAY, at, css_rules, make_report_site, write_b1_movements
from tests.test_serve_support import Api, Site, hold_serve_clock

# How long a wait below may take before the test calls it a hang: it bounds a hang, not the speed
# (a busy 2-core CI machine can pause a thread or a request for many seconds).
HANG_S = 180


@pytest.fixture
def site(tmp_path: Path) -> Site:
    return make_report_site(tmp_path)


@pytest.fixture(autouse=True)
def one_moment(monkeypatch: pytest.MonkeyPatch) -> None:
    hold_serve_clock(monkeypatch)  # the versions compared, and the pages cached by version, stay put


@pytest.fixture
def api(site: Site) -> Api:
    return Api(create_app(site.config_dir, site.data_dir))


def test_page_loads_only_files_the_server_serves(api: Api) -> None:
    page = api.get("/")
    assert page.status_code == 200 and page.headers["content-type"] == "text/html; charset=utf-8"
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy and "connect-src 'self'" in policy
    referenced = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    local = [url for url in referenced if url.startswith("/static/")]
    assert sorted(local) == ["/static/dashboard.css", "/static/dashboard.js", "/static/report.css"]
    assert all(url.startswith(("/static/", "/docs", "data:")) for url in referenced)
    for url, media in (("/static/dashboard.js", "text/javascript"), ("/static/report.css", "text/css")):
        served = api.get(url)
        assert served.status_code == 200 and served.headers["content-type"].startswith(media)
        assert not re.search(r"https?://", served.text)
    assert api.get("/static/nope.js").status_code == 404
    assert api.get("/static/..%2Fdashboard.py").status_code == 404


def test_the_controls_fit_a_phones_width(api: Api) -> None:
    # Before, a long branch name made the branch list wider than a phone's screen: it ran off the right
    # edge, and the page scrolled sideways. The list now shrinks to the width there is.
    rules = css_rules(api.get("/static/dashboard.css").text)
    assert "max-width: 100%" in rules[".controls select"]
    assert "min-width: 0" in rules[".controls label"]


def test_report_json_is_the_report_with_the_engine_numbers(api: Api, site: Site) -> None:
    body = api.ok("/report/b1?date=2026-03-02")
    data = collect_report(load_config(site.config_dir), site.data_dir, "b1", DAY)
    assert body["section_order"] == list(SECTION_ORDER) == list(body["sections"])
    # The same fragments as the HTML file, byte for byte (heatmap picture included).
    assert body["sections"] == report_view(data).sections
    assert [r["visitors"] for r in body["kpis"]] == data.traffic["visitors"].to_pylist() == [2, 1, 0, 1]
    assert [r["passed"] for r in body["kpis"]] == [1, 1, 0, 1]
    assert set(COMPARED_COLUMNS) <= set(body["kpis"][0])
    assert body["kpis"][0]["window"] == "Mon 02 Mar 10:00–11:00"
    assert body["summary"]["visitors"] == 4 and body["summary"]["peak_occupancy"] == 2
    assert [p["name"] for p in body["periods"]] == ["Spring coffee hour"]
    assert (body["first_day"], body["last_day"], body["data_last_day"]) == ("2026-03-02", "2026-03-02", "2026-03-02")
    assert body["data_version"] == api.ok("/data-version?branch=b1")["version"]


def test_report_days_default_to_the_last_day_with_data(api: Api) -> None:
    assert api.ok("/report/b1")["first_day"] == "2026-03-02"
    assert api.ok("/report/b1?to=2026-03-02")["first_day"] == "2026-03-02"
    week = api.ok("/report/b1?date=2026-02-27&to=2026-03-05")
    assert (week["first_day"], week["last_day"], week["summary"]["visitors"]) == ("2026-02-27", "2026-03-05", 4)
    empty = api.ok("/report/b3?date=2026-03-02")
    assert empty["summary"]["visitors"] == 0 and "no movements have been processed" in empty["sections"]["summary"]


@pytest.mark.parametrize(
    ("url", "status", "detail"),
    [
        ("/report/zz", 404, "unknown branch 'zz'"),
        ("/report/b1?date=2026-03-02&to=2026-03-01", 422, "must not be before the first"),
        ("/report/b1?date=2026-01-01&to=2026-06-01", 422, "at most 92 days"),
        ("/report/b1?date=yesterday", 422, "must be a day as YYYY-MM-DD"),
        ("/report/b1?to=0", 422, "must be a day as YYYY-MM-DD"),
        ("/report/b1?date=0001-01-01", 422, "between 1970-01-01"),
        # named "to" for a bad date when to was given as well
        (
            "/report/b1?date=0001-01-01&to=2026-03-02",
            422,
            '"parameter":"date","location":"query","message":"date 0001-01-01: expected',
        ),
        ("/report/b1?to=9999-01-01", 422, '"parameter":"to","location":"query","message":"to 9999-01-01: expected'),
    ],
)
def test_report_bad_requests(api: Api, url: str, status: int, detail: str) -> None:
    response = api.get(url)
    assert response.status_code == status
    assert detail in response.text


def test_new_data_changes_the_version_and_the_page(api: Api, site: Site) -> None:
    before = api.ok("/data-version?branch=b1")["version"]
    assert api.ok("/data-version?branch=b1")["version"] == before  # stable while nothing changes
    first = api.ok("/report/b1?date=2026-03-02")
    assert first["summary"]["visitors"] == 4
    write_b1_movements(site.data_dir, [("entered", at(15, 0), 60.0, at(15, 0))], key="b1-later")
    after = api.ok("/data-version?branch=b1")["version"]
    assert after != before
    second = api.ok("/report/b1?date=2026-03-02")
    assert second["data_version"] == after and second["summary"]["visitors"] == 4 + 1
    assert len(B1_MOVEMENTS) + 1 == second["summary"]["visitors"] + second["summary"]["passed"]
    # A config edit changes it too (promotions are drawn).
    promotions = site.config_dir / "promotions.yaml"
    promotions.write_text(promotions.read_text() + "\n")
    assert api.ok("/data-version?branch=b1")["version"] != after


def test_report_pages_are_cached_per_version(api: Api, site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    import retail_intel.serve.dashboard as dashboard

    calls: list[str] = []
    real = dashboard.report_payload

    def counted(*args: object, **kwargs: object) -> bytes:
        calls.append("drawn")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(dashboard, "report_payload", counted)
    api.ok("/report/b1?date=2026-03-02")
    api.ok("/report/b1?date=2026-03-02")
    assert calls == ["drawn"]
    write_b1_movements(site.data_dir, [("passed", at(16, 0), 1.0, at(16, 0))], key="b1-even-later")
    api.ok("/report/b1?date=2026-03-02")
    assert calls == ["drawn", "drawn"]


def test_version_is_per_branch(api: Api, site: Site) -> None:
    b1, b2 = api.ok("/data-version?branch=b1")["version"], api.ok("/data-version?branch=b2")["version"]
    write_b1_movements(site.data_dir, [("entered", at(15, 0), 60.0, at(15, 0))], key="b1-later")
    assert api.ok("/data-version?branch=b1")["version"] != b1
    assert api.ok("/data-version?branch=b2")["version"] == b2  # another branch's data: no redraw there
    assert api.get("/data-version?branch=zz").status_code == 404


def test_a_view_asked_for_twice_at_once_is_drawn_once(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading
    from concurrent.futures import Future

    import retail_intel.serve.dashboard as dashboard

    drawing, waiting, release = threading.Event(), threading.Event(), threading.Event()
    calls: list[int] = []

    def slow_payload(*args: object, **kwargs: object) -> bytes:
        calls.append(1)
        drawing.set()
        assert release.wait(HANG_S)
        return b"{}"

    class WatchedFuture(Future[bytes]):
        def result(self, timeout: float | None = None) -> bytes:
            waiting.set()  # a second caller is waiting for the first one's drawing
            return super().result(timeout)

    monkeypatch.setattr(dashboard, "report_payload", slow_payload)
    monkeypatch.setattr(dashboard, "Future", WatchedFuture)
    pages = dashboard.ReportPages(site.data_dir)
    config = load_config(site.config_dir)
    results: list[bytes] = []

    def ask() -> None:
        results.append(pages.get(config, "b1", DAY, None, "v1"))

    first = threading.Thread(target=ask)
    first.start()
    assert drawing.wait(HANG_S)
    second = threading.Thread(target=ask)
    second.start()
    assert waiting.wait(HANG_S)  # without the in-flight table the second would draw (and block) instead
    release.set()
    first.join(HANG_S)
    second.join(HANG_S)
    assert calls == [1] and results == [b"{}", b"{}"]
    assert pages.get(config, "b1", DAY, None, "v1") == b"{}" and calls == [1]  # and kept


def test_rejudged_zone_tables_change_the_version(api: Api, site: Site) -> None:
    # `zones --rejudge` rewrites only the zone and queue tables; the page's zones section is drawn
    # from them, so a cached page must not outlive them
    import pyarrow.parquet as pq

    from retail_intel.movements.zone_store import ZONE_TABLES

    before = api.ok("/data-version?branch=b1")["version"]
    for kind, schema in ZONE_TABLES.items():
        target = site.data_dir / kind / "b1" / "2026-03-02" / "cam1-rejudged.parquet"
        target.parent.mkdir(parents=True)
        pq.write_table(schema.empty_table(), target)
        after = api.ok("/data-version?branch=b1")["version"]
        assert after != before, kind
        before = after
    assert api.ok("/data-version?branch=b2")["version"]  # another branch's token is still served


def test_a_branch_east_of_utc_gets_a_new_version_at_its_own_midnight(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the default day of a branch without data is its local today: at 23:30 UTC it is already
    # tomorrow in Amsterdam, so a cached page of yesterday must not be served until 00:00 UTC
    import datetime as dt

    from retail_intel.serve import state as state_module
    from tests.test_serve_support import make_site

    site = make_site(tmp_path)
    config = load_config(site.config_dir)
    east = next(b for b in config.branches if b.tzinfo.utcoffset(dt.datetime(2026, 3, 2, 23, 30)) > dt.timedelta(0))
    api = Api(create_app(site.config_dir, site.data_dir))
    clock = {"now": dt.datetime(2026, 3, 2, 22, 30, tzinfo=dt.UTC)}
    monkeypatch.setattr(state_module, "_now", lambda: clock["now"])
    before = api.ok(f"/data-version?branch={east.id}")["version"]
    clock["now"] = dt.datetime(2026, 3, 2, 22, 45, tzinfo=dt.UTC)  # still the same local day
    assert api.ok(f"/data-version?branch={east.id}")["version"] == before
    clock["now"] = dt.datetime(2026, 3, 2, 23, 30, tzinfo=dt.UTC)  # past midnight where the branch is
    assert api.ok(f"/data-version?branch={east.id}")["version"] != before
