"""Ctrl-C through a server that catches it: it still ends in KeyboardInterrupt.

uvicorn installs its own SIGINT handler to shut down gracefully. A lone
``uvicorn.Server`` raises the signal again once it stopped, through the
handler that was in place before it started; ``uvicorn.run`` then swallows
the KeyboardInterrupt and returns as if the server had ended by itself.
:func:`raise_if_ctrl_c` puts a handler in place that notes the signal, so the
caller (``serve``, ``setup``) sees Ctrl-C as every other command does: as a
KeyboardInterrupt, which the CLI turns into one line and exit code 130.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from types import FrameType


def raise_if_ctrl_c(run: Callable[[], None]) -> None:
    """Call ``run``; raise KeyboardInterrupt if Ctrl-C (SIGINT) stopped it, even if it returned normally.

    Only in the main thread and only where SIGINT has Python's default handler
    (an embedding program's own handler, or an ignored SIGINT, is left alone);
    the previous handler is back when this returns.
    """
    noticed = False

    def handle(signum: int, frame: FrameType | None) -> None:
        nonlocal noticed
        noticed = True
        raise KeyboardInterrupt

    watch = (
        threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGINT) is signal.default_int_handler
    )
    previous = signal.signal(signal.SIGINT, handle) if watch else None
    try:
        run()
    finally:
        if watch:
            signal.signal(signal.SIGINT, previous)
    if noticed:
        raise KeyboardInterrupt
