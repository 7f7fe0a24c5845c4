"""The ``retail-intel`` Typer application and its error edge.

Each command lives in its own module under :mod:`retail_intel.cli` and is
registered here. Library errors (:class:`RetailIntelError`) become one red
line on stderr and exit code 1; usage errors exit 2; a traceback is shown only
with ``--debug``.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.markup import escape

from retail_intel import __version__
from retail_intel.cli.common import err
from retail_intel.errors import ConfigError, RetailIntelError
from retail_intel.naming import COMMAND_STEPS, DIRECTORY_NAMES

app = typer.Typer(
    name="retail-intel",
    help=(
        "Footfall analytics from recorded CCTV footage.\n\n"
        "Recorded video in, Parquet movement events (entered / passed, dwell) and store KPIs out.\n\n"
        "Example: retail-intel process sample_videos/vtest.avi --branch b1 --start-time 2026-02-08T10:00:00+00:00"
    ),
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

_state = {"debug": False, "registered": False}


def _version(value: bool) -> None:
    if value:
        print(f"retail-intel {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks on errors.")] = False,
) -> None:
    _state["debug"] = debug


def _register() -> None:
    # Imported here so ``retail-intel --help`` stays quick: heavy libraries
    # (torch, ultralytics) are imported lazily inside the commands that use them.
    # Once per process: each call used to append every command again, so a program
    # (or test suite) calling main() N times built a tree of 20 x N commands on each call.
    if _state["registered"]:
        return
    from retail_intel.cli import commands

    commands.register(app)
    _state["registered"] = True


def main() -> None:
    """Console-script entry point."""
    _register()
    debug = "--debug" in sys.argv
    try:
        # Standalone mode: usage errors print their message and exit 2.
        app()
    except RetailIntelError as exc:
        if debug:
            raise
        err.print("[red]error:[/red] " + escape(exc.worded_for(DIRECTORY_NAMES, COMMAND_STEPS)), soft_wrap=True)
        if isinstance(exc, ConfigError) and len(exc.problems) > 1:
            for problem in exc.problems:
                err.print("  [red]-[/red] " + escape(problem), soft_wrap=True)
        sys.exit(1)
    except OSError as exc:
        # The system refused something the library did not expect to fail
        # (a full disk while reading a temporary file, a vanished folder):
        # still one line, naming the file when the system did.
        if debug:
            raise
        where = f"{exc.filename}: " if exc.filename else ""
        err.print("[red]error:[/red] " + escape(where + (exc.strerror or str(exc))), soft_wrap=True)
        sys.exit(1)
