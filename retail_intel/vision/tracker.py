"""ByteTrack (Ultralytics' implementation) over our :class:`Detections`, or BoT-SORT with appearance.

Driven through its public contract: ``BYTETracker.update`` takes NumPy-backed
``ultralytics.engine.results.Boxes`` and returns ``[x1, y1, x2, y2, track_id,
score, cls, idx]`` rows; its settings start from Ultralytics' own
``bytetrack.yaml`` with ours laid over them. Ultralytics' tracker is the one our
published accuracy was measured with, so it stays (see docs/counting.md).

``method="botsort"`` runs Ultralytics' BOTSORT instead (measured in
docs/accuracy.md, not the default): the same thresholds, no camera-motion
compensation (a fixed camera), and, with ``appearance_similarity`` above 0, our
own colour descriptor per detection (:func:`retail_intel.vision.appearance.box_appearance`)
as its re-identification feature. BOTSORT compares features by cosine; the
descriptor is two histograms each summing to 1, so it is handed over as its
square root (Hellinger): the cosine of two such vectors is then the mean
Bhattacharyya coefficient of the two halves, exactly the stitcher's
``appearance_similarity``, and one similarity threshold means the same in both.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from retail_intel.errors import ConfigError
from retail_intel.vision.detections import Detections, FloatArray, IntArray
from retail_intel.vision.offline import prepare_ultralytics


@dataclass(frozen=True)
class TrackerSettings:
    """ByteTrack thresholds; ``track_buffer_s`` is converted to frames at the real fps."""

    track_high_thresh: float = 0.25
    track_low_thresh: float = 0.1
    new_track_thresh: float = 0.3
    track_buffer_s: float = 3.0
    match_thresh: float = 0.8
    fuse_score: bool = True
    # a lost track moving slower than this (person heights per second) is predicted to stay where
    # it was, not to drift on at its last, occlusion-jittered velocity: a stationary prior for
    # people standing hidden in a group. 0 keeps Ultralytics' constant-velocity prediction.
    lost_still_speed: float = 0.0
    # "botsort": Ultralytics' BoT-SORT (a Kalman filter on width and height instead of aspect
    # ratio, and an appearance term in the first association), camera-motion compensation off
    method: Literal["bytetrack", "botsort"] = "bytetrack"
    # botsort only: a detection whose box overlaps a track's prediction (IoU >= proximity_iou) and
    # whose colours are at least this alike (Bhattacharyya coefficient, 0..1, as the stitcher's
    # min_similarity) gets the appearance cost (1 - similarity) / 2 where that is below the
    # overlap's; 0 = no appearance (BoT-SORT on motion alone)
    appearance_similarity: float = 0.0
    proximity_iou: float = 0.5

    def __post_init__(self) -> None:
        if self.method not in ("bytetrack", "botsort"):
            raise ConfigError(f"tracker method must be 'bytetrack' or 'botsort', got {self.method!r}")
        if not 0.0 <= self.appearance_similarity < 1.0:
            raise ConfigError(f"tracker appearance_similarity must be in [0, 1), got {self.appearance_similarity}")
        if not 0.0 < self.proximity_iou <= 1.0:
            # 0 would let a look-alike anywhere in the picture take over a track
            raise ConfigError(f"tracker proximity_iou must be in (0, 1], got {self.proximity_iou}")
        if self.appearance_similarity and self.method != "botsort":
            raise ConfigError(
                f"tracker appearance_similarity={self.appearance_similarity} needs method='botsort' "
                f"(ByteTrack has no appearance term), got method={self.method!r}"
            )

    @property
    def uses_appearance(self) -> bool:
        """Whether :meth:`PersonTracker.update` needs an appearance descriptor per detection."""
        return self.appearance_similarity > 0


class PersonTracker:
    """Stateful multi-object tracker, Ultralytics' ByteTrack (default) or BoT-SORT (``settings.method``);
    call :meth:`update` once per processed frame."""

    def __init__(self, settings: TrackerSettings, fps: float) -> None:
        prepare_ultralytics()
        from ultralytics.trackers.byte_tracker import BYTETracker
        from ultralytics.utils import YAML, IterableSimpleNamespace
        from ultralytics.utils.checks import check_yaml

        self.uses_appearance = settings.uses_appearance
        # frames a lost track is kept for (ByteTrack's frame rate is left at its 30, which makes it this)
        self.buffer_frames = max(1, round(settings.track_buffer_s * fps))
        config: dict[str, Any] = dict(YAML.load(check_yaml(f"{settings.method}.yaml")))
        config.update(
            tracker_type=settings.method,
            track_high_thresh=settings.track_high_thresh,
            track_low_thresh=settings.track_low_thresh,
            new_track_thresh=settings.new_track_thresh,
            track_buffer=self.buffer_frames,
            match_thresh=settings.match_thresh,
            fuse_score=settings.fuse_score,
        )
        if settings.method == "botsort":
            from ultralytics.trackers.bot_sort import BOTSORT

            if settings.uses_appearance:
                _check_native_features()
            config.update(
                gmc_method="none",  # a fixed camera: nothing to compensate, and it would cost a frame's optical flow
                proximity_thresh=settings.proximity_iou,
                # BOTSORT keeps a pair when cosine distance / 2 <= 1 - appearance_thresh
                appearance_thresh=(1.0 + settings.appearance_similarity) / 2,
                with_reid=settings.uses_appearance,
                model="auto",  # features come with the detections (ours), no network
            )
            self._tracker: BYTETracker = BOTSORT(IterableSimpleNamespace(**config))
        else:
            self._tracker = BYTETracker(IterableSimpleNamespace(**config))
        if settings.lost_still_speed > 0:
            self._tracker.multi_predict = _still_prior(settings.lost_still_speed, fps, self._tracker.multi_predict)

    def coast(self) -> None:
        """Let one frame pass unseen: the clock advances and every track moves on by its Kalman prediction.

        Adaptive stride skips frames; coasting through them keeps ByteTrack's clock in real
        frames, so its lost-track buffer and every velocity stay per frame, as on a detected
        frame (its ``update`` predicts the same tracks once per call before matching).
        """
        tracker = self._tracker
        tracker.frame_id += 1
        confirmed = [track for track in tracker.tracked_stracks if track.is_activated]
        tracker.multi_predict(confirmed + tracker.lost_stracks)  # disjoint lists, as update pools them

    def drop_stale(self) -> None:
        """Remove every track not matched for longer than the buffer, as ByteTrack's updates would have.

        :meth:`coast` moves the clock but removes nothing, and ``update`` matches its lost tracks
        before removing the stale ones: after coasting through more than the buffer (frames a
        recording left out), a person lost just before would be found again however long ago,
        and one still tracked would be matched to whoever stands where their prediction stopped.
        Updates on empty frames would have marked them lost and removed them by now.
        """
        tracker = self._tracker
        kept: dict[str, list[Any]] = {"tracked_stracks": [], "lost_stracks": []}
        stale: list[Any] = []
        for name, tracks in kept.items():
            for track in getattr(tracker, name):
                (stale if tracker.frame_id - track.end_frame > self.buffer_frames else tracks).append(track)
        if not stale:
            return
        for track in stale:
            track.mark_removed()
        tracker.tracked_stracks = kept["tracked_stracks"]
        tracker.lost_stracks = kept["lost_stracks"]
        tracker.removed_stracks.extend(stale)

    @property
    def tentative(self) -> int:
        """Tracks started on a detection that matched nobody and not yet confirmed (a new or a lost person)."""
        return sum(1 for track in self._tracker.tracked_stracks if not track.is_activated)

    def update(
        self, detections: Detections, frame_shape: tuple[int, int] = (0, 0), features: FloatArray | None = None
    ) -> Detections:
        """The boxes the tracker confirmed in this frame, with their ``tracker_id``."""
        return self.update_indexed(detections, frame_shape, features)[0]

    def update_indexed(
        self, detections: Detections, frame_shape: tuple[int, int] = (0, 0), features: FloatArray | None = None
    ) -> tuple[Detections, IntArray]:
        """:meth:`update`, and for each confirmed box the index of the detection it was matched to.

        ``features``: one appearance descriptor row per detection (``box_appearance``), needed
        when the settings use appearance; the index lets a caller reuse them for the tracked boxes.
        """
        from ultralytics.engine.results import Boxes

        feats = None
        if self.uses_appearance:
            if features is None or len(features) != len(detections):
                got = "none" if features is None else f"{len(features)} rows"
                raise ValueError(f"features: one descriptor per detection needed ({len(detections)}), got {got}")
            # Hellinger: cosine of square roots = mean Bhattacharyya coefficient of the halves (module doc)
            feats = np.sqrt(np.clip(features, 0.0, None)).astype(np.float32)
        data = np.zeros((len(detections), 6), np.float32)  # x1, y1, x2, y2, conf, class (person = 0)
        data[:, :4] = detections.xyxy
        data[:, 4] = detections.confidence
        boxes = Boxes(data, frame_shape)
        # features only when asked for: older Ultralytics trackers take no third argument
        out = self._tracker.update(boxes) if feats is None else self._tracker.update(boxes, None, feats)
        if len(out) == 0:
            return Detections.empty(tracked=True), np.zeros(0, np.int64)
        tracked = Detections(
            out[:, :4].astype(np.float32), out[:, 5].astype(np.float32), tracker_id=out[:, 4].astype(np.int64)
        )
        return tracked, out[:, 7].astype(np.int64)


# Ultralytics releases before these mishandle features passed with the detections through the
# tracker's own API (rows not sliced with the detections they belong to, ultralytics#21509; a
# crash on the second frame, ultralytics#25101); appearance was measured with 8.4.190
NATIVE_FEATURES_SINCE = (8, 4, 190)


def _check_native_features() -> None:
    import ultralytics

    found = ultralytics.__version__
    parts = tuple(int(p) if p.isdigit() else 0 for p in found.split(".")[:3])
    if parts < NATIVE_FEATURES_SINCE:
        need = ".".join(map(str, NATIVE_FEATURES_SINCE))
        raise ConfigError(
            f"tracker appearance_similarity needs ultralytics >= {need} (features passed with the "
            f"detections), found {found}; upgrade it or set appearance_similarity to 0"
        )


def _still_prior(still_speed: float, fps: float, predict: Callable[[list[Any]], None]) -> Any:
    """The tracker's ``multi_predict`` that stops slow lost tracks before predicting (see ``lost_still_speed``).

    Both trackers' Kalman states hold the height at 3 and the x, y velocities at 4 and 5 (ByteTrack:
    x, y, aspect, height; BoT-SORT: x, y, width, height), so one test serves both.
    """
    from ultralytics.trackers.basetrack import TrackState

    def multi_predict(tracks: list[Any]) -> None:
        for track in tracks:
            mean = track.mean
            if track.state == TrackState.Tracked or mean is None or mean[3] <= 0:
                continue
            # Kalman state: x, y, aspect (or width), height, then their velocities per frame
            if float(np.hypot(mean[4], mean[5])) * fps / float(mean[3]) < still_speed:
                track.mean = mean.copy()
                track.mean[4:6] = 0.0
        predict(tracks)

    return multi_predict
