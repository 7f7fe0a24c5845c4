"""Running the API under uvicorn, in one process or several.

Several worker processes each build their own app from the same two
directories; uvicorn starts them from an import string, so the directories
travel in the environment variables the CLI reads anyway.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from retail_intel.config.loader import load_config
from retail_intel.errors import InputError

CONFIG_ENV = "RETAIL_INTEL_CONFIG"
DATA_DIR_ENV = "RETAIL_INTEL_DATA_DIR"
MAX_WORKERS = 64


def app_from_environment() -> FastAPI:
    """The app over ``$RETAIL_INTEL_CONFIG`` and ``$RETAIL_INTEL_DATA_DIR`` (uvicorn factory)."""
    from retail_intel.serve.app import create_app

    return create_app(Path(os.environ.get(CONFIG_ENV, "config")), Path(os.environ.get(DATA_DIR_ENV, "retail_data")))


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def run_server(
    config_dir: Path,
    data_dir: Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    access_log: bool = False,
    log_level: str = "info",
) -> None:
    """Serve until interrupted. The config is checked first so a broken one fails here, not in a worker."""
    if not 1 <= workers <= MAX_WORKERS:
        raise InputError(f"--workers must be between 1 and {MAX_WORKERS}, got {workers}")
    if not 0 <= port <= 65535:
        raise InputError(f"--port must be between 0 and 65535, got {port}")
    if data_dir.exists() and not data_dir.is_dir():
        raise InputError(f"--data-dir {data_dir} is a file; expected the data directory")
    load_config(config_dir)
    os.environ[CONFIG_ENV] = str(config_dir.resolve())
    os.environ[DATA_DIR_ENV] = str(data_dir.resolve())
    uvicorn.run(
        "retail_intel.serve.server:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=access_log,
        log_level=log_level,
        server_header=False,
        # Picks uvloop and httptools when installed (uvicorn[standard]).
        loop="auto",
        http="auto",
    )
