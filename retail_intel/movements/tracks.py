"""Trajectories: the typed object that flows from tracking into judging.

A :class:`Track` is one tracker id's observed foot points over time; after
stitching, one Track stands for one person and may join several tracker ids.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from retail_intel.movements.schema import TRACK_SCHEMA

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class ShareTally:
    """A per-sample share summed over a track's samples: joins of fragments add up exactly."""

    total: float
    n: int

    @property
    def mean(self) -> float:
        return self.total / self.n

    def __add__(self, other: ShareTally) -> ShareTally:
        return ShareTally(self.total + other.total, self.n + other.n)


def add_share(tallies: dict[int, ShareTally], key: int, share: float) -> None:
    """Add one sample's share to ``key``'s tally; NaN (a crop too small to measure) adds nothing."""
    if not math.isnan(share):
        tallies[key] = tallies.get(key, ShareTally(0.0, 0)) + ShareTally(share, 1)


@dataclass(frozen=True)
class Track:
    """Samples of one person (or fragment), sorted by time.

    ``t`` is seconds from the start of the video; ``x``, ``y`` the foot point
    (bottom-centre of the box) in pixels; ``height`` the box height in pixels.
    """

    track_id: int
    frames: IntArray
    t: FloatArray
    x: FloatArray
    y: FloatArray
    height: FloatArray
    confidence: FloatArray
    width: FloatArray | None = None  # box width; None when unknown (hand-written tracks)
    fragment_ids: tuple[int, ...] = field(default=())
    # mean appearance descriptor of the samples (colour histograms of the box's
    # upper and lower halves, see retail_intel.vision.appearance); None when the
    # video side did not compute one. Stitching uses it to tell people apart.
    appearance: FloatArray | None = None
    # the share of the upper body inside the branch's uniform colour, summed over the samples
    # where the video side measured it (retail_intel.vision.appearance.upper_body_uniform_shares);
    # None when it did not (no uniform configured). The staff rule reads its mean.
    uniform: ShareTally | None = None
    # the height of the box the detector gave, where it differs from ``height``: a person whose feet
    # were hidden behind someone nearer has ``height`` and ``y`` estimated from the box's top
    # (retail_intel.movements.hidden_feet); None: every sample's box is ``y - height .. y``
    visible_height: FloatArray | None = None

    def __post_init__(self) -> None:
        n = len(self.t)
        for name in ("frames", "x", "y", "height", "confidence"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"track {self.track_id}: {name} has {len(getattr(self, name))} samples, t has {n}")
        if n == 0:
            raise ValueError(f"track {self.track_id}: a track needs at least one sample")
        if n > 1 and np.any(np.diff(self.t) < 0):
            raise ValueError(f"track {self.track_id}: samples must be sorted by time")
        if self.visible_height is not None and len(self.visible_height) != n:
            raise ValueError(f"track {self.track_id}: visible_height has {len(self.visible_height)} samples, t has {n}")
        if self.width is None:
            # a standing person's box is about 0.4 times as wide as it is tall
            object.__setattr__(self, "width", self.height * 0.4)
        if not self.fragment_ids:
            object.__setattr__(self, "fragment_ids", (self.track_id,))

    @classmethod
    def from_samples(
        cls,
        track_id: int,
        samples: Sequence[tuple[float, float, float]] | Sequence[tuple[float, float, float, float, float]],
        fps: float = 10.0,
    ) -> Track:
        """From ``[(t, x, y), ...]`` or ``[(t, x, y, height, conf), ...]``: for hand-written tests."""
        rows = [tuple(s) + (100.0, 0.9)[len(s) - 3 :] for s in samples]
        arr = np.asarray(rows, dtype=np.float64)
        return cls(
            track_id=track_id,
            frames=np.round(arr[:, 0] * fps).astype(np.int64),
            t=arr[:, 0],
            x=arr[:, 1],
            y=arr[:, 2],
            height=arr[:, 3],
            confidence=arr[:, 4],
        )

    def __len__(self) -> int:
        return len(self.t)

    @property
    def box_width(self) -> FloatArray:
        assert self.width is not None  # set in __post_init__
        return self.width

    @property
    def visible_box_height(self) -> FloatArray:
        """The height of each sample's box as the detector gave it."""
        return self.height if self.visible_height is None else self.visible_height

    @property
    def box_bottom(self) -> FloatArray:
        """The bottom edge of each sample's box as the detector gave it (``y`` unless the feet were hidden)."""
        return self.y if self.visible_height is None else self.y - self.height + self.visible_height

    def as_detected(self) -> Track:
        """The same samples with the boxes the detector gave (feet placed below hidden boxes undone)."""
        if self.visible_height is None:
            return self
        return replace(self, y=self.box_bottom, height=self.visible_height, visible_height=None)

    def with_feet(self, y: FloatArray, height: FloatArray, visible_height: FloatArray) -> Track:
        """The same samples with estimated foot points and heights; the detector's heights kept."""
        return replace(self, y=y, height=height, visible_height=visible_height)

    @property
    def uniform_share(self) -> float | None:
        """Mean share of the upper body in the uniform colour over the measured samples; None: not measured."""
        return None if self.uniform is None or self.uniform.n == 0 else self.uniform.mean

    @property
    def start(self) -> float:
        return float(self.t[0])

    @property
    def end(self) -> float:
        return float(self.t[-1])

    @property
    def duration(self) -> float:
        return self.end - self.start

    def detected_time(self, interval_s: float) -> float:
        """Seconds the person was actually seen, when the detector ran at most ``interval_s`` apart.

        Each detected sample (confidence > 0; interpolated samples have 0) stands for the time to
        the next detected one, at most ``interval_s``: the run's step between detector calls (one
        frame, times the stride). A few stray detections the tracker chained over a longer span so
        count for a few steps, not for the span.
        """
        seen = self.t[self.confidence > 0]
        if not len(seen):
            return 0.0
        return float(np.minimum(np.diff(seen), interval_s).sum() + interval_s)

    def detected_time_by_frames(self, stride: int, interval_s: float) -> float:
        """:meth:`detected_time` where frames are unevenly spaced (a video timed by its timestamps).

        One step between detector calls is ``stride`` frames, and a frame lasts what it lasts
        there: each detected sample stands for the time to the next detected one, at most
        ``stride`` of the frames between them (at their mean interval: the time over the frame
        count), and the last one for ``stride`` frames of the last interval (``interval_s`` when
        there is only one). Evenly spaced, this is :meth:`detected_time` with ``stride`` frames.
        """
        seen = self.confidence > 0
        t, frames = self.t[seen], self.frames[seen]
        if not len(t):
            return 0.0
        gaps = np.diff(t)
        frame_s = gaps / np.maximum(np.diff(frames), 1)
        credit = np.minimum(np.diff(frames), stride) * frame_s
        # A batch cut: a person carried from the previous file has frames below 0 and this file's
        # from 0, but the time between the files is no frame of either; such a pair counts as
        # :meth:`detected_time` counts it, as does a last detection right after it.
        cut = (frames[:-1] < 0) & (frames[1:] >= 0)
        credit[cut] = np.minimum(gaps[cut], interval_s)
        last = stride * float(frame_s[-1]) if len(frame_s) and not cut[-1] else interval_s
        return float(credit.sum() + last)

    def _window(self, window_s: float, at_end: bool) -> npt.NDArray[np.int64]:
        mask = self.t >= self.end - window_s if at_end else self.t <= self.start + window_s
        idx = np.flatnonzero(mask)
        if len(idx) < 2:
            idx = np.array([len(self) - 2, len(self) - 1]) if at_end else np.array([0, 1])
        return idx

    def velocity(self, window_s: float = 1.0, at_end: bool = True) -> tuple[float, float]:
        """Mean foot-point velocity (px/s) over the last (or first) ``window_s`` seconds.

        The difference of the window's two ends: where someone was heading as they were lost
        (a late turn or a first step counts in full), which is what carrying them on needs.
        """
        if len(self) < 2:
            return 0.0, 0.0
        idx = self._window(window_s, at_end)
        dt = self.t[idx[-1]] - self.t[idx[0]]
        if dt <= 0:
            return 0.0, 0.0
        return float((self.x[idx[-1]] - self.x[idx[0]]) / dt), float((self.y[idx[-1]] - self.y[idx[0]]) / dt)

    def steady_velocity(self, window_s: float = 1.0, at_end: bool = True) -> tuple[float, float]:
        """Foot-point velocity (px/s) over the last (or first) ``window_s`` seconds, blind to odd boxes.

        The median of the slopes between every two *detected* samples of the window (Theil-Sen):
        a fragment often ends on a jolted box, as an occluder cuts its bottom off, often after a
        few missed frames that gap filling bridges with a straight ramp to it. The end points (and
        a least-squares fit) carry such a jolt in full, and a standing person would look as if
        walking. Falls back to :meth:`velocity` with fewer than two detected samples.
        """
        if len(self) < 2:
            return 0.0, 0.0
        idx = self._window(window_s, at_end)
        idx = idx[self.confidence[idx] > 0]
        if len(idx) < 2:
            return self.velocity(window_s, at_end)
        t, x, y = self.t[idx], self.x[idx], self.y[idx]
        i, j = np.triu_indices(len(idx), k=1)
        keep = t[j] > t[i]
        if not keep.any():
            return 0.0, 0.0
        i, j = i[keep], j[keep]
        dt = t[j] - t[i]
        return float(np.median((x[j] - x[i]) / dt)), float(np.median((y[j] - y[i]) / dt))

    @staticmethod
    def join(parts: Iterable[Track]) -> Track:
        """One track from fragments of the same person; keeps the first fragment's id."""
        ordered = sorted(parts, key=lambda p: p.start)
        if len(ordered) == 1:
            return ordered[0]
        cat = np.concatenate
        looks = [(p.appearance, len(p)) for p in ordered if p.appearance is not None]
        appearance = None
        if looks:
            # a mean over all samples: each fragment weighs as many samples as it has
            weights = np.asarray([n for _, n in looks], dtype=np.float64)
            appearance = np.asarray(np.average(np.stack([v for v, _ in looks]), axis=0, weights=weights))
        tallies = [p.uniform for p in ordered if p.uniform is not None]
        t = cat([p.t for p in ordered])
        order = np.argsort(t, kind="stable")
        return Track(
            track_id=ordered[0].track_id,
            frames=cat([p.frames for p in ordered])[order],
            t=t[order],
            x=cat([p.x for p in ordered])[order],
            y=cat([p.y for p in ordered])[order],
            height=cat([p.height for p in ordered])[order],
            confidence=cat([p.confidence for p in ordered])[order],
            width=cat([p.box_width for p in ordered])[order],
            visible_height=(
                cat([p.visible_box_height for p in ordered])[order]
                if any(p.visible_height is not None for p in ordered)
                else None
            ),
            fragment_ids=tuple(i for p in ordered for i in p.fragment_ids),
            appearance=appearance,
            # the person's share is the mean over every measured sample of every fragment
            uniform=sum(tallies[1:], tallies[0]) if tallies else None,
        )

    def take(self, keep: npt.NDArray[np.bool_]) -> Track:
        """The samples where ``keep`` is true (at least one), same id, fragments and appearance."""
        return Track(
            track_id=self.track_id,
            frames=self.frames[keep],
            t=self.t[keep],
            x=self.x[keep],
            y=self.y[keep],
            height=self.height[keep],
            confidence=self.confidence[keep],
            width=self.box_width[keep],
            fragment_ids=self.fragment_ids,
            appearance=self.appearance,
            uniform=self.uniform,
            visible_height=None if self.visible_height is None else self.visible_height[keep],
        )


