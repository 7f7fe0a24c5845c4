"""Repeated KPI requests answered before FastAPI parses anything.

Dashboards poll the same few KPI URLs. FastAPI's routing and parameter
validation cost about five times more than the answer itself once it is
cached, so this ASGI middleware looks the URL up first: a URL answered
before, whose KPI file and config files are unchanged, gets the same body
straight away. Everything else, including every first request and every
error, goes through FastAPI as usual; only URLs that FastAPI validated and
answered with 200 are ever remembered (:meth:`KpiCache.remember_url`).
"""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from retail_intel.serve.kpicache import KpiCache
from retail_intel.serve.state import ConfigCache

KPI_PREFIX = "/kpis/branch/"


class KpiFastPath:
    def __init__(self, app: ASGIApp, kpis: KpiCache, configs: ConfigCache) -> None:
        self.app = app
        self.kpis = kpis
        self.configs = configs

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and scope["path"].startswith(KPI_PREFIX):
            url = (scope["path"], scope["query_string"])
            body = self.kpis.answer_for_url(url, self.configs.signature_on_disk())
            if body is not None:
                await _send_json(send, body)
                return
        await self.app(scope, receive, send)


async def _send_json(send: Send, body: bytes) -> None:
    # The same status and headers FastAPI sends for these answers.
    start: dict[str, Any] = {
        "type": "http.response.start",
        "status": 200,
        "headers": [(b"content-length", str(len(body)).encode("ascii")), (b"content-type", b"application/json")],
    }
    await send(start)
    await send({"type": "http.response.body", "body": body})
