"""Stopping a live session cleanly on Ctrl-C or SIGTERM.

Only the entry point of a live run installs these handlers, and restores
the previous ones when it returns: importing the library changes nothing.
The first signal asks the session to stop (it judges everybody still in view
and flushes); a second Ctrl-C aborts at once.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

STOP_SIGNALS = tuple(s for s in (signal.SIGINT, getattr(signal, "SIGTERM", None)) if s is not None)


@contextmanager
def stop_on_signals() -> Iterator[threading.Event]:
    """An event that is set by SIGINT/SIGTERM while the block runs (main thread only)."""
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        # signal handlers can only be installed from the main thread; the
        # caller still gets an event it may set itself
        yield stop
        return

    def handle(signum: int, frame: FrameType | None) -> None:
        if stop.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        stop.set()

    previous = {s: signal.getsignal(s) for s in STOP_SIGNALS}
    for s in STOP_SIGNALS:
        signal.signal(s, handle)
    try:
        yield stop
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
