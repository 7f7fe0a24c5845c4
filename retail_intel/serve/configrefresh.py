"""Config reloads happen in a worker thread, never on the event loop.

The YAML files are checked on every request and re-read when one changed.
Reading them can take long: a large file, a slow disk, or a hostile one (a
"billion laughs" file expands without end). On the event loop that would
freeze every route, including the ones that never look at the config. This
ASGI middleware looks at the files' signature (a few ``stat`` calls) and, if
it changed, hands the reload to the thread pool; only the request that found
the change waits for it. Requests arriving meanwhile are served the last
config loaded (:meth:`ConfigCache.refresh` does not wait for a reload already
running), and :meth:`ConfigCache.get_with_signature` never reloads on the loop.

It sits behind :class:`~retail_intel.serve.fastpath.KpiFastPath`, which
answers a repeated KPI URL only while the config files are unchanged, so the
hot path pays nothing extra.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from retail_intel.serve.state import ConfigCache


class ConfigRefresh:
    def __init__(self, app: ASGIApp, configs: ConfigCache) -> None:
        self.app = app
        self.configs = configs

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.configs.stale():
            await run_in_threadpool(self.configs.refresh)
        await self.app(scope, receive, send)
