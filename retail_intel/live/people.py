"""Deciding, while the stream runs, when a person is finished and can be judged.

A batch job judges everybody at the end of the video. A live stream has no
end, so each person is judged as soon as nothing can change their verdict:

1. a tracker id that has not been seen for longer than the track buffer is
   closed: ByteTrack has forgotten it and will never report it again;
2. closed fragments are stitched exactly as the batch job stitches them;
   a stitched person is final once the stitcher's horizon (the longest gap
   it bridges) has passed since their last sample, so no new fragment could
   continue them, and no fragment that is still open could link to theirs.

Final people leave the pool, so memory stays bounded by the people in view.
"""

from __future__ import annotations

import bisect
import math
from array import array
from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

from retail_intel.movements.stitch import StitchSettings, stitch
from retail_intel.movements.tracks import ShareTally, Track, TrackedBoxes, add_share
from retail_intel.pipeline.continuity import stitch_horizon

_COLUMNS = ("frame", "t", "x", "y", "height", "confidence", "width")


class OpenFragments:
    """Tracker output per fragment; a fragment ends when its tracker id goes quiet.

    Fragment ids are counted by the session, not taken from the tracker: the
    tracker is restarted after a stream gap (its ids start over) and may, when
    frames are dropped, report an id again after it was closed here.
    """

    def __init__(self, first_id: int = 1) -> None:
        self._next_id = first_id
        self._by_tracker: dict[int, int] = {}
        self._columns: dict[int, dict[str, array[float]]] = {}
        self._start: dict[int, float] = {}
        self._last: dict[int, float] = {}
        self._uniform: dict[int, ShareTally] = {}  # per fragment: the uniform-colour shares, summed

    def __len__(self) -> int:
        return len(self._columns)

    def add(
        self,
        frame: int,
        t: float,
        boxes: TrackedBoxes,
        appearance: object = None,
        uniform: npt.NDArray[np.float32] | None = None,
    ) -> None:
        # ``appearance`` is not kept live: a live person lost for long is not linked on looks.
        # ``uniform`` (one share per box, where the branch has a uniform colour) is summed per
        # fragment, as the file run's accumulator does, for the staff rule
        if boxes.tracker_id is None:
            raise ValueError("open fragments take tracked boxes (tracker_id set)")
        shares = [math.nan] * len(boxes.tracker_id) if uniform is None else uniform.tolist()
        for tid, box, conf, share in zip(
            boxes.tracker_id.tolist(), boxes.xyxy.tolist(), boxes.confidence.tolist(), shares, strict=True
        ):
            fid = self._by_tracker.get(int(tid))
            if fid is None:
                fid = self._next_id
                self._next_id += 1
                self._by_tracker[int(tid)] = fid
                self._columns[fid] = {name: array("d") for name in _COLUMNS}
                self._start[fid] = t
            add_share(self._uniform, fid, share)
            x1, y1, x2, y2 = box
            cols = self._columns[fid]
            for name, value in zip(
                _COLUMNS, (frame, t, (x1 + x2) / 2.0, y2, y2 - y1, float(conf), x2 - x1), strict=True
            ):
                cols[name].append(value)
            self._last[fid] = t

    def snapshot(self, start: float, end: float, *, min_span_s: float = 0.0) -> list[Track]:
        """The samples from ``start`` to ``end`` of the open fragments seen then and tracked for at
        least ``min_span_s`` so far (copies; they stay open)."""
        found = []
        for fid in sorted(self._columns):
            if self._last[fid] - self._start[fid] < min_span_s:
                continue
            cols = self._columns[fid]
            lo, hi = bisect.bisect_left(cols["t"], start), bisect.bisect_right(cols["t"], end)
            if lo < hi:
                found.append(self._track(fid, {name: values[lo:hi] for name, values in cols.items()}, None))
        return found

    def spans(self) -> list[tuple[float, float]]:
        """(first, last) sample time of every open fragment."""
        return [(self._start[f], self._last[f]) for f in self._columns]

    def close_idle(self, now_t: float, idle_s: float) -> list[Track]:
        """Close and return the fragments not seen for more than ``idle_s`` seconds."""
        return self._close([f for f, last in self._last.items() if now_t - last > idle_s])

    def close_all(self) -> list[Track]:
        return self._close(list(self._columns))

    def _close(self, ids: Iterable[int]) -> list[Track]:
        closed = []
        gone = set(ids)
        for fid in sorted(gone):
            cols = self._columns.pop(fid)
            del self._start[fid], self._last[fid]
            closed.append(self._track(fid, cols, self._uniform.pop(fid, None)))
        self._by_tracker = {tid: fid for tid, fid in self._by_tracker.items() if fid not in gone}
        return closed

    @staticmethod
    def _track(fid: int, cols: dict[str, array[float]], uniform: ShareTally | None) -> Track:
        # copies: a numpy view of an array.array would stop the fragment from growing (BufferError)
        return Track(
            track_id=fid,
            frames=np.array(cols["frame"], dtype=np.float64).astype(np.int64),
            t=np.array(cols["t"], dtype=np.float64),
            x=np.array(cols["x"], dtype=np.float64),
            y=np.array(cols["y"], dtype=np.float64),
            height=np.array(cols["height"], dtype=np.float64),
            confidence=np.array(cols["confidence"], dtype=np.float64),
            width=np.array(cols["width"], dtype=np.float64),
            uniform=uniform,
        )


