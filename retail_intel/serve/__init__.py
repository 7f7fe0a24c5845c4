"""``retail-intel serve``: a read-only HTTP API over the config and the data directory.

``create_app(config_dir, data_dir)`` builds the FastAPI application (for
tests, or to mount in another ASGI app); ``run_server`` runs it under uvicorn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from retail_intel.serve.app import create_app
    from retail_intel.serve.server import run_server

__all__ = ["create_app", "run_server"]


def __getattr__(name: str) -> Any:
    # Imported on first use: every command line imports ``retail_intel.serve.settings``
    # (serve's flags), and loading FastAPI and the routes with it cost every command,
    # ``--help`` included, 1.5 s.
    if name == "create_app":
        from retail_intel.serve.app import create_app

        return create_app
    if name == "run_server":
        from retail_intel.serve.server import run_server

        return run_server
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
