"""Serving the setup page on 127.0.0.1 until interrupted."""

from __future__ import annotations

import socket
from collections.abc import Callable, Mapping
from pathlib import Path

import uvicorn

from retail_intel.camsetup.app import SetupSession, create_setup_app
from retail_intel.camsetup.frame import frame_from_video, latest_picture
from retail_intel.config.loader import load_config
from retail_intel.errors import InputError
from retail_intel.interrupts import raise_if_ctrl_c
from retail_intel.naming import CallerNames

HOST = "127.0.0.1"


def setup_session(
    config_dir: Path,
    data_dir: Path,
    branch_id: str,
    camera_id: str | None,
    *,
    video: Path | None = None,
    at_s: float = 0.0,
    fps: float | None = None,
    names: Mapping[str, str] | None = None,
) -> SetupSession:
    """Check the camera exists in the config and take its picture (from ``video`` or the data directory).

    ``camera_id`` None picks the branch's first camera. ``fps`` (else the camera's) finds the
    frame at ``at_s``, as ``process`` times the video. ``names`` say what the caller calls ``fps``
    in messages (its flag: ``{"fps": "--fps"}``).
    """
    camera = load_config(config_dir).camera(branch_id, camera_id)
    if video is not None:
        picture = frame_from_video(video, at_s, fps or camera.fps, CallerNames(names)("fps"))
    else:
        picture = latest_picture(data_dir, branch_id, camera.id)
    return SetupSession(config_dir=config_dir, branch_id=branch_id, camera_id=camera.id, picture=picture)


def setup_server(
    session: SetupSession, *, port: int = 0, names: Mapping[str, str] | None = None
) -> tuple[uvicorn.Server, socket.socket, str]:
    """A server for ``session``, its socket bound to 127.0.0.1:``port`` (0: any free port), and the page's URL.

    ``names`` say what the caller calls ``port`` in messages (its flag: ``{"port": "--port"}``)."""
    port_name = CallerNames(names)("port")
    if not 0 <= port <= 65535:
        raise InputError(f"{port_name}: expected 0 to 65535, got {port}")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((HOST, port))
    except OSError as exc:
        sock.close()
        raise InputError(f"{port_name} {port}: cannot listen on {HOST}:{port} ({exc.strerror})") from None
    bound = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_setup_app(session), log_level="warning", lifespan="off"))
    return server, sock, f"http://{HOST}:{bound}/"


def run_setup(
    session: SetupSession,
    *,
    port: int = 0,
    on_ready: Callable[[str], None] | None = None,
    names: Mapping[str, str] | None = None,
) -> None:
    """Serve the page for ``session`` on 127.0.0.1:``port`` until interrupted.

    ``on_ready`` gets the page's URL once the port is bound. Stopped by Ctrl-C, it raises
    KeyboardInterrupt once the server has shut down. ``names``: as :func:`setup_server`'s.
    """
    server, sock, url = setup_server(session, port=port, names=names)
    if on_ready is not None:
        on_ready(url)
    try:
        raise_if_ctrl_c(lambda: server.run(sockets=[sock]))
    finally:
        sock.close()
