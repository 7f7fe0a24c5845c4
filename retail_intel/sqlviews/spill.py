"""A private folder for DuckDB's spill files, outside the current directory.

DuckDB spills large intermediate results to ``temp_directory``, ``.tmp`` in
the current directory by default, and keeps that folder readable even when
file access is otherwise locked down: a ``sql`` query could then read
``<cwd>/.tmp/anything``. Locked sessions spill instead to one folder per
process made by :func:`tempfile.mkdtemp` (mode 0700, a random name), which
holds nothing but DuckDB's own files, and which is removed at exit.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
import threading
from pathlib import Path

_lock = threading.Lock()
_folder: list[Path] = []


def private_spill_dir() -> Path:
    """This process's spill folder, made on first use."""
    with _lock:
        if not _folder:
            made = Path(tempfile.mkdtemp(prefix="retail-intel-duckdb-"))
            _folder.append(made)
            atexit.register(shutil.rmtree, made, ignore_errors=True)
        return _folder[0]
