"""serve's caches are bounded in bytes: many distinct large answers never push them past the ceiling."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import pytest

from retail_intel.errors import InputError
from retail_intel.kpis.store import write_kpis
from retail_intel.serve import create_app
from retail_intel.serve.bytecache import ENTRY_OVERHEAD, ByteLru
from retail_intel.serve.settings import CACHE_MB_ENV, MIB, ServeSettings
from retail_intel.serve.state import ServeState
from tests.test_serve_support import DAY1, Api, iso, kpi_rows, make_site

CEILING = 6 * MIB
WINDOWS = 3000  # about 1.8 MB of encoded rows per full answer


def test_the_lru_keeps_its_accounted_size_under_the_ceiling() -> None:
    cache = ByteLru(10_000)
    draw = random.Random(7)
    for n in range(2000):
        size = draw.randrange(0, 4000)
        cache.put(n, b"x", size)
        assert cache.bytes_held <= 10_000
    assert len(cache) > 1
    assert not cache.put("huge", b"x", 10_000)  # with its overhead it cannot fit: not kept
    assert cache.get("huge") is None and cache.bytes_held <= 10_000


def test_the_lru_evicts_the_least_recently_used_first() -> None:
    cache = ByteLru(3 * (100 + ENTRY_OVERHEAD))
    for key in "abc":
        cache.put(key, key, 100)
    assert cache.get("a") == "a"  # now b is the oldest
    cache.put("d", "d", 100)
    assert cache.get("b") is None
    assert [cache.get(k) for k in "acd"] == ["a", "c", "d"]
    cache.put("a", "A", 100)  # replacing counts the new size only
    assert cache.bytes_held == 3 * (100 + ENTRY_OVERHEAD)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = Path(tmp_path_factory.mktemp("site"))
    made = make_site(root)
    write_kpis(kpi_rows("b2", 15, DAY1, WINDOWS), made.data_dir)
    return root


def test_many_distinct_large_kpi_answers_stay_under_the_ceiling(site: Path) -> None:
    app = create_app(site / "config", site / "data", ServeSettings(cache_bytes=CEILING))
    state: ServeState = app.state.retail_intel
    api = Api(app)
    uncached = Api(create_app(site / "config", site / "data", ServeSettings(cache_bytes=0)))
    answered = 0
    for n in range(50):
        start = iso(DAY1 + dt.timedelta(minutes=15 * n))
        url = f"/kpis/branch/b2?window=15m&from={start}&limit=10000&offset={n % 7}"
        body = api.get(url)
        assert body.status_code == 200
        answered += len(body.content)
        assert state.cache.bytes_held <= CEILING
        if n % 10 == 0:  # evictions never change an answer
            assert body.content == uncached.get(url).content
            assert api.get(url).content == body.content  # nor does answering from the cache
    # The answers together are many times the ceiling; a count-bounded cache would have kept them all.
    assert answered > 10 * CEILING
    assert len(state.cache) > 0
    cache = api.ok("/health")["cache"]
    assert cache["ceiling_bytes"] == CEILING
    assert 0 < cache["bytes_held"] <= CEILING and cache["entries"] == len(state.cache)


def test_dashboard_payloads_share_the_same_ceiling(site: Path) -> None:
    app = create_app(site / "config", site / "data", ServeSettings(cache_bytes=CEILING))
    state: ServeState = app.state.retail_intel
    api = Api(app)
    for day in ("2026-03-02", "2026-03-03"):
        assert api.get(f"/report/b1?date={day}").status_code == 200
        assert api.get("/kpis/branch/b2?window=15m&limit=10000").status_code == 200
        assert state.cache.bytes_held <= CEILING


def test_a_zero_ceiling_caches_nothing_and_still_answers(site: Path) -> None:
    app = create_app(site / "config", site / "data", ServeSettings(cache_bytes=0))
    api = Api(app)
    assert api.ok("/kpis/branch/b1?window=60m")["total"] == 48
    assert api.ok("/kpis/branch/b1?window=60m")["total"] == 48
    assert app.state.retail_intel.cache.bytes_held == 0


def test_the_ceiling_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CACHE_MB_ENV, "64")
    assert ServeSettings.from_environment().cache_bytes == 64 * MIB
    monkeypatch.setenv(CACHE_MB_ENV, "lots")
    with pytest.raises(InputError, match=CACHE_MB_ENV):
        ServeSettings.from_environment()
    with pytest.raises(InputError, match="report_workers"):
        ServeSettings(report_workers=0)