class PeoplePool:
    """Closed fragments waiting until the people they make up are final.

    Stitching is greedy over all candidate links, so whether fragment A joins
    B can depend on a third fragment that competes for B, and that one on a
    fourth. Fragments are therefore released a whole *group* at a time: a
    group is a connected set of fragments any two of which stitching could
    join. A group is final when none of its fragments could still be linked
    to a fragment that is open or yet to come; its people are then exactly
    those that stitching the whole recording would give.

    A busy spot can keep a group growing for minutes (a queue, a doorway).
    Its people are not held forever: once a group's oldest fragment ended
    ``max_hold_s`` ago, the people in it that are final on their own are
    released (a close approximation of the offline result).
    """

    def __init__(self, settings: StitchSettings | None = None, *, max_hold_s: float = 60.0) -> None:
        self.settings = settings or StitchSettings()
        self.max_hold_s = max_hold_s
        self._fragments: dict[int, Track] = {}

    def __len__(self) -> int:
        return len(self._fragments)

    def add(self, fragments: Iterable[Track]) -> None:
        for fragment in fragments:
            self._fragments[fragment.track_id] = fragment

    def take_final(self, now_t: float, open_spans: list[tuple[float, float]]) -> list[Track]:
        """Remove and return the fragments of every person who is final at ``now_t``.

        ``now_t`` must be a time before which every frame has been seen;
        ``open_spans`` are the (first, last) sample times of the fragments still tracked.
        """
        if not self._fragments:
            return []
        horizon = stitch_horizon(self.settings)
        taken: list[Track] = []
        for group in self._groups(horizon):
            if self._settled(group, now_t, open_spans, horizon):
                taken.extend(group)
                continue
            if now_t - min(f.end for f in group) <= self.max_hold_s:
                continue
            for person in stitch(group, self.settings):
                parts = [self._fragments[i] for i in person.fragment_ids]
                if self._settled(parts, now_t, open_spans, horizon):
                    taken.extend(parts)
        for fragment in taken:
            del self._fragments[fragment.track_id]
        return taken

    def waiting(self) -> list[Track]:
        """The closed fragments not yet final (they stay in the pool)."""
        return list(self._fragments.values())

    def take_all(self) -> list[Track]:
        """Everything, final or not (the session is stopping)."""
        taken = list(self._fragments.values())
        self._fragments.clear()
        return taken

    def _settled(self, parts: list[Track], now_t: float, open_spans: list[tuple[float, float]], horizon: float) -> bool:
        overlap = self.settings.max_overlap_s
        if now_t - max(p.end for p in parts) <= horizon:
            return False  # a fragment starting now could still continue one of them
        return not any(_could_link(parts, start, last, horizon, overlap) for start, last in open_spans)

    def _groups(self, horizon: float) -> list[list[Track]]:
        """Fragments in connected groups of possible links (union-find over joinable pairs)."""
        ordered = sorted(self._fragments.values(), key=lambda f: (f.start, f.track_id))
        parent = list(range(len(ordered)))

        def root(i: int) -> int:
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        for i, a in enumerate(ordered):
            for j, b in enumerate(ordered):
                # the stitcher's own test: a pair it joins when they are alone is a candidate link
                # (or merges: b starts while a is alive, the two following one person)
                if a.start <= b.start <= a.end + horizon and i != j and len(stitch([a, b], self.settings)) == 1:
                    parent[root(j)] = root(i)
        groups: dict[int, list[Track]] = {}
        for i, fragment in enumerate(ordered):
            groups.setdefault(root(i), []).append(fragment)
        return list(groups.values())


def _could_link(parts: list[Track], open_start: float, open_last: float, gap: float, overlap: float = 0.0) -> bool:
    """Whether an open fragment could still become a successor or predecessor of one of ``parts``,
    or be merged with one it overlaps briefly (it is still alive, so the overlap runs to the part's end)."""
    for part in parts:
        if open_start <= part.end and part.end - max(part.start, open_start) <= overlap:
            return True  # alive while this part was: it may be the same person under a second id
        if part.end < open_start <= part.end + gap:
            return True  # it might continue this part
        if open_last < part.start:
            return True  # it might still end just before this part starts
    return False
