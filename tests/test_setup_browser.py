"""``retail-intel setup`` in a real browser: draw, save, reload, and the shapes match the YAML.

The setup app runs for real on 127.0.0.1 (uvicorn in a thread) over a copy of
the sample config and a made-up picture of the camera; headless Chromium
(Debian's package, driven by Playwright as in test_dashboard_browser.py)
draws a polygon region, a pass-by zone and a door line with the mouse,
swaps the line's in side, saves, reloads the page, and the shapes it shows
are the ones now in branches.yaml, whose comments are all still there.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from PIL import Image

from retail_intel.camsetup import camera_shapes, create_setup_app, setup_session
from retail_intel.config.loader import load_config
from retail_intel.storage import camera_frame_path
from tests.test_dashboard_browser import CHROMIUM_ARGS, HANG_MS, HANG_S, _require_browser

SAMPLE_CONFIG = Path(__file__).resolve().parents[1] / "config"
W, H = 768, 576


@pytest.fixture
def setup_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    config_dir = tmp_path / "config"
    shutil.copytree(SAMPLE_CONFIG, config_dir)
    picture = camera_frame_path(tmp_path / "data", "b1", "vtest")
    picture.parent.mkdir(parents=True)
    Image.new("RGB", (W, H), (90, 110, 130)).save(picture, "JPEG")
    session = setup_session(config_dir, tmp_path / "data", "b1", "vtest")
    server = uvicorn.Server(uvicorn.Config(create_setup_app(session), host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + HANG_S
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the setup server did not start")
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}/", config_dir
    server.should_exit = True
    thread.join(timeout=HANG_S)


@pytest.fixture
def page() -> Iterator[tuple[Any, list[str], list[str]]]:
    executable = _require_browser()
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    requests: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, timeout=HANG_MS)
        # 768 px of picture beside the 320 px panel: the picture is shown at its own size.
        tab = browser.new_page(viewport={"width": 1136, "height": 800})
        tab.on("console", lambda m: problems.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None)
        tab.on("pageerror", lambda e: problems.append(str(e)))
        tab.on("request", lambda r: requests.append(r.url))
        tab.set_default_timeout(HANG_MS)
        yield tab, problems, requests
        browser.close()


def _at(tab: Any, x: float, y: float) -> tuple[float, float]:
    """Where picture pixel (x, y) is on the screen."""
    box = tab.locator("#overlay").bounding_box()
    return box["x"] + x * box["width"] / W, box["y"] + y * box["height"] / H


def _shown(tab: Any) -> dict[str, Any]:
    """The shapes the page holds, by kind (each row carries its shape as JSON)."""
    rows = tab.locator("#kinds li")
    shown = {}
    for i in range(rows.count()):
        row = rows.nth(i)
        text = row.get_attribute("data-shape")
        if text:
            shown[row.get_attribute("data-kind")] = json.loads(text)
    return shown


def _row(tab: Any, kind: str) -> Any:
    return tab.locator(f'#kinds li[data-kind="{kind}"]')


def _near(points: list[list[float]], wanted: list[tuple[int, int]]) -> bool:
    # One CSS pixel is one picture pixel here; allow rounding of the pointer position.
    return len(points) == len(wanted) and all(
        abs(p[0] - w[0]) <= 1 and abs(p[1] - w[1]) <= 1 for p, w in zip(points, wanted, strict=True)
    )


REGION = [(120, 100), (620, 110), (660, 470), (100, 500)]
PASSBY = [(0, 520), (760, 520), (760, 570), (0, 570)]
LINE = [(380, 90), (380, 330)]


def test_draw_save_reload_and_the_shapes_match_the_yaml(
    setup_server: tuple[str, Path], page: tuple[Any, list[str], list[str]]
) -> None:
    url, config_dir = setup_server
    tab, problems, requests = page
    yaml_before = (config_dir / "branches.yaml").read_text()
    tab.goto(url)
    # (Waits are selectors: the page's CSP forbids the eval behind wait_for_function.)
    tab.wait_for_selector('#kinds li[data-kind="passby_zone"]')

    # The current config's shapes are shown first: the sample's rectangle ROI and door line.
    start = _shown(tab)
    assert start["region"] == {"kind": "region", "geometry": "rect", "points": [[300, 180], [700, 420]]}
    assert start["line"]["in_side"] == "left" and "passby_zone" not in start

    # The region as a polygon: click the corners, then Finish.
    _row(tab, "region").locator('[data-action="draw-polygon"]').click()
    for x, y in REGION:
        tab.mouse.click(*_at(tab, x, y))
    tab.locator("#finish").click()
    # The pass-by zone: corners, then Enter.
    _row(tab, "passby_zone").locator('[data-action="draw-polygon"]').click()
    for x, y in PASSBY:
        tab.mouse.click(*_at(tab, x, y))
    tab.keyboard.press("Enter")
    # The door line: press, drag, release; then swap its in side.
    _row(tab, "line").locator('[data-action="draw-line"]').click()
    tab.mouse.move(*_at(tab, *LINE[0]))
    tab.mouse.down()
    tab.mouse.move(*_at(tab, 380, 200), steps=4)
    tab.mouse.move(*_at(tab, *LINE[1]), steps=4)
    tab.mouse.up()
    _row(tab, "line").locator('[data-action="swap"]').click()

    drawn = _shown(tab)
    assert drawn["region"]["geometry"] == "polygon" and _near(drawn["region"]["points"], REGION)
    assert _near(drawn["passby_zone"]["points"], PASSBY)
    assert _near(drawn["line"]["points"], LINE) and drawn["line"]["in_side"] == "right"
    # Something is drawn where the region is: the overlay's pixel inside it is not transparent.
    alpha = tab.evaluate(
        "([x, y]) => document.getElementById('overlay').getContext('2d').getImageData(x, y, 1, 1).data[3]", [400, 300]
    )
    assert alpha > 0

    tab.locator("#save").click()
    tab.wait_for_selector("#status.ok")
    assert "Saved to" in tab.locator("#status").inner_text()

    camera = load_config(config_dir).camera("b1", "vtest")
    in_yaml = {s.kind: s.to_json() for s in camera_shapes(camera)}
    assert in_yaml == drawn
    assert camera.roi is None and camera.line is not None and camera.line.band_px == 10  # kept from the file
    yaml_after = (config_dir / "branches.yaml").read_text()
    comments = [line for line in yaml_before.splitlines() if line.strip().startswith("#")]
    assert [c for c in comments if c not in yaml_after.splitlines()] == []

    tab.reload()
    tab.wait_for_selector('#kinds li[data-kind="passby_zone"][data-shape^="{"]')
    assert _shown(tab) == in_yaml

    # Clearing an optional shape and saving removes its key.
    _row(tab, "passby_zone").locator('[data-action="clear"]').click()
    tab.locator("#save").click()
    tab.wait_for_selector('#kinds li[data-kind="passby_zone"][data-shape=""]')
    tab.wait_for_selector("#status.ok")
    assert load_config(config_dir).camera("b1", "vtest").passby_zone is None
    # the key is gone from this camera again; other cameras' pass-by zones are untouched
    assert (config_dir / "branches.yaml").read_text().count("passby_zone") == yaml_before.count("passby_zone")

    assert problems == []
    assert all(r.startswith(url) for r in requests), requests  # nothing fetched from anywhere else
