"""A config reload runs in a worker thread: a slow (or endless) YAML parse never freezes the event loop."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import httpx
import pytest

from retail_intel.config.loader import Config, load_config
from retail_intel.serve import create_app, state
from retail_intel.serve.state import ConfigCache
from tests.test_serve_support import Site, make_site

# How long a wait below may take before the test calls it a hang: it bounds a hang, not the speed
# (a busy 2-core CI machine can pause a thread or a request for many seconds).
HANG_S = 180


@pytest.fixture
def site(tmp_path: Path) -> Site:
    return make_site(tmp_path)


class BlockingLoader:
    """load_config, but the reload after start-up waits until released (and says on which thread it ran)."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()
        self.threads: list[int] = []

    def __call__(self, config_dir: Path) -> Config:
        self.threads.append(threading.get_ident())
        self.started.set()
        assert self.release.wait(HANG_S)
        return load_config(config_dir)


def test_a_slow_reload_does_not_stall_other_requests(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    app = create_app(site.config_dir, site.data_dir)
    loader = BlockingLoader()
    monkeypatch.setattr(state, "load_config", loader)
    branches_yaml = site.config_dir / "branches.yaml"
    branches_yaml.write_text(branches_yaml.read_text().replace("name: High Street", "name: Renamed Street"))

    async def scenario() -> tuple[int, list[str], int, list[str], int]:
        loop_thread = threading.get_ident()
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            first = asyncio.create_task(client.get("/branches"))
            while not loader.started.is_set():
                await asyncio.sleep(0.01)
            # The reload is stuck; the loop still answers, from the last config loaded.
            during = await asyncio.wait_for(client.get("/branches"), timeout=HANG_S)
            kpis = await asyncio.wait_for(client.get("/kpis/branch/b1?window=60m&limit=1"), timeout=HANG_S)
            loader.release.set()
            after = await first
            assert loop_thread not in loader.threads
            return (
                during.status_code,
                [b["name"] for b in during.json()],
                after.status_code,
                [b["name"] for b in after.json()],
                kpis.status_code,
            )

    during_status, during_names, after_status, after_names, kpis_status = asyncio.run(scenario())
    assert (during_status, after_status, kpis_status) == (200, 200, 200)
    assert "High Street" in during_names and "Renamed Street" not in during_names
    assert "Renamed Street" in after_names
    assert len(loader.threads) == 1  # the second request did not start a reload of its own


def test_the_config_is_never_reloaded_on_the_event_loop(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    configs = ConfigCache(site.config_dir)
    loaded = configs.get()
    calls: list[Path] = []

    def counting_loader(directory: Path) -> Config:
        calls.append(directory)
        return loaded

    monkeypatch.setattr(state, "load_config", counting_loader)
    branches_yaml = site.config_dir / "branches.yaml"
    branches_yaml.write_text(branches_yaml.read_text() + "\n# edited\n")

    async def on_the_loop() -> Config:
        return configs.get()

    assert asyncio.run(on_the_loop()) is loaded and calls == []
    assert configs.stale()
    configs.refresh()  # what a worker thread does
    assert calls == [site.config_dir] and not configs.stale()
