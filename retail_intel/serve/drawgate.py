"""At most N dashboard views drawn at once, a short queue behind them, 503 beyond it.

Drawing a view that is not cached costs about a CPU-second (charts, heatmaps,
the KPI table). Unbounded, a few requests a second for different days pile
up behind one another until every answer takes a minute, and requests whose
browser has long gone still get drawn. So a view is drawn only with one of
``workers`` turns; up to ``queue`` more requests wait for a turn, in order of
arrival, and any beyond that are answered at once with 503 and
``Retry-After``. A waiting request whose client disconnected gives up its
place before any drawing starts. One already drawing runs to the end (the
drawing code cannot be interrupted) and its page is cached for the next
request.

Waiting is a short sleep-and-look loop rather than an asyncio primitive: the
gate then belongs to no particular event loop, and a wait of tens of
milliseconds is nothing next to a second of drawing.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from retail_intel.errors import RetailIntelError

POLL_SECONDS = 0.02


class GateFull(RetailIntelError):
    """Every turn is taken and the queue is full: the caller should answer 503 with Retry-After."""


class ClientGone(RetailIntelError):
    """The client disconnected while the request waited for a turn; nothing was drawn."""


class DrawGate:
    def __init__(self, workers: int, queue: int) -> None:
        if workers < 1 or queue < 0:
            raise ValueError(f"workers must be >= 1 and queue >= 0, got {workers} and {queue}")
        self.workers = workers
        self.queue = queue
        self._running = 0
        self._waiting: deque[int] = deque()
        self._tickets = itertools.count()
        self._lock = threading.Lock()

    @property
    def running(self) -> int:
        return self._running

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    @asynccontextmanager
    async def turn(self, disconnected: Callable[[], Awaitable[bool]]) -> AsyncIterator[None]:
        """Hold one of the turns for the body; :class:`GateFull` or :class:`ClientGone` instead."""
        with self._lock:
            if self._running + len(self._waiting) >= self.workers + self.queue:
                raise GateFull(
                    f"{self._running} dashboard views are being drawn and {len(self._waiting)} wait; try again shortly"
                )
            ticket = next(self._tickets)
            self._waiting.append(ticket)
        try:
            while not self._take(ticket):
                if await disconnected():
                    raise ClientGone("the client disconnected while waiting")
                await asyncio.sleep(POLL_SECONDS)
        except BaseException:  # gone, or cancelled: leave the queue (the turn was not taken yet)
            with self._lock:
                self._waiting.remove(ticket)
            raise
        try:
            yield
        finally:
            self._give_back()

    def _take(self, ticket: int) -> bool:
        # First come, first served: only the oldest waiter may take a free turn.
        with self._lock:
            if self._running < self.workers and self._waiting[0] == ticket:
                self._waiting.popleft()
                self._running += 1
                return True
            return False

    def _give_back(self) -> None:
        with self._lock:
            self._running -= 1
