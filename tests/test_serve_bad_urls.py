"""The bad-input corpus for URLs: each hostile or malformed request is a 4xx with a one-line JSON error, never a
500, never a traceback or a server path."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from retail_intel.serve import create_app
from tests.test_serve_support import Api, Site, make_site

LONG = "x" * 5000

# (url, expected status)
CASES: list[tuple[str, int]] = [
    # KPI series
    ("/kpis/branch/b1?window=7m", 422),
    ("/kpis/branch/b1?window=abc", 422),
    ("/kpis/branch/b1?window=0m", 422),
    ("/kpis/branch/b1?window=-60m", 422),
    ("/kpis/branch/b1?window=99999999999999999999999m", 422),
    ("/kpis/branch/b1?window=1e400m", 422),
    ("/kpis/branch/b1?window=nanm", 422),
    ("/kpis/branch/b1?window=%ff", 422),
    ("/kpis/branch/b1?window=1d", 404),  # a size never computed for b1
    ("/kpis/branch/b1?from=notatime", 422),
    ("/kpis/branch/b1?from=2026-03-02T00:00:00", 422),  # no timezone
    ("/kpis/branch/b1?from=2026-03-03T00:00:00Z&to=2026-03-02T00:00:00Z", 422),
    ("/kpis/branch/b1?from=9999-12-31T23:59:59%2B14:00", 422),
    ("/kpis/branch/b1?to=0001-01-01T00:00:00-14:00", 422),
    ("/kpis/branch/b1?limit=0", 422),
    ("/kpis/branch/b1?limit=-1", 422),
    ("/kpis/branch/b1?limit=10001", 422),
    ("/kpis/branch/b1?limit=1e3", 422),
    ("/kpis/branch/b1?offset=-5", 422),
    ("/kpis/branch/b1?offset=99999999999999999999", 422),
    ("/kpis/branch/nope", 404),
    ("/kpis/branch/%00", 404),
    ("/kpis/branch/b1%2F..%2F..%2Fetc", 404),
    (f"/kpis/branch/{LONG}", 422),
    ("/kpis/branch/..%2F..%2Fetc%2Fpasswd?window=60m", 404),
    # movements
    ("/movements?cursor=garbage", 422),
    ("/movements?cursor=" + base64.urlsafe_b64encode(b'{"a": 1}').decode(), 422),
    ("/movements?cursor=" + base64.urlsafe_b64encode(b"\xff\xfe" * 20).decode(), 422),
    (f"/movements?cursor={LONG}", 422),
    ("/movements?action_type=left", 422),
    ("/movements?branch=zz", 404),
    ("/movements?limit=100000", 422),
    ("/movements?from=2026-13-01T00:00:00Z", 422),
    ("/movements?from=2026-03-02T25:00:00Z", 422),
    # customers
    (f"/customers/{LONG}", 422),
    ("/customers/no-such-person", 404),
    # dashboard payloads
    ("/report/b1?date=2026-02-30", 422),
    ("/report/b1?date=2026-03-02&to=2026-03-01", 422),
    ("/report/b1?date=2026-01-01&to=2027-01-01", 422),
    ("/report/b1?date=0001-01-01", 422),
    ("/report/b1?date=9999-12-31", 422),
    ("/report/b1?date=yesterday", 422),
    ("/report/nope", 404),
    ("/data-version?branch=zz", 404),
    (f"/data-version?branch={LONG}", 422),
    # config routes
    ("/events?from=2026-01-01T00:00:00Z&to=2040-01-01T00:00:00Z", 422),
    ("/events?from=0001-01-01T00:00:00Z", 422),
    ("/events?to=9999-12-31T23:59:59Z", 422),
    ("/events?from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z", 422),
    ("/events?branch=zz", 404),
    ("/promotions?active_at=bogus", 422),
    ("/promotions?branch=zz", 404),
    ("/tasks/b1?status=bogus", 422),
    ("/tasks/zz", 404),
    ("/branches/zz", 404),
    ("/branches/%ff", 404),
    # files and unknown routes
    ("/static/..%2F..%2Fetc%2Fpasswd", 404),
    ("/static/dashboard.html", 404),
    ("/docs/assets/..%2F__init__.py", 404),
    ("/docs/assets/swagger-ui-bundle.js.map", 404),
    ("/no-such-route", 404),
    ("/kpis", 404),
]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    return make_site(Path(tmp_path_factory.mktemp("site")))


@pytest.fixture(scope="module")
def api(site: Site) -> Api:
    return Api(create_app(site.config_dir, site.data_dir))


@pytest.mark.parametrize(("url", "status"), CASES, ids=[url[:60] for url, _ in CASES])
def test_a_bad_url_is_a_4xx_with_one_line_of_json(api: Api, site: Site, url: str, status: int) -> None:
    response = api.get(url)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    detail = response.json()["detail"]
    assert isinstance(detail, str) and detail and "\n" not in detail
    assert "Traceback" not in response.text and "internal error" not in response.text
    assert str(site.data_dir) not in response.text and str(site.config_dir) not in response.text


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_other_methods_are_405_with_one_line_of_json(api: Api, method: str) -> None:
    response = api.request(method, "/kpis/branch/b1", content=b"{}")
    assert response.status_code == 405
    assert "\n" not in response.json()["detail"]


# (url, parameter, words the message must hold besides the value as sent)
NAMED_VALUES: list[tuple[str, str, str, tuple[str, ...]]] = [
    ("/kpis/branch/b1?from=2026-03-02T00:00:00", "from", "2026-03-02T00:00:00", ("timezone",)),
    ("/movements?to=2026-03-02T25:00:00Z", "to", "2026-03-02T25:00:00Z", ("hour must be in 0..23",)),
    ("/movements?from=2026-13-01T00:00:00Z", "from", "2026-13-01T00:00:00Z", ("month must be in 1..12",)),
    ("/events?from=2026-02-30T00:00:00%2B01:00", "from", "2026-02-30T00:00:00+01:00", ("day is out of range",)),
    ("/report/b1?date=2026-02-30", "date", "2026-02-30", ("YYYY-MM-DD", "day is out of range")),
    # /quality's days answered with the regex they failed ("String should match pattern ...")
    ("/quality/branch/b1?from=bad", "from", "bad", ("YYYY-MM-DD",)),
    ("/quality/branch/b1?to=2026-03-02T00:00:00Z", "to", "2026-03-02T00:00:00Z", ("YYYY-MM-DD",)),
    ("/quality/branch/b1?from=2026-02-30", "from", "2026-02-30", ("day is out of range",)),
]


@pytest.mark.parametrize(("url", "parameter", "value", "words"), NAMED_VALUES, ids=[u for u, *_ in NAMED_VALUES])
def test_a_bad_time_or_day_is_quoted_in_the_422(
    api: Api, url: str, parameter: str, value: str, words: tuple[str, ...]
) -> None:
    # pydantic's own messages ("Input should have timezone info", "unexpected extra characters at
    # the end of the input" for hour 25) quoted nothing and, for a bad hour, named the wrong problem
    response = api.get(url)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert detail.startswith(f"query parameter {parameter!r}: ") and repr(value) in detail, detail
    assert all(word in detail for word in words), detail
    assert "extra characters" not in detail


# (url, parameter, value as sent): pydantic's own checks of type, range, length and choice
SENT_VALUES: list[tuple[str, str, str]] = [
    ("/kpis/branch/b1?limit=abc", "limit", "abc"),
    ("/kpis/branch/b1?offset=-5", "offset", "-5"),
    ("/movements?limit=100000", "limit", "100000"),
    ("/movements?action_type=left", "action_type", "left"),
    ("/tasks/b1?status=bogus", "status", "bogus"),
    ("/quality/branch/b1?threshold=nan", "threshold", "nan"),
    ("/quality/branch/b1?threshold=1.5", "threshold", "1.5"),
]


@pytest.mark.parametrize(("url", "parameter", "value"), SENT_VALUES, ids=[u for u, *_ in SENT_VALUES])
def test_a_422_from_a_type_or_range_check_quotes_what_arrived(api: Api, url: str, parameter: str, value: str) -> None:
    # they said only what was expected: threshold=nan read "Input should be less than or equal to 1"
    response = api.get(url)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert detail.startswith(f"query parameter {parameter!r}: Input should ") and detail.endswith(f", got {value!r}")
    (problem,) = response.json()["errors"]
    assert problem["message"].endswith(f", got {value!r}")


def test_a_long_value_is_quoted_cut_short(api: Api) -> None:
    detail = api.get(f"/branches/{LONG}").json()["detail"]
    assert detail.endswith(f", got {LONG[:40]!r}") and len(detail) < 200
