"""Ordering a camera's segments in time and finding which ones continue each other.

Segment B continues segment A of the same branch and camera when B starts
within ``max_gap_s`` of A's end (by A's header frame count and frame rate).
A chain of such segments is processed in time order, one after the other, so
each can take over the people still in view at the end of the one before;
different chains (cameras, or gaps in a camera's footage) run in parallel.

The first segment of a chain may also continue a segment finished by an
earlier batch: the ledger knows its start and length.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from retail_intel.batch.ledger import Ledger, LedgerEntry
from retail_intel.batch.segments import Segment

# Recorders start the next file within a second or two of the last one's
# end; file names carry whole seconds. Larger gaps are breaks in the footage.
JOIN_GAP_S = 5.0


@dataclass
class Chains:
    """Runs of consecutive segments (indices into the segment list), each in time order."""

    runs: list[list[int]] = field(default_factory=list)
    prev: dict[int, int] = field(default_factory=dict)  # segment -> the segment it continues
    earlier: dict[int, LedgerEntry] = field(default_factory=dict)  # chain head -> a segment of an earlier batch
    overlaps: dict[int, float] = field(default_factory=dict)  # segment -> seconds it overlaps the one before


def _continues(before_end: float, after_start: float, max_gap_s: float) -> bool:
    return -max_gap_s <= after_start - before_end <= max_gap_s


def link_segments(segments: list[Segment | None], ledger: Ledger, *, max_gap_s: float = JOIN_GAP_S) -> Chains:
    """Group ``segments`` (None entries are skipped) into chains of consecutive recordings."""
    chains = Chains()
    by_camera: dict[tuple[str, str], list[int]] = defaultdict(list)
    for index, segment in enumerate(segments):
        if segment is not None:
            by_camera[(segment.plan.branch_id, segment.plan.camera_id)].append(index)
    for (branch, camera), indices in sorted(by_camera.items()):
        ordered = sorted(indices, key=lambda i: (_seg(segments, i).start_time, str(_seg(segments, i).job.video)))
        run: list[int] = []
        for index in ordered:
            segment = _seg(segments, index)
            if run:
                last = _seg(segments, run[-1])
                # a preview that stops before the end of its file is not back to back with the next one
                end = last.end_time
                if (
                    end is not None
                    and not last.cut_short
                    and _continues(end.timestamp(), segment.start_time.timestamp(), max_gap_s)
                ):
                    chains.prev[index] = run[-1]
                    run.append(index)
                    continue
                if end is not None and segment.start_time < end:
                    chains.overlaps[index] = (end - segment.start_time).total_seconds()
                chains.runs.append(run)
            run = [index]
        if run:
            chains.runs.append(run)
        fingerprints = {_seg(segments, i).fingerprint for i in indices}
        # a preview continues only a preview, a full run only a full run: a preview must never
        # take people out of real files, nor a real segment take them from a preview's
        earlier = {
            kind: [e for e in ledger.done_segments(branch, camera, preview=kind) if e.fingerprint not in fingerprints]
            for kind in (False, True)
        }
        for run in chains.runs:
            head = _seg(segments, run[0])
            if head.plan.branch_id != branch or head.plan.camera_id != camera:
                continue
            candidates = [
                e
                for e in earlier[head.plan.is_preview]
                if e.end_time is not None
                and not e.cut_short
                and _continues(e.end_time.timestamp(), head.start_time.timestamp(), max_gap_s)
            ]
            if candidates:
                best = min(candidates, key=lambda e: (abs(_gap(e, head)), e.recorded_at))
                chains.earlier[run[0]] = best
    return chains


def _gap(entry: LedgerEntry, segment: Segment) -> float:
    end = entry.end_time
    assert end is not None
    return (segment.start_time - end).total_seconds()


def _seg(segments: list[Segment | None], index: int) -> Segment:
    segment = segments[index]
    assert segment is not None
    return segment
