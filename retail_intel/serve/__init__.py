"""``retail-intel serve``: a read-only HTTP API over the config and the data directory.

``create_app(config_dir, data_dir)`` builds the FastAPI application (for
tests, or to mount in another ASGI app); ``run_server`` runs it under uvicorn.
"""

from retail_intel.serve.app import create_app
from retail_intel.serve.server import run_server

__all__ = ["create_app", "run_server"]
