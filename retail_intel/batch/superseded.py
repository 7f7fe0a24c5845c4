"""A file processed while the recorder was still writing it: its first version's outputs go.

Outputs are named by content (:func:`~retail_intel.pipeline.video_tracks.source_key`), so processing the
finished file writes a second set beside the first, and both would be counted. A batch that
processes a path whose ledger entry (same branch, camera and start time, same kind: full run or
preview) had another content removes that entry's outputs from every per-source table, once
the new ones are in place and before the new ledger line. A content that the ledger also knows
under another path is left alone: those outputs are that file's too.
"""

from __future__ import annotations

from pathlib import Path

from retail_intel.batch.ledger import DONE, Ledger, LedgerEntry
from retail_intel.movements.source_removal import remove_source
from retail_intel.pipeline.run import run_summary_path
from retail_intel.pipeline.video_tracks import source_key
from retail_intel.storage import PREVIEWS_DIR


def earlier_versions(ledger: Ledger, entry: LedgerEntry) -> list[LedgerEntry]:
    """The done entries of ``entry``'s path, camera and start time with another content (one per content)."""
    found: dict[str, LedgerEntry] = {}
    for old in ledger.of_video(entry.video):
        if (
            old.status == DONE
            and old.fingerprint != entry.fingerprint
            and (old.branch, old.camera, old.start_time, old.preview)
            == (entry.branch, entry.camera, entry.start_time, entry.preview)
            and source_key(old.camera, old.fingerprint) != source_key(entry.camera, entry.fingerprint)
        ):
            found[old.fingerprint] = old
    return [
        old
        for fingerprint, old in found.items()
        if not any(e.status == DONE and e.video != entry.video for e in ledger.of_content(fingerprint))
    ]


def remove_outputs(data_dir: Path, old: LedgerEntry) -> int:
    """Delete ``old``'s outputs (every per-source table, a compacted month copy, the run summary)."""
    root = data_dir / PREVIEWS_DIR if old.preview else data_dir
    key = source_key(old.camera, old.fingerprint)
    removed = remove_source(root, old.branch, key)
    summary = run_summary_path(root, key)
    if summary.is_file():
        summary.unlink()
        removed += 1
    return removed
