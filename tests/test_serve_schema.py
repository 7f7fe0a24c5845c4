"""Property-based run of the API's own OpenAPI schema (schemathesis): no 500, every answer as documented.

Schemathesis generates requests for every operation from ``/openapi.json``,
valid and invalid ones, sends them in-process (ASGI) and checks each
response: never a server error, status code, content type, headers and body
as the schema says, and schema-invalid input rejected with a 4xx. The number
of examples per operation is bounded so the run stays well under a minute.

One check is left out: "positive data acceptance" expects a 2xx for every
request the schema allows, but some rules span parameters or need the data
(``to`` after ``from``, a window size that divides a day, a cursor this API
issued) and answer 422 on purpose; tests in test_serve_api.py cover them.
"""

from __future__ import annotations

import atexit
import gc
import shutil
import tempfile
from pathlib import Path
from typing import Any

import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from retail_intel.serve import create_app
from tests.test_serve_support import make_site

EXAMPLES_PER_OPERATION = 60


class _LazyApp:
    """The ASGI app handed to schemathesis: the real app over a small data set, built on first use.

    Schemathesis loads the schema while this module is collected and keeps
    the app for the rest of the process; this wrapper lets the real app (and
    its DuckDB connection) be closed and freed when the run ends.
    """

    def __init__(self) -> None:
        self._app: FastAPI | None = None
        self._root: Path | None = None

    def _real(self) -> FastAPI:
        if self._app is None:
            self._root = Path(tempfile.mkdtemp(prefix="serve-schema-"))
            site = make_site(self._root)
            self._app = create_app(site.config_dir, site.data_dir)
        return self._app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            # The app needs nothing at start-up; answering here means no lifespan task holds it open.
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                else:
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        await self._real()(scope, receive, send)

    def close(self) -> None:
        if self._app is not None:
            self._app.state.retail_intel.close()
            self._app = None
            gc.collect()
        if self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)
            self._root = None


_APP = _LazyApp()
atexit.register(_APP.close)
schema = schemathesis.openapi.from_asgi("/openapi.json", _APP)
schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE])


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_openapi_schema_holds_for_generated_requests(case: schemathesis.Case) -> None:
    case.call_and_validate(excluded_checks=[positive_data_acceptance])