class TrackedBoxes(Protocol):
    """What a tracker hands on per frame (``vision.detections.Detections`` after tracking is one)."""

    @property
    def xyxy(self) -> npt.NDArray[np.float32]: ...
    @property
    def confidence(self) -> npt.NDArray[np.float32]: ...
    @property
    def tracker_id(self) -> npt.NDArray[np.int64] | None: ...


# the stored table's box columns (the appearance columns follow them)
_BOX_FIELDS = ("frame", "t", "track_id", "x1", "y1", "x2", "y2", "confidence")


class TrackAccumulator:
    """Collects per-frame tracker output into :class:`Track` objects, and to and from its stored table.

    The stored table (:data:`~retail_intel.movements.schema.TRACK_SCHEMA`) keeps the
    tracker's float32 boxes as they came, so tracks read back from it are the
    same, sample for sample, as the tracks of the run that wrote it.
    """

    def __init__(self) -> None:
        self._rows: dict[int, list[tuple[int, float, float, float, float, float, float]]] = {}
        self._boxes: list[tuple[int, float, int, float, float, float, float, float]] = []
        # per track id: running sum and count of appearance descriptors (a mean, not every vector)
        self._looks: dict[int, tuple[FloatArray, int]] = {}
        # per track id: the uniform-colour shares, summed (NaN, an unusable crop, is left out)
        self._uniform: dict[int, ShareTally] = {}

    def add(
        self,
        frame: int,
        t: float,
        boxes: TrackedBoxes,
        appearance: npt.NDArray[np.float32] | None = None,
        uniform: npt.NDArray[np.float32] | None = None,
    ) -> None:
        """One frame's tracked boxes; ``appearance`` and ``uniform`` (optional): one descriptor row, one share per box."""
        if boxes.tracker_id is None:
            raise ValueError("the accumulator takes tracked boxes (tracker_id set)")
        ids = boxes.tracker_id.tolist()
        for tid, box, conf in zip(ids, boxes.xyxy.tolist(), boxes.confidence.tolist(), strict=True):
            x1, y1, x2, y2 = box
            self._append(frame, t, tid, x1, y1, x2, y2, conf)
        if appearance is not None:
            for tid, look in zip(ids, appearance, strict=True):
                total, n = self._looks.get(int(tid), (np.zeros(len(look)), 0))
                self._looks[int(tid)] = (total + look, n + 1)
        if uniform is not None:
            for tid, share in zip(ids, uniform.tolist(), strict=True):
                add_share(self._uniform, int(tid), share)

    def _append(self, frame: int, t: float, tid: int, x1: float, y1: float, x2: float, y2: float, conf: float) -> None:
        # foot point (bottom centre), box height and width, as judging reads them
        self._rows.setdefault(int(tid), []).append((frame, t, (x1 + x2) / 2.0, y2, y2 - y1, float(conf), x2 - x1))
        self._boxes.append((frame, t, int(tid), x1, y1, x2, y2, float(conf)))

    def retime(self, times: FloatArray) -> None:
        """Every sample of frame ``i`` moved to time ``times[i]`` (a video timed by its frames' timestamps)."""
        if not self._boxes:
            return
        last = max(row[0] for row in self._boxes)
        if last >= len(times):
            raise ValueError(f"times cover {len(times)} frames, but a sample is of frame {last}")
        at = times.tolist()
        self._rows = {tid: [(f, at[f], *rest) for f, _, *rest in rows] for tid, rows in self._rows.items()}
        self._boxes = [(f, at[f], *rest) for f, _, *rest in self._boxes]

    def tracks(self) -> list[Track]:
        out = []
        for tid, rows in sorted(self._rows.items()):
            arr = np.asarray(rows, dtype=np.float64)
            out.append(
                Track(
                    track_id=tid,
                    frames=arr[:, 0].astype(np.int64),
                    t=arr[:, 1],
                    x=arr[:, 2],
                    y=arr[:, 3],
                    height=arr[:, 4],
                    confidence=arr[:, 5],
                    width=arr[:, 6],
                    appearance=self._mean_look(tid),
                    uniform=self._uniform.get(tid),
                )
            )
        return out

    def _mean_look(self, tid: int) -> FloatArray | None:
        if tid not in self._looks:
            return None
        total, n = self._looks[tid]
        return np.asarray(total / n, dtype=np.float64)

    def to_table(self) -> pa.Table:
        """Every tracked box, one row each, in the order they were added.

        A track's appearance is kept as the running sum and count of its descriptors, on the
        track's last row (null elsewhere), so tracks read back stitch exactly as they did; its
        uniform-colour shares likewise, so they are judged staff exactly as they were.
        """
        columns: list[list[object]] = [[row[i] for row in self._boxes] for i in range(len(_BOX_FIELDS))]
        last = {int(row[2]): index for index, row in enumerate(self._boxes)}
        sums: list[object] = [None] * len(self._boxes)
        counts: list[object] = [None] * len(self._boxes)
        for tid, (total, n) in self._looks.items():
            sums[last[tid]], counts[last[tid]] = total.tolist(), n
        shares: list[object] = [None] * len(self._boxes)
        measured: list[object] = [None] * len(self._boxes)
        for tid, tally in self._uniform.items():
            shares[last[tid]], measured[last[tid]] = tally.total, tally.n
        columns += [sums, counts, shares, measured]
        arrays = [pa.array(column, type=f.type) for column, f in zip(columns, TRACK_SCHEMA, strict=True)]
        return pa.Table.from_arrays(arrays, schema=TRACK_SCHEMA)

    @classmethod
    def from_table(cls, table: pa.Table) -> TrackAccumulator:
        """The accumulator a run left, from its stored table."""
        acc = cls()
        data = table.select(list(_BOX_FIELDS)).to_pydict()
        # float32 columns read back as the same float32 values the tracker gave
        for row in zip(*data.values(), strict=True):
            acc._append(*row)
        if "appearance_sum" in table.column_names:
            looks = table.select(["track_id", "appearance_sum", "appearance_n"]).to_pydict()
            for tid, total, n in zip(*looks.values(), strict=True):
                if total is not None and n:
                    acc._looks[int(tid)] = (np.asarray(total, dtype=np.float64), int(n))
        if "uniform_sum" in table.column_names:
            tallies = table.select(["track_id", "uniform_sum", "uniform_n"]).to_pydict()
            for tid, share, n in zip(*tallies.values(), strict=True):
                if share is not None and n:
                    acc._uniform[int(tid)] = ShareTally(float(share), int(n))
        return acc
