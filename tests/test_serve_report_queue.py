"""Uncached dashboard views are drawn a few at a time: a short queue, 503 + Retry-After beyond it, and
requests whose client left are dropped before drawing."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, MutableMapping
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from retail_intel.serve import create_app, dashboard
from retail_intel.serve.settings import ServeSettings
from retail_intel.serve.state import ServeState
from tests.test_serve_support import Site, hold_serve_clock, make_site

# How long a wait below may take before the test calls it a hang: it bounds a hang, not the speed
# (a busy 2-core CI machine can pause a thread or a request for many seconds).
HANG_S = 180


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    return make_site(Path(tmp_path_factory.mktemp("site")))


@pytest.fixture(autouse=True)
def one_moment(monkeypatch: pytest.MonkeyPatch) -> None:
    hold_serve_clock(monkeypatch)  # the versions compared, and the pages cached by version, stay put


class SlowDrawing:
    """Stands in for report_payload: records each day drawn and blocks until released."""

    def __init__(self) -> None:
        self.drawn: list[str] = []
        self.release = threading.Event()

    def __call__(self, config: Any, data_dir: Path, branch_id: str, first: Any, last: Any, version: str) -> bytes:
        self.drawn.append(str(first))
        assert self.release.wait(HANG_S)
        return b'{"day": "%s"}' % str(first).encode()


@pytest.fixture
def slow(monkeypatch: pytest.MonkeyPatch) -> SlowDrawing:
    drawing = SlowDrawing()
    monkeypatch.setattr(dashboard, "report_payload", drawing)
    return drawing


def app_with(site: Site, workers: int, queue: int) -> FastAPI:
    return create_app(site.config_dir, site.data_dir, ServeSettings(report_workers=workers, report_queue=queue))


async def until(condition: Callable[[], bool]) -> None:
    for _ in range(HANG_S * 100):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"condition not reached in {HANG_S} s")


def test_a_full_queue_answers_503_with_retry_after_and_the_rest_are_drawn(site: Site, slow: SlowDrawing) -> None:
    app = app_with(site, workers=1, queue=1)
    state: ServeState = app.state.retail_intel

    async def scenario() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            first = asyncio.create_task(client.get("/report/b1?date=2026-03-02"))
            await until(lambda: state.draw_gate.running == 1)
            second = asyncio.create_task(client.get("/report/b1?date=2026-03-03"))
            await until(lambda: state.draw_gate.waiting == 1)
            refused = await client.get("/report/b1?date=2026-03-04")
            slow.release.set()
            done = [await first, await second, refused]
            done.append(await client.get("/report/b1?date=2026-03-04"))  # room again
            done.append(await client.get("/report/b1?date=2026-03-02"))  # cached: no new drawing
            return done

    first, second, refused, retried, cached = asyncio.run(scenario())
    assert [first.status_code, second.status_code] == [200, 200]
    assert first.json() == {"day": "2026-03-02"} and second.json() == {"day": "2026-03-03"}
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == str(state.settings.retry_after_s)
    assert list(refused.json()) == ["detail"] and "\n" not in refused.json()["detail"]
    assert "try again" in refused.json()["detail"]
    assert retried.status_code == 200 and cached.json() == first.json()
    assert slow.drawn == ["2026-03-02", "2026-03-03", "2026-03-04"]
    assert (state.draw_gate.running, state.draw_gate.waiting) == (0, 0)


def test_cached_views_are_answered_while_the_gate_is_full(site: Site, slow: SlowDrawing) -> None:
    app = app_with(site, workers=1, queue=0)
    state: ServeState = app.state.retail_intel

    async def scenario() -> tuple[int, int, int]:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            slow.release.set()
            warm = await client.get("/report/b1?date=2026-03-02")
            slow.release.clear()
            blocking = asyncio.create_task(client.get("/report/b1?date=2026-03-03"))
            await until(lambda: state.draw_gate.running == 1)
            again = await client.get("/report/b1?date=2026-03-02")
            refused = await client.get("/report/b1?date=2026-03-04")
            slow.release.set()
            await blocking
            return warm.status_code, again.status_code, refused.status_code

    assert asyncio.run(scenario()) == (200, 200, 503)


async def _call_and_leave(app: FastAPI, query: bytes) -> list[MutableMapping[str, Any]]:
    """One GET whose client has already disconnected, straight through the ASGI interface."""
    sent: list[MutableMapping[str, Any]] = []
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/report/b1",
        "raw_path": b"/report/b1",
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


def test_a_request_whose_client_left_while_waiting_is_never_drawn(site: Site, slow: SlowDrawing) -> None:
    app = app_with(site, workers=1, queue=4)
    state: ServeState = app.state.retail_intel

    async def scenario() -> tuple[list[MutableMapping[str, Any]], int]:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            busy = asyncio.create_task(client.get("/report/b1?date=2026-03-02"))
            await until(lambda: state.draw_gate.running == 1)
            sent = await _call_and_leave(app, b"date=2026-03-05")
            assert state.draw_gate.waiting == 0  # it gave up its place
            slow.release.set()
            return sent, (await busy).status_code

    sent, busy_status = asyncio.run(scenario())
    assert busy_status == 200
    assert sent[0]["status"] == dashboard.CLIENT_CLOSED_REQUEST
    assert slow.drawn == ["2026-03-02"]  # 2026-03-05 was never drawn
