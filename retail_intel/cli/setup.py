"""``retail-intel setup``: draw a camera's shapes in a browser and save them to branches.yaml."""

from __future__ import annotations

import os
import sys
import webbrowser
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from retail_intel.cli.common import DEFAULT_CONFIG, DEFAULT_DATA_DIR, ConfigDir, DataDir, err, exit_interrupted
from retail_intel.timeutil import parse_duration

SETUP_HELP = """Set up a camera in a browser: draw its region of interest, door line and pass-by zone.

Serves a page on 127.0.0.1 showing a frame of VIDEO (at --at), or without VIDEO the camera's latest picture (DATA_DIR/frames/BRANCH/CAMERA.jpg, or a --max-frames preview's). Draw the region as a rectangle or polygon, the door line with its in side, the pass-by zone; the current config's shapes are shown. Save writes them into the camera's entry in branches.yaml (comments and layout kept; nothing is written unless the result validates). Stop with Ctrl-C.

Example: retail-intel setup --branch b1 --camera vtest sample_videos/vtest.avi --at 10s"""


def setup(
    branch: Annotated[str, typer.Option("--branch", "-b", help="Branch of the camera.", show_default=False)],
    video: Annotated[
        Path | None,
        typer.Argument(
            help="A video of the camera (default: its latest picture in the data directory).", show_default=False
        ),
    ] = None,
    camera: Annotated[
        str | None, typer.Option("--camera", help="Camera id (default: the branch's first camera).")
    ] = None,
    at: Annotated[str, typer.Option("--at", help="Time into the video, e.g. 10s, 1.5m.")] = "0s",
    fps: Annotated[
        float | None,
        typer.Option(
            "--fps", help="True frame rate, to find the frame at --at (default: the camera's fps, the header's)."
        ),
    ] = None,
    port: Annotated[int, typer.Option("--port", help="Port on 127.0.0.1 (0: any free port).")] = 0,
    open_browser: Annotated[
        bool | None,
        typer.Option(
            "--open/--no-open",
            help="Open the page in the default browser (default: only in a graphical session).",
            show_default=False,
        ),
    ] = None,
    config: ConfigDir = DEFAULT_CONFIG,
    data_dir: DataDir = DEFAULT_DATA_DIR,
) -> None:
    from retail_intel.accuracy.config_edit import BRANCHES_FILE
    from retail_intel.camsetup import run_setup, setup_session
    from retail_intel.cli.settings_flags import settings_from_flags

    settings_from_flags({"fps": fps})  # 0, negative or nan: refused as process refuses it, not taken as "unset"
    at_s = parse_duration(at, flag="--at", zero=True)
    for flag, given in ((f"--at {at}", bool(at_s)), (f"--fps {fps}", fps is not None)):
        if video is None and given:
            from retail_intel.errors import InputError

            # without a VIDEO the page shows the camera's stored picture, which has no time to seek to
            raise InputError(
                f"{flag}: needs a VIDEO to take the frame from (retail-intel setup --branch {branch} VIDEO {flag}); "
                "without one the page shows the camera's latest picture"
            )
    session = setup_session(config, data_dir, branch, camera, video=video, at_s=at_s, fps=fps, names={"fps": "--fps"})

    def ready(url: str) -> None:
        err.print(
            f"setting up camera {escape(session.camera_id)} of branch {escape(session.branch_id)}: "
            f"open [bold]{url}[/bold] (Ctrl-C to stop)"
        )
        if _graphical_session() if open_browser is None else open_browser:
            webbrowser.open(url)

    try:
        run_setup(session, port=port, on_ready=ready, names={"port": "--port"})
    except KeyboardInterrupt:
        # Save writes branches.yaml at once (whole or not at all); Ctrl-C only drops what was not saved
        exit_interrupted(
            f"setup page stopped: shapes saved with Save are in {escape(str(session.config_dir / BRANCHES_FILE))}, "
            "unsaved drawing was not written"
        )


def _graphical_session() -> bool:
    # Over SSH without a display, webbrowser would start a text browser in this terminal.
    return sys.platform in ("darwin", "win32") or bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def register(app: typer.Typer) -> None:
    app.command("setup", help=SETUP_HELP)(setup)
