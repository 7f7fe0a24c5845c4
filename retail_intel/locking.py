"""Advisory locks on the data directory, so two writers of one kind take turns instead of both writing.

Two ``ingest`` runs at once both checked which customer ids the store held
before either had written, and both wrote the rows they shared; two batches
of one archive both found every file unfinished and did all the work. Each
such writer now holds ``DATA_DIR/.locks/<name>.lock`` while it decides what
to write and writes it; a second one waits its turn and then finds the work
done.

Why a lock file rather than a commit protocol (write, then check for a
conflicting writer and undo): the writers' decisions depend on everything
already in the store, and an ingest's check-then-write or a batch's
skip-or-run is only correct if nobody changes the store between the check
and the write. A lock makes that window exclusive with a few lines; a commit
protocol would need every writer to detect and undo conflicts afterwards.
The lock is ``flock(2)`` on an open file: the kernel drops it when the
holder's process ends, so a writer killed with kill -9 never leaves a stale
lock behind (the file itself stays, harmlessly, and only says who held it
last). Readers (``kpis`` reading movements, ``sql``, ``serve``) take no lock:
every data file is replaced atomically, so they never see half a file.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from retail_intel.errors import DataError

LOCKS_DIR = ".locks"
INGEST_LOCK = "ingest"
BATCH_LOCK = "batch"
KPIS_LOCK = "kpis"
# held while a compacted file is rewritten (retail_intel/movements/compacted.py)
COMPACT_LOCK = "compact"


def lock_path(data_dir: Path, name: str) -> Path:
    return data_dir / LOCKS_DIR / f"{name}.lock"


def _holder(fd: int) -> str:
    """Who holds the lock, as its file says ("pid 123 on host since ..."), or "another process"."""
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        info = json.loads(os.read(fd, 4096) or b"{}")
        return f"pid {info['pid']} on {info['host']} since {info['since']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "another process"


@contextmanager
def data_dir_lock(
    data_dir: Path, name: str, *, wait: bool = True, on_wait: Callable[[str], None] | None = None
) -> Iterator[Path]:
    """Hold the exclusive lock ``name`` of ``data_dir`` for the ``with`` block.

    When another process holds it: with ``wait`` call ``on_wait(holder)``
    once and block until it is free; without, raise :class:`DataError`
    naming the holder.
    """
    path = lock_path(data_dir, name)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as exc:
        raise DataError(f"{path}: cannot create the {name} lock file ({exc.strerror or exc})") from exc
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            if not wait:
                raise DataError(
                    f"{data_dir}: another {name} is writing to it ({holder}); try again when it ends"
                ) from None
            if on_wait is not None:
                on_wait(holder)
            fcntl.flock(fd, fcntl.LOCK_EX)
        info = {"pid": os.getpid(), "host": socket.gethostname(), "since": dt.datetime.now(dt.UTC).isoformat()}
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(info).encode(), 0)
        except OSError:
            pass  # the note is only for messages; the lock itself is held
        yield path
    finally:
        os.close(fd)  # releases the lock
