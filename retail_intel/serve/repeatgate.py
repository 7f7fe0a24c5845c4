"""The movement store checked for a copied file once per change of its files, not on every request.

``/movements`` and ``/customers`` read the movement files a listing names, so a file copied into
the store under another name (a backup beside a day's file) would answer each of its people twice,
while ``sql`` and ``kpis`` refuse it (:mod:`retail_intel.movements.repeats`). The check reads the
key columns of every file it covers, too much for each request; the listing the route makes
anyway (a ``stat`` per file) tells whether a file came, went or was replaced since the last check,
and only then is the check made again. Its answer (nothing, or the refusal) is kept until then,
per listing: all branches, or one branch's folder and rows, as ``kpis --branch`` checks them.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

from retail_intel.errors import DataError
from retail_intel.movements.repeats import refuse_repeated_movement_store
from retail_intel.serve.files import FileKey, MovementFile
from retail_intel.storage import reread_once

Listing = tuple[tuple[str, FileKey], ...]


class RepeatGate:
    """Refuses the movement routes with the check's :class:`DataError` while their files repeat a movement."""

    def __init__(self, data_dir: Path) -> None:
        self._data_dir = data_dir
        # one check at a time: requests arriving meanwhile wait for its answer rather than start their own
        self._lock = threading.Lock()
        # per branch (None: all), the listing last checked and the refusal; branch ids are configured
        # ones (the routes 404 others first), so this stays as small as the config
        self._checked: dict[str | None, tuple[Listing, str | None]] = {}

    def check(self, branch_id: str | None, listed: Sequence[MovementFile]) -> None:
        """:class:`DataError` if ``listed`` (the movement files of ``branch_id``'s folder, or of all
        branches, as listed now) holds a movement of that branch (or any) on two rows."""
        problem = self.problem(branch_id, listed)
        if problem is not None:
            raise DataError(problem)

    def problem(self, branch_id: str | None, listed: Sequence[MovementFile]) -> str | None:
        """The refusal :meth:`check` raises, or None (``/health`` reports it without failing)."""
        listing = tuple(sorted((f.path, f.key) for f in listed))
        with self._lock:
            known = self._checked.get(branch_id)
            if known is None or known[0] != listing:
                try:
                    reread_once(lambda: refuse_repeated_movement_store(self._data_dir, branch_id))
                    problem = None
                except DataError as exc:
                    problem = str(exc)
                known = self._checked[branch_id] = (listing, problem)
        return known[1]
