"""``create_app``: the FastAPI application over one config directory and one data directory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from retail_intel import __version__
from retail_intel.serve.dashboard import router as dashboard_router
from retail_intel.serve.errors import install_error_handlers
from retail_intel.serve.fastpath import KpiFastPath
from retail_intel.serve.quality_routes import quality_router
from retail_intel.serve.routes import router
from retail_intel.serve.state import ServeState

DESCRIPTION = """\
Read-only access to the retail-intel data directory and config: branches,
tasks, events, promotions, KPI time series, movement events and customers.
The dashboard at `/` draws `/report/{branch_id}` in a browser.

Every route is a GET. Times are ISO 8601 with a timezone and come back in UTC
(event times in the branch's timezone). Errors are `{"detail": "..."}`; a 422
also lists each bad parameter under `errors`.
"""


def create_app(config_dir: Path, data_dir: Path) -> FastAPI:
    """The API over ``config_dir`` and ``data_dir``; raises ConfigError if the config does not load.

    Nothing is written anywhere: the DuckDB session is in memory and locked to
    reading the data directory's movement and KPI folders.
    """
    state = ServeState(Path(config_dir), Path(data_dir))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            state.close()

    app = FastAPI(
        title="retail-intel",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        debug=False,
    )
    app.state.retail_intel = state
    install_error_handlers(app, state.named_dirs)
    app.include_router(router)
    app.add_middleware(KpiFastPath, kpis=state.kpis, configs=state.configs)

    app.include_router(dashboard_router)
    app.include_router(quality_router)
    return app
