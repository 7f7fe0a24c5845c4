"""``retail-intel serve`` start-up: a busy port is one line before any URL is printed; --cache-mb reaches workers.

Workers that fail to start are an error (exit code 1), not an end like Ctrl-C's: they run for real, in processes
of their own, since only uvicorn's own supervisor shows what it does when they die.
"""

from __future__ import annotations

import errno
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from retail_intel.errors import InputError, ServeError
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
    # port 0 serves the socket it bound (server.serve_on): recorded with the port that socket holds
    monkeypatch.setattr(
        server, "serve_on", lambda app, listener, **kwargs: calls.append({**kwargs, "bound": listener.getsockname()[1]})
    )
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


def test_port_0_serves_on_a_free_port_and_prints_that_one(
    site: Site,
    uvicorn_calls: list[dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # --port 0 used to print http://127.0.0.1:0/, a URL nobody can open, while uvicorn chose the port
    args = ["serve", "--port", "0", "--config", str(site.config_dir), "--data-dir", str(site.data_dir)]
    result = run_cli(args, capsys, monkeypatch)
    assert result.exit_code == 0, result.stderr
    [call] = uvicorn_calls
    assert call["port"] != 0 and call["bound"] == call["port"]
    assert f"http://127.0.0.1:{call['port']}/ and API on http://127.0.0.1:{call['port']}/docs" in result.stderr
    assert ":0/" not in result.stderr


@pytest.mark.parametrize("workers", [1, 2])
def test_port_0_holds_the_port_it_printed_until_the_server_serves_it(
    site: Site, uvicorn_calls: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    # The port was looked up, let go, printed, and bound again by uvicorn later: whoever bound it in between
    # (another server, an outgoing connection) left a printed URL and uvicorn's "address already in use".
    supervised: list[int] = []
    monkeypatch.setattr(
        server, "run_supervised", lambda app, *, listener, **kwargs: supervised.append(listener.getsockname()[1])
    )
    refused: list[int | None] = []

    def another_server(port: int) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as other:
            other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                other.bind(("127.0.0.1", port))
                other.listen(1)
            except OSError as exc:
                refused.append(exc.errno)
        refused.append(port)

    server.run_server(site.config_dir, site.data_dir, port=0, workers=workers, on_ready=another_server)

    served = uvicorn_calls[0]["bound"] if workers == 1 else supervised[0]
    assert refused == [errno.EADDRINUSE, served]


def test_the_port_check_names_the_parameter_or_the_callers_flag(busy_port: int) -> None:
    # it said "--port ..." to a Python caller who wrote port=; the CLI passes its flags (test above)
    with pytest.raises(InputError, match=rf"^port {busy_port}: 127\.0\.0\.1:{busy_port} is already in use"):
        server.check_port_free("127.0.0.1", busy_port)
    with pytest.raises(InputError, match=rf"^--port {busy_port}: .* already in use .*choose another with --port$"):
        server.check_port_free("127.0.0.1", busy_port, {"port": "--port"})
    server.check_port_free("127.0.0.1", 0)  # any free port: nothing to check
    # An address this machine does not have (TEST-NET-3): one line naming both.
    with pytest.raises(InputError, match=r"^host '203\.0\.113\.9' port 8765: cannot listen there"):
        server.check_port_free("203.0.113.9", 8765)
    with pytest.raises(InputError, match=r"^--host '203\.0\.113\.9' --port 8765: cannot listen there"):
        server.check_port_free("203.0.113.9", 8765, {"host": "--host", "port": "--port"})


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"workers": 0}, r"^workers must be between 1 and \d+, got 0"),
        ({"port": 70000}, r"^port must be between 0 and 65535, got 70000"),
        ({"cache_mb": -1}, r"^cache_mb must be >= 0, got -1"),
    ],
)
def test_run_server_names_its_parameters(site: Site, given: dict[str, int], message: str) -> None:
    # run_server(workers=0) said "--workers must be ...", a flag its Python caller never wrote
    with pytest.raises(InputError, match=message):
        server.run_server(site.config_dir, site.data_dir, **given)  # type: ignore[arg-type]
    a_file = site.config_dir / "branches.yaml"
    with pytest.raises(InputError, match=r"^data_dir .* is a file; expected the data directory"):
        server.run_server(site.config_dir, a_file)


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


