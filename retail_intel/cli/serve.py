"""``retail-intel serve``: the read-only HTTP API (FastAPI on uvicorn)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from retail_intel.cli.common import DEFAULT_CONFIG, DEFAULT_DATA_DIR, ConfigDir, DataDir, err, exit_interrupted
from retail_intel.cli.ranges import in_range
from retail_intel.serve.settings import CACHE_MB_ENV, MIB, ServeSettings

DEFAULT_CACHE_MB = ServeSettings().cache_bytes // MIB

# what run_server's messages call its parameters: the flags the user typed
FLAGS = {"host": "--host", "port": "--port", "workers": "--workers", "data_dir": "--data-dir", "cache_mb": "--cache-mb"}


def serve(
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on. Anything but loopback exposes the API to the network.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", "-p", **in_range(int, min=0, max=65535), help="TCP port.")] = 8000,
    workers: Annotated[
        int,
        typer.Option(
            "--workers", "-w", **in_range(int, min=1, max=64), help="Server processes (about one per CPU core)."
        ),
    ] = 1,
    access_log: Annotated[bool, typer.Option("--access-log", help="Log every request (costs throughput).")] = False,
    cache_mb: Annotated[
        int,
        typer.Option(
            "--cache-mb",
            **in_range(int, min=0),
            envvar=CACHE_MB_ENV,
            help="Memory ceiling of each worker's caches (KPI answers, dashboard views), in MiB.",
        ),
    ] = DEFAULT_CACHE_MB,
    config: ConfigDir = DEFAULT_CONFIG,
    data_dir: DataDir = DEFAULT_DATA_DIR,
) -> None:
    """Serve the config, KPIs and movements over HTTP, read-only, with a dashboard, until Ctrl+C.

    The dashboard at / picks a branch and days and shows the report's charts,
    heatmaps and KPI table, redrawn when new data arrives; it loads nothing
    from outside this server. GET routes: /health, /branches, /branches/{id},
    /tasks/{branch_id}, /events, /promotions, /kpis/branch/{branch_id},
    /movements, /customers/{id}, /report/{branch_id}, /zones/{branch_id},
    /queues/{branch_id}, /quality/branch/{branch_id}, /data-version; the
    interactive documentation is at /docs. Data written by process, ingest or
    kpis while the server runs shows up on the next request, no restart needed.

    Each worker keeps its caches under --cache-mb; a dashboard view not yet
    drawn waits its turn, and when too many wait the answer is 503 with
    Retry-After. A busy port is an error before anything is served.

    Example: retail-intel serve --port 8000 --workers 2 --cache-mb 512 --config ./config --data-dir ./retail_data
    """
    from retail_intel.serve.server import is_loopback, run_server, url_host

    if not is_loopback(host):
        err.print(
            f"[yellow]warning:[/yellow] listening on {escape(host)}: the API has no authentication, "
            "so anyone who can reach this address can read the data"
        )

    def announce(port: int) -> None:
        # Printed only once the config loaded and the port is free.
        base = f"http://{escape(url_host(host))}:{port}/"
        err.print(f"retail-intel dashboard on {base} and API on {base}docs  (Ctrl+C stops it)")

    try:
        run_server(
            config,
            data_dir,
            host=host,
            port=port,
            workers=workers,
            access_log=access_log,
            cache_mb=cache_mb,
            on_ready=announce,
            names=FLAGS,
        )
    except KeyboardInterrupt:
        # the API only reads: stopping it loses nothing
        exit_interrupted("server stopped, nothing written (run the same command again to serve)")


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
