"""The dashboard in a real browser: headless Chromium (Debian's package) driven by Playwright.

The server runs for real on 127.0.0.1; the browser opens ``/``, a branch is
chosen, the charts are drawn and photographed, new data shows up by itself,
and nothing is logged to the console or fetched from anywhere else.

Needs ``/usr/bin/chromium`` (``apt-get install chromium``; ``.ci/run``
installs it). Without it these tests are skipped, unless
RETAIL_INTEL_REQUIRE_BROWSER=1 (set by CI), where a missing browser fails.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
import uvicorn
from PIL import Image

from retail_intel.movements.schema import MOVEMENT_SCHEMA
from retail_intel.movements.store import write_movements
from retail_intel.report.charts import VISITORS
from retail_intel.serve import create_app
from tests.report_fixtures import DAY, at, make_report_site, movement
from tests.test_serve_support import Site, hold_serve_clock

# What the machine's browser needs to start headless as root, offline, without phoning home.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    candidate = os.environ.get("RETAIL_INTEL_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    return candidate if Path(candidate).is_file() else None


def _require_browser() -> str:
    path = chromium_path()
    missing = None
    if path is None:
        missing = "no Chromium (apt-get install chromium, or set RETAIL_INTEL_CHROMIUM)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            missing = "playwright is not installed (pip install -e '.[test]')"
    if missing is not None:
        if os.environ.get("RETAIL_INTEL_REQUIRE_BROWSER") == "1":
            pytest.fail(f"browser tests required but {missing}")
        pytest.skip(missing)
    assert path is not None
    return path


# How long a server start or a page step may take before the test calls it a hang. They bound a
# hang, not the speed: the first report drawn on a busy 2-core machine took longer than the 20 s it had.
HANG_S = 180
HANG_MS = HANG_S * 1000


@dataclass
class LiveServer:
    site: Site
    base: str
    server: uvicorn.Server
    thread: threading.Thread


@pytest.fixture
def live(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LiveServer]:
    # the page redraws when the data version changes, and a branch's midnight changed it: a redraw
    # between filling in the days and pressing Show put the shown day back into the first field
    hold_serve_clock(monkeypatch)
    site = make_report_site(tmp_path)
    app = create_app(site.config_dir, site.data_dir)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + HANG_S
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the server did not start")
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield LiveServer(site, f"http://127.0.0.1:{port}", server, thread)
    server.should_exit = True
    thread.join(timeout=HANG_S)


@dataclass
class BrowserLog:
    console: list[str] = field(default_factory=list)  # error and warning messages
    page_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


@pytest.fixture
def browser_page(live: LiveServer) -> Iterator[tuple[Any, BrowserLog]]:
    executable = _require_browser()
    from playwright.sync_api import sync_playwright

    log = BrowserLog()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, timeout=HANG_MS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on(
            "console", lambda m: log.console.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None
        )
        page.on("pageerror", lambda e: log.page_errors.append(str(e)))
        page.on("request", lambda r: log.requests.append(r.url))
        page.on("requestfailed", lambda r: log.failed.append(r.url))
        page.set_default_timeout(HANG_MS)
        yield page, log
        browser.close()


def card(page: Any, name: str) -> str:
    value: str = page.get_attribute(f'.card[data-name="{name}"]', "data-value")
    return value


def blue_share(png: Path) -> float:
    """Share of pixels in the visitors' bar colour: zero when no chart is drawn."""
    pixels = np.asarray(Image.open(png).convert("RGB")).reshape(-1, 3).astype(int)
    target = np.array([int(VISITORS[i : i + 2], 16) for i in (1, 3, 5)])
    return float((np.abs(pixels - target).sum(axis=1) < 30).mean())


def test_choose_a_branch_see_the_charts_and_new_data(
    live: LiveServer, browser_page: tuple[Any, BrowserLog], tmp_path: Path
) -> None:
    page, log = browser_page
    page.goto(f"{live.base}/?refresh=1")
    page.wait_for_selector("#chart-traffic svg")
    # b1 is first in branches.yaml; its last day with data is shown.
    assert page.input_value("#branch") == "b1"
    assert (page.input_value("#date"), page.input_value("#to")) == (DAY.isoformat(), DAY.isoformat())
    assert page.locator('#chart-traffic [id^="traffic-visitors-"]').count() == 4
    assert card(page, "visitors") == "4"
    assert page.locator("#kpi-table tbody tr").count() == 4
    assert page.locator("#heatmap-vtest img").count() == 1

    page.select_option("#branch", "b2")
    page.wait_for_selector('body[data-branch="b2"]')
    page.wait_for_selector("#chart-traffic svg")
    assert page.text_content("#title") == "Station Arcade (b2)"
    assert card(page, "visitors") == "2" and card(page, "passed") == "3"
    for chart in ("traffic", "occupancy", "conversion", "dwell"):
        box = page.locator(f"#chart-{chart} svg").bounding_box()
        assert box is not None and box["width"] > 600 and box["height"] > 150, chart
    shot = tmp_path / "dashboard.png"
    page.screenshot(path=str(shot), full_page=True)
    assert blue_share(shot) > 0.002  # the blue bars and lines are on the picture

    # New movements for b2: the page redraws by itself within a few polls.
    extra = [movement("b2", 10, "entered", at(17), 300.0, at(17))]
    write_movements(
        pa.Table.from_pylist(extra, schema=MOVEMENT_SCHEMA),
        live.site.data_dir,
        branch_id="b2",
        day=DAY,
        source_key="b2-late",
    )
    page.wait_for_selector('.card[data-name="visitors"][data-value="3"]', timeout=HANG_MS)

    # A date range typed in and submitted.
    page.fill("#date", "2026-02-27")
    page.fill("#to", "2026-03-04")
    page.click("#show")
    page.wait_for_selector("text=Fri 27 Feb 2026 to Wed 04 Mar 2026")
    assert card(page, "visitors") == "3"

    assert log.console == [] and log.page_errors == [] and log.failed == []
    assert log.requests and all(url.startswith(live.base) for url in log.requests)


def test_a_refused_range_is_shown_on_the_page_and_can_be_fixed(
    live: LiveServer, browser_page: tuple[Any, BrowserLog]
) -> None:
    page, log = browser_page
    page.goto(f"{live.base}/?branch=b1&date=2026-03-02&to=2026-01-01")
    problem = page.wait_for_selector("#problem:not([hidden])")
    assert problem is not None and "must not be before the first" in (problem.text_content() or "")
    assert page.locator("#sections svg").count() == 0
    # Fixing the range draws the view and clears the message.
    page.fill("#to", "2026-03-02")
    page.click("#show")
    page.wait_for_selector("#chart-traffic svg")
    assert page.is_hidden("#problem") and card(page, "visitors") == "4"
    # The browser itself reports the 422 response; nothing else may appear.
    assert all("422" in message for message in log.console), log.console
    assert log.page_errors == []
