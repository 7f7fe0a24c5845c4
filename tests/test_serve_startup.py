"""``retail-intel serve`` start-up: a busy port is one line before any URL is printed; --cache-mb reaches workers."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from retail_intel.errors import InputError
from retail_intel.serve import server
from retail_intel.serve.settings import CACHE_MB_ENV, MIB
from tests.cli_helpers import run_cli
from tests.test_serve_support import Api, Site, make_site


@pytest.fixture
def site(tmp_path: Path) -> Site:
    return make_site(tmp_path)


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        yield listener.getsockname()[1]


@pytest.fixture
def uvicorn_calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: calls.append(kwargs))
    for name in (server.CONFIG_ENV, server.DATA_DIR_ENV, CACHE_MB_ENV):
        # set first, so monkeypatch records it as absent and removes what run_server sets
        # (a delenv of an unset name records nothing: the variables leaked into later tests)
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    return calls


def test_a_busy_port_is_one_line_and_no_url(
    site: Site,
    busy_port: int,
    uvicorn_calls: list[dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    args = ["serve", "--port", str(busy_port), "--config", str(site.config_dir), "--data-dir", str(site.data_dir)]
    result = run_cli(args, capsys, monkeypatch)
    assert result.exit_code == 1
    assert uvicorn_calls == []
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"--port {busy_port}" in lines[0] and "already in use" in lines[0]
    assert "http://" not in result.stderr and "Traceback" not in result.stderr


def test_a_free_port_prints_the_url_then_serves(
    site: Site,
    uvicorn_calls: list[dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with socket.socket() as finder:  # a port that was free a moment ago
        finder.bind(("127.0.0.1", 0))
        port = finder.getsockname()[1]
    args = ["serve", "--port", str(port), "--cache-mb", "64"]
    result = run_cli([*args, "--config", str(site.config_dir), "--data-dir", str(site.data_dir)], capsys, monkeypatch)
    assert result.exit_code == 0, result.stderr
    assert [call["port"] for call in uvicorn_calls] == [port]
    assert f"http://127.0.0.1:{port}/" in result.stderr
    # What each worker builds from the environment the command set up:
    app = server.app_from_environment()
    assert app.state.retail_intel.settings.cache_bytes == 64 * MIB
    assert Api(app).ok("/health")["status"] == "ok"
    app.state.retail_intel.close()


def test_the_port_check_names_the_flag(busy_port: int) -> None:
    with pytest.raises(InputError, match=rf"^--port {busy_port}: 127\.0\.0\.1:{busy_port} is already in use"):
        server.check_port_free("127.0.0.1", busy_port)
    server.check_port_free("127.0.0.1", 0)  # any free port: nothing to check
    # An address this machine does not have (TEST-NET-3): one line naming both flags.
    with pytest.raises(InputError, match=r"^--host '203\.0\.113\.9' --port 8765: cannot listen there"):
        server.check_port_free("203.0.113.9", 8765)


def test_a_broken_config_prints_no_url(
    tmp_path: Path,
    uvicorn_calls: list[dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "branches.yaml").write_text("branches: [{id: b1}]\n")
    result = run_cli(["serve", "--config", str(config), "--data-dir", str(tmp_path / "data")], capsys, monkeypatch)
    assert result.exit_code == 1
    assert "http://" not in result.stderr and uvicorn_calls == []
