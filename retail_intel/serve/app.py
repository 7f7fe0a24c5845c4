"""``create_app``: the FastAPI application over one config directory and one data directory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from retail_intel import __version__
from retail_intel.serve.apidocs import router as docs_router
from retail_intel.serve.configrefresh import ConfigRefresh
from retail_intel.serve.dashboard import router as dashboard_router
from retail_intel.serve.errors import install_error_handlers
from retail_intel.serve.fastpath import KpiFastPath
from retail_intel.serve.quality_routes import quality_router
from retail_intel.serve.routes import router
from retail_intel.serve.settings import ServeSettings
from retail_intel.serve.state import ServeState
from retail_intel.serve.zone_routes import zone_router

DESCRIPTION = """\
Read-only access to the retail-intel data directory and config: branches,
tasks, events, promotions, KPI time series, movement events and customers.
The dashboard at `/` draws `/report/{branch_id}` in a browser.

Every route is a GET. Times are ISO 8601 with a timezone and come back in UTC
(event times in the branch's timezone). Errors are `{"detail": "..."}`; a 422
also lists each bad parameter under `errors`.
"""


def create_app(config_dir: Path, data_dir: Path, settings: ServeSettings | None = None) -> FastAPI:
    """The API over ``config_dir`` and ``data_dir``; raises ConfigError if the config does not load.

    ``settings`` bounds its caches (bytes) and its dashboard drawing (see :class:`ServeSettings`).

    Nothing is written anywhere: the DuckDB session is in memory and locked to
    reading the data directory's movement and KPI folders.
    """
    state = ServeState(Path(config_dir), Path(data_dir), settings)

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
        # /docs comes from docs_router, with Swagger UI's files served locally; ReDoc needs a CDN.
        docs_url=None,
        redoc_url=None,
    )
    app.state.retail_intel = state
    install_error_handlers(app, state.named_dirs)
    app.include_router(router)
    app.include_router(zone_router)
    # Added first, so it runs inside the fast path: only requests the fast path did not answer pay for it.
    app.add_middleware(ConfigRefresh, configs=state.configs)
    app.add_middleware(KpiFastPath, kpis=state.kpis, configs=state.configs)

    app.include_router(dashboard_router)
    app.include_router(docs_router)
    app.include_router(quality_router)
    return app
