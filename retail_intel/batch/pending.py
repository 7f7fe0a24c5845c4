"""KPI recomputes a batch owes: written before the work that makes them necessary, cleared after.

A batch recomputes the KPIs of the days its files changed, at the very end.
Killed during that step, the batch used to leave the KPIs stale for good: a
rerun finds every file done, changes nothing, and so recomputes nothing.

``DATA_DIR/ledger/kpis-pending.json`` closes that gap with a small write-ahead
record: per branch, the span of time whose KPIs are owed. A span is added
*before* the ledger entry that makes a file count as done, so a kill at any
moment leaves either the work undone (the rerun redoes it) or the debt
recorded (the rerun pays it); it is removed only after every KPI file has
been written. A rerun adds the owed spans to whatever it changes itself.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from pathlib import Path

from retail_intel.batch.ledger import LEDGER_DIR
from retail_intel.errors import DataError, NextStep, Step
from retail_intel.storage import atomic_write_bytes

PENDING_FILE = "kpis-pending.json"

Span = tuple[str, dt.datetime, dt.datetime]  # branch, start, end


def pending_path(data_dir: Path) -> Path:
    return data_dir / LEDGER_DIR / PENDING_FILE


def load_pending(data_dir: Path) -> list[Span]:
    """The spans whose KPIs an earlier batch still owes (none when the file is absent)."""
    path = pending_path(data_dir)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot be read ({exc}); delete it to skip the owed KPI recompute") from exc
    try:
        data = json.loads(text)
        return [
            (str(branch), dt.datetime.fromisoformat(start), dt.datetime.fromisoformat(end))
            for branch, (start, end) in data["spans"].items()
        ]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise DataError(
            f"{path}: not a list of owed KPI spans ({exc}); delete it and ", next_step=NextStep(Step.RECOMPUTE_KPIS)
        ) from exc


def _merged(spans: Iterable[Span]) -> dict[str, tuple[dt.datetime, dt.datetime]]:
    merged: dict[str, tuple[dt.datetime, dt.datetime]] = {}
    for branch, start, end in spans:
        low, high = merged.get(branch, (start, end))
        merged[branch] = (min(low, start), max(high, end))
    return merged


def add_pending(data_dir: Path, spans: Iterable[Span], known: list[Span]) -> None:
    """Record ``spans`` as owed on top of ``known`` (what this batch recorded so far), durably.

    ``known`` is updated in place, so each call rewrites the small file once
    without reading it back; unchanged spans are not written again.
    """
    before = _merged(known)
    known.extend(spans)
    after = _merged(known)
    if after == before:
        return
    payload = {"spans": {b: [s.isoformat(), e.isoformat()] for b, (s, e) in sorted(after.items())}}
    atomic_write_bytes(json.dumps(payload, indent=1).encode(), pending_path(data_dir))


def clear_pending(data_dir: Path) -> None:
    """Every owed KPI span has been recomputed."""
    pending_path(data_dir).unlink(missing_ok=True)
