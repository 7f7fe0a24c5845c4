"""``serve`` and ``setup`` stopped with Ctrl-C: one line saying so, exit code 130, like every other command.

Each runs for real in a subprocess (its own process group, as a shell job is)
and gets SIGINT once it answers HTTP: uvicorn catches the signal itself, so
only a real server shows whether the command still sees it.
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from retail_intel.storage import camera_frame_path
from tests.test_serve_support import make_site

ROOT = Path(__file__).resolve().parents[1]
READY_WITHIN_S = 120.0  # how long a server may take to come up on a busy machine before the test gives up


def _answers(port: int, path: str) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        connection.request("GET", path)
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


def _ctrl_c_once(
    args: list[str],
    cwd: Path,
    ready: Callable[[str], bool],
    sigterm: bool = False,
    env: dict[str, str] | None = None,
) -> tuple[int, str]:
    """Run ``retail-intel ARGS``, press Ctrl-C once ``ready(what it wrote to stderr so far)``; its exit code and stderr.

    ``sigterm``: instead, ``kill`` it (SIGTERM to the command alone, as a service manager stops it).
    ``env``: added to the command's environment.
    """
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "300", **(env or {})}
    process = subprocess.Popen(
        [sys.executable, "-m", "retail_intel", *args],
        env=env,
        cwd=cwd,
        start_new_session=True,
        # Ctrl-C reaches a command started from a terminal; a test run started in the background
        # (`pytest &` in a script) hands its children SIGINT ignored, as a terminal never does
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    said: list[str] = []  # stderr as it comes: the URL of a server on port 0 is in it

    def read() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            said.append(line)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        deadline = time.monotonic() + READY_WITHIN_S
        while not ready("".join(said)):
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                process.wait()
                reader.join(READY_WITHIN_S)
                pytest.fail(f"the command never got ready: {''.join(said)}")
            time.sleep(0.2)
        if sigterm:
            os.kill(process.pid, signal.SIGTERM)
        else:
            os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        process.wait(timeout=120)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        reader.join(READY_WITHIN_S)
    return process.returncode, "".join(said)


def _serving(path: str) -> Callable[[str], bool]:
    """Ready once the server on the port it printed (``--port 0``: the system's choice) answers ``path``.

    A port looked up here and let go could be taken by another process before the server bound it.
    """

    def ready(said: str) -> bool:
        url = re.search(r"http://127\.0\.0\.1:(\d+)/", said)
        return url is not None and _answers(int(url.group(1)), path)

    return ready


def _ctrl_c_once_serving(args: list[str], cwd: Path, path: str, sigterm: bool = False) -> tuple[int, str]:
    """:func:`_ctrl_c_once` when the command answers ``path``."""
    return _ctrl_c_once(args, cwd, _serving(path), sigterm)


def _last_line(stderr: str) -> str:
    return [line for line in stderr.splitlines() if line.strip()][-1]


@pytest.mark.parametrize("workers", [1, 2])
def test_serve_stopped_with_ctrl_c_says_so_and_exits_130(tmp_path: Path, workers: int) -> None:
    # serve stopped with Ctrl-C exited 0 with uvicorn's shutdown log as its last word (setup exited 130)
    site = make_site(tmp_path)
    args = ["serve", "--port", "0", "--workers", str(workers)]
    args += ["--config", str(site.config_dir), "--data-dir", str(site.data_dir)]
    code, stderr = _ctrl_c_once_serving(args, tmp_path, "/health")
    assert code == 130, stderr
    assert _last_line(stderr) == "interrupted; server stopped, nothing written (run the same command again to serve)"
    assert "Traceback" not in stderr


def test_serve_workers_stopped_with_sigterm_exit_0(tmp_path: Path) -> None:
    # Asked to stop, not stopped on their own: the workers' supervisor returns as it does on a failed start.
    site = make_site(tmp_path)
    args = ["serve", "--port", "0", "--workers", "2"]
    args += ["--config", str(site.config_dir), "--data-dir", str(site.data_dir)]
    code, stderr = _ctrl_c_once_serving(args, tmp_path, "/health", sigterm=True)
    assert code == 0, stderr
    assert "error" not in stderr.lower() and "Traceback" not in stderr


def test_setup_stopped_with_ctrl_c_says_so_and_exits_130(tmp_path: Path) -> None:
    # setup stopped with Ctrl-C exited 130 without a word
    config_dir = tmp_path / "config"
    shutil.copytree(ROOT / "config", config_dir)
    picture = camera_frame_path(tmp_path / "data", "b1", "vtest")
    picture.parent.mkdir(parents=True)
    Image.new("RGB", (64, 48), (90, 110, 130)).save(picture, "JPEG")
    before = (config_dir / "branches.yaml").read_text()
    args = ["setup", "--branch", "b1", "--port", "0", "--no-open"]
    args += ["--config", str(config_dir), "--data-dir", str(tmp_path / "data")]
    code, stderr = _ctrl_c_once_serving(args, tmp_path, "/")
    assert code == 130, stderr
    assert _last_line(stderr) == (
        f"interrupted; setup page stopped: shapes saved with Save are in {config_dir / 'branches.yaml'}, "
        "unsaved drawing was not written"
    )
    assert (config_dir / "branches.yaml").read_text() == before


# Imported by every Python process of the command (a sitecustomize module on PYTHONPATH); a serve worker
# (started by multiprocessing: --multiprocessing-fork) says so and waits there, still starting, for good.
HOLD_WORKERS = """
import os, sys, time
from pathlib import Path
if "--multiprocessing-fork" in sys.argv:
    (Path(os.environ["HELD_WORKERS"]) / str(os.getpid())).touch()
    while True:
        time.sleep(0.05)
"""


def _serve_with_held_workers(tmp_path: Path) -> tuple[list[str], dict[str, str], Path]:
    """``serve --workers 2`` on a site of its own whose workers each hold (:data:`HOLD_WORKERS`), its
    environment, and the folder where each held worker leaves its pid."""
    site = make_site(tmp_path)
    hooks, held = tmp_path / "hooks", tmp_path / "held"
    hooks.mkdir()
    held.mkdir()
    (hooks / "sitecustomize.py").write_text(HOLD_WORKERS)
    args = ["serve", "--port", "0", "--workers", "2"]
    args += ["--config", str(site.config_dir), "--data-dir", str(site.data_dir)]
    env = {"PYTHONPATH": f"{hooks}{os.pathsep}{ROOT}", "HELD_WORKERS": str(held)}
    return args, env, held


def _stopped_cleanly(code: int, stderr: str) -> None:
    assert code == 130, stderr
    assert _last_line(stderr) == "interrupted; server stopped, nothing written (run the same command again to serve)"
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr


def test_serve_stopped_with_ctrl_c_while_its_workers_start_says_so_and_exits_130(tmp_path: Path) -> None:
    # Ctrl-C reached a worker still importing (the first answering, the second not, on a busy machine):
    # it died with a KeyboardInterrupt traceback (and the supervisor could start another before it stopped)
    args, env, held = _serve_with_held_workers(tmp_path)
    # at least two: uvicorn replaces a worker that has not answered its health check within 5 s (held too)
    code, stderr = _ctrl_c_once(args, tmp_path, lambda said: len(list(held.iterdir())) >= 2, env=env)
    _stopped_cleanly(code, stderr)


def test_a_worker_added_with_sigttin_is_stopped_by_ctrl_c_while_it_starts(tmp_path: Path) -> None:
    # SIGTTIN to the supervisor starts one worker more; that one too must start with Ctrl-C held
    args, env, held = _serve_with_held_workers(tmp_path)
    first: set[str] = set()

    def ready(said: str) -> bool:
        workers = {p.name for p in held.iterdir()}
        if not first and len(workers) >= 2:
            first.update(workers)
            stat = Path(f"/proc/{min(workers)}/stat").read_text()
            supervisor = int(stat.rsplit(")", 1)[1].split()[1])  # the worker's parent
            os.kill(supervisor, signal.SIGTTIN)
            return False
        return bool(first) and len(workers - first) >= 1

    code, stderr = _ctrl_c_once(args, tmp_path, ready, env=env)
    _stopped_cleanly(code, stderr)