# What the workers of several stopped on their own say, at the end of what uvicorn logged.
# (The other worker may have failed too, or been stopped by the supervisor: 3 or -15 (SIGTERM).)
WORKERS_GAVE_UP = re.compile(
    r"the 2 server workers stopped on their own \(exit codes [^:]*3 \(failed to start\)[^:]*\): see the lines above"
)


def _run_python(script: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``script`` in a Python process of its own (the supervisor takes over signals and logging where it runs).

    In a session of its own, so that a run that hangs is stopped with every worker it started.
    """
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1]), "COLUMNS": "300"}
    command = [sys.executable, "-c", script]
    with subprocess.Popen(
        command, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    ) as process:
        try:
            stdout, stderr = process.communicate(timeout=180)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            stdout, stderr = process.communicate()
            pytest.fail(f"still running after 180 s:\n{stderr}")
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def test_workers_that_cannot_build_the_app_are_a_serve_error(tmp_path: Path) -> None:
    # The supervisor restarted a worker whose app raised, forever; one that exited as "failed to start" stopped
    # it, and run_supervised returned as after Ctrl-C: `serve --workers 2` exited 0 having served nothing.
    broken = tmp_path / "config"
    broken.mkdir()
    # What the workers build from: run_server would have refused it, run_supervised alone does not look.
    (broken / "branches.yaml").write_text("branches: [{id: b1}]\n")
    script = (
        "import os\n"
        "from retail_intel.errors import ServeError\n"
        "from retail_intel.serve import server\n"
        f"os.environ[server.CONFIG_ENV] = {str(broken)!r}\n"
        f"os.environ[server.DATA_DIR_ENV] = {str(tmp_path / 'data')!r}\n"
        "try:\n"
        "    server.run_supervised(server.WORKER_APP, factory=True, workers=2, host='127.0.0.1', port=0)\n"
        "except ServeError as exc:\n"
        "    print('ServeError:', exc)\n"
    )
    done = _run_python(script, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "ServeError: " in done.stdout, done.stderr  # run_supervised returned without one
    last = done.stdout.strip().splitlines()[-1]
    assert WORKERS_GAVE_UP.fullmatch(last.removeprefix("ServeError: ")), (done.stdout, done.stderr)
    assert "the app could not start in this worker" in done.stderr  # each worker's one line, in uvicorn's log


def test_serve_whose_workers_fail_to_start_exits_1_with_one_line(site: Site, tmp_path: Path) -> None:
    # Run as a command, in a process of its own: the supervisor takes over signals and logging where it runs.
    # port 0: the system's choice, so no other test can take it between a probe and the bind
    args = ["serve", "--port", "0", "--workers", "2", "--config", str(site.config_dir)]
    args += ["--data-dir", str(site.data_dir)]
    script = (
        "import sys\n"
        "from retail_intel.serve import server\n"
        "from retail_intel.cli.app import main\n"
        "server.WORKER_APP = 'retail_intel.serve.no_such_module:app'  # the workers cannot import the app\n"
        f"sys.argv = ['retail-intel', *{args!r}]\n"
        "main()\n"
    )
    done = _run_python(script, tmp_path)
    assert done.returncode == 1, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and WORKERS_GAVE_UP.fullmatch(last.removeprefix("error: ")), done.stderr
    assert 'Could not import module "retail_intel.serve.no_such_module"' in done.stderr  # uvicorn's lines above
    assert "Traceback" not in done.stderr


def test_one_worker_that_cannot_import_the_app_is_a_serve_error_not_an_exit() -> None:
    # run_server(port=0, workers=1) served through serve_on, which called sys.exit (uvicorn's Config.load
    # exits when the app cannot be imported): a program embedding the server was ended instead of told.
    listener = server.bind_any_port("127.0.0.1")
    with listener, pytest.raises(ServeError, match=r"^the server did not start \(uvicorn gave up with exit code"):
        server.serve_on("retail_intel.serve.no_such_module:app", listener, factory=True, log_level="critical")


def test_uvicorn_run_exiting_is_a_serve_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def exits(app: str, **options: Any) -> None:
        raise SystemExit(3)  # what uvicorn.run does when its one server fails to start

    monkeypatch.setattr(server.uvicorn, "run", exits)
    with pytest.raises(ServeError, match=r"^the server did not start \(uvicorn gave up with exit code 3\)"):
        server._run_one("retail_intel.serve.server:app")
