"""Redoing a segment that had taken people over from the one before: that one is redone too.

When segment B takes over people open at the end of segment A, they are removed from A's files
and written by B. Redoing B (another start time, ROI, model) may no longer join them, or B may
no longer continue A at all: without a step back, those people would then be in neither file.
Their rows as A judged them are gone, and rebuilding them needs A's plan, so A is redone as well
(cheap when its stored tracks fit: they are judged again without detecting). A then writes
everybody it saw, as if alone, and the new B takes over whom it joins, as on a first run.
"""

from __future__ import annotations

from retail_intel.batch.ledger import DONE, Ledger, LedgerEntry


def earlier_takeovers(
    ledger: Ledger, fingerprint: str, branch: str, camera: str, key: str, *, preview: bool
) -> list[LedgerEntry]:
    """The done entries of this content (same camera, another key) that took people over from a
    segment before them: the people they claimed are missing from that segment's files."""
    return [
        e
        for e in ledger.of_content(fingerprint)
        if e.status == DONE
        and e.key != key  # the same key runs again with the same predecessor and takes the same people
        and (e.branch, e.camera, e.preview) == (branch, camera, preview)
        and e.claimed
        and e.prev_key is not None
    ]
