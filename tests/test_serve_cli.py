"""``retail-intel serve`` on the command line: options, defaults, errors (uvicorn itself is replaced)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import uvicorn

from retail_intel.serve import server
from retail_intel.serve.settings import CACHE_MB_ENV
from tests.cli_helpers import run_cli
from tests.test_serve_support import Api, Site, make_site


@pytest.fixture
def site(tmp_path: Path) -> Site:
    return make_site(tmp_path)


@pytest.fixture
def uvicorn_calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Records what would have been served instead of serving it; restores the environment afterwards."""
    calls: list[dict[str, Any]] = []

    def fake_run(app: str, **kwargs: Any) -> None:
        calls.append({"app": app, **kwargs})

    monkeypatch.setattr(uvicorn, "run", fake_run)
    monkeypatch.setattr(server, "run_supervised", fake_run)  # uvicorn.run's twin for --workers 2 and more
    # Ports are not really opened here (tests/test_serve_startup.py checks a busy one).
    monkeypatch.setattr(server, "check_port_free", lambda host, port, names=None: None)
    monkeypatch.setenv(server.CONFIG_ENV, "unset")
    monkeypatch.setenv(server.DATA_DIR_ENV, "unset")
    monkeypatch.setenv(CACHE_MB_ENV, "")  # recorded as absent, so what run_server sets is removed afterwards
    monkeypatch.delenv(CACHE_MB_ENV)
    return calls


def test_help_explains_the_options_with_an_example(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    result = run_cli(["serve", "--help"], capsys, monkeypatch)
    assert result.exit_code == 0
    for text in ("--host", "--port", "--workers", "--config", "--data-dir", "Example: retail-intel serve", "/docs"):
        assert text in result.stdout


def test_serves_on_loopback_by_default_and_the_workers_build_the_same_app(
    site: Site,
    uvicorn_calls: list[dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    args = ["serve", "--config", str(site.config_dir), "--data-dir", str(site.data_dir)]
    result = run_cli(args, capsys, monkeypatch)
    assert result.exit_code == 0, result.stderr
    [call] = uvicorn_calls
    assert (call["host"], call["port"], call["workers"], call["factory"]) == ("127.0.0.1", 8000, 1, True)
    assert call["app"] == "retail_intel.serve.server:app_from_environment"
    assert "warning" not in result.stderr
    # What each worker process does with the environment the command set up:
    app = server.app_from_environment()
    health = Api(app).ok("/health")
    assert Path(health["config_dir"]) == site.config_dir.resolve()
    assert Path(health["data_dir"]) == site.data_dir.resolve()
    app.state.retail_intel.close()


def test_options_reach_the_server(
    site: Site,
    uvicorn_calls: list[dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    args = ["serve", "--host", "0.0.0.0", "--port", "9123", "--workers", "2", "--access-log"]
    result = run_cli([*args, "--config", str(site.config_dir), "--data-dir", str(site.data_dir)], capsys, monkeypatch)
    assert result.exit_code == 0, result.stderr
    [call] = uvicorn_calls
    assert (call["host"], call["port"], call["workers"], call["access_log"]) == ("0.0.0.0", 9123, 2, True)
    assert "no authentication" in result.stderr


def test_a_broken_config_fails_before_serving(
    tmp_path: Path,
    uvicorn_calls: list[dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (tmp_path / "branches.yaml").write_text("branches:\n  - {id: b1, name: One, capacity: -1}\n")
    result = run_cli(["serve", "--config", str(tmp_path), "--data-dir", str(tmp_path / "d")], capsys, monkeypatch)
    assert result.exit_code == 1
    assert "capacity" in result.stderr
    assert uvicorn_calls == []


@pytest.mark.parametrize("option", [["--workers", "0"], ["--port", "70000"]])
def test_out_of_range_options_are_usage_errors(
    site: Site,
    option: list[str],
    uvicorn_calls: list[dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    result = run_cli(["serve", *option, "--config", str(site.config_dir)], capsys, monkeypatch)
    assert result.exit_code == 2
    assert uvicorn_calls == []


def test_a_data_path_that_is_a_file_is_refused(
    site: Site,
    uvicorn_calls: list[dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    a_file = site.config_dir / "branches.yaml"
    result = run_cli(["serve", "--config", str(site.config_dir), "--data-dir", str(a_file)], capsys, monkeypatch)
    assert result.exit_code == 1
    assert "--data-dir" in result.stderr
    assert uvicorn_calls == []


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("::1", True), ("localhost", True), ("0.0.0.0", False), ("10.1.2.3", False)],
)
def test_loopback_detection(host: str, loopback: bool) -> None:
    assert server.is_loopback(host) is loopback


@pytest.mark.parametrize(
    ("host", "url"),
    [("::1", "http://[::1]:9123/"), ("127.0.0.1", "http://127.0.0.1:9123/"), ("localhost", "http://localhost:9123/")],
)
def test_the_url_printed_opens_in_a_browser_for_an_ipv6_host_too(
    site: Site,
    host: str,
    url: str,
    uvicorn_calls: list[dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # an IPv6 address is bracketed in a URL: http://::1:9123/ opens nothing
    args = ["serve", "--host", host, "--port", "9123", "--config", str(site.config_dir)]
    result = run_cli([*args, "--data-dir", str(site.data_dir)], capsys, monkeypatch)
    assert result.exit_code == 0, result.stderr
    assert f"dashboard on {url} and API on {url}docs" in " ".join(result.stderr.split())
    assert uvicorn_calls[0]["host"] == host


def test_help_lists_every_get_route_the_server_answers(tmp_path: Path) -> None:
    # The list in --help is written by hand; /zones, /queues and /quality had been left out of it.
    import re

    from retail_intel.cli.serve import serve
    from retail_intel.serve import create_app

    site = make_site(tmp_path)
    schema = create_app(site.config_dir, site.data_dir).openapi()
    routes = {re.sub(r"\{[^}]*\}", "{}", path) for path, ops in schema["paths"].items() if "get" in ops}
    listed = {
        re.sub(r"\{[^}]*\}", "{}", path)
        for path in re.findall(r"(/[\w/{}-]+)", " ".join((serve.__doc__ or "").split()))
    }
    assert routes - {"/"} <= listed, f"--help lacks {sorted(routes - {'/'} - listed)}"
