"""Dwell accuracy per person: how long we say each true visitor stayed, against how long they did.

Count accuracy says whether the right number of people entered; it does not say
whether a standing person's stay was cut in two or short by the time they were
hidden. Here every true visitor (``entered`` under the camera's rules) is
matched to one predicted person and their dwell times are compared:

* with ground-truth tracks (MOTChallenge ``gt.txt``), a true person's match is
  the predicted person whose boxes overlap theirs (IoU >= 0.5) in the most
  frames (:func:`match_by_boxes`);
* with a hand-counted list of visits (enter and exit time per person, no
  boxes), the match is the predicted visitor whose time inside the ROI
  overlaps the visit most (:func:`match_by_time`).

A true visitor nobody matches has a predicted dwell of 0 (error 100%).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from retail_intel.accuracy.metrics import iou_matrix
from retail_intel.errors import InputError
from retail_intel.movements.classify import CountingRules, Verdict, classify
from retail_intel.movements.tracks import Track

MATCH_IOU = 0.5


@dataclass(frozen=True)
class Visit:
    """One true visitor: who, and from when to when (seconds from the start) their feet were in the ROI."""

    person: str
    enter_s: float
    exit_s: float

    @property
    def dwell(self) -> float:
        return self.exit_s - self.enter_s


@dataclass(frozen=True)
class DwellError:
    person: str
    true_dwell: float
    counted_dwell: float

    @property
    def relative_error(self) -> float:
        """``|counted - true| / true`` (1.0 for somebody missed)."""
        return abs(self.counted_dwell - self.true_dwell) / self.true_dwell if self.true_dwell > 0 else 0.0


@dataclass(frozen=True)
class DwellSummary:
    """Per-person dwell errors of one clip and the figures a report shows."""

    errors: list[DwellError]

    @property
    def median_error(self) -> float | None:
        return float(np.median([e.relative_error for e in self.errors])) if self.errors else None

    @property
    def total_true(self) -> float:
        return sum(e.true_dwell for e in self.errors)

    @property
    def total_counted(self) -> float:
        return sum(e.counted_dwell for e in self.errors)

    @property
    def total_error(self) -> float | None:
        """Relative error of the summed dwell of all true visitors (errors of opposite sign cancel)."""
        return (self.total_counted - self.total_true) / self.total_true if self.total_true > 0 else None


def visits_from_tracks(truth: Sequence[Track], rules: CountingRules) -> list[tuple[Track, Verdict]]:
    """The true people who entered under ``rules``, with their verdicts."""
    judged = [(t, classify(t, rules)) for t in truth]
    return [(t, v) for t, v in judged if v.action == "entered"]


def _boxes(track: Track) -> dict[int, np.ndarray]:
    half = track.box_width / 2
    xyxy = np.stack([track.x - half, track.y - track.height, track.x + half, track.box_bottom], axis=1)
    return {int(f): xyxy[i] for i, f in enumerate(track.frames)}


def match_by_boxes(person: Track, predicted: Sequence[Track]) -> int | None:
    """Index of the predicted track whose boxes overlap ``person``'s (IoU >= 0.5) in the most frames."""
    theirs = _boxes(person)
    votes = np.zeros(len(predicted), dtype=np.int64)
    for k, candidate in enumerate(predicted):
        ours = _boxes(candidate)
        shared = sorted(set(theirs) & set(ours))
        if not shared:
            continue
        a = np.stack([theirs[f] for f in shared])
        b = np.stack([ours[f] for f in shared])
        overlap = np.diag(iou_matrix(a, b))
        votes[k] = int((overlap >= MATCH_IOU).sum())
    if not len(votes) or votes.max() == 0:
        return None
    return int(votes.argmax())


def dwell_errors_from_tracks(truth: Sequence[Track], predicted: Sequence[Track], rules: CountingRules) -> DwellSummary:
    """Dwell of every true visitor (from ground-truth tracks) against their best-matching predicted person."""
    errors = []
    for person, verdict in visits_from_tracks(truth, rules):
        match = match_by_boxes(person, predicted)
        counted = classify(predicted[match], rules).dwell if match is not None else 0.0
        errors.append(DwellError(str(person.track_id), verdict.dwell, counted))
    return DwellSummary(errors)


def match_by_time(visit: Visit, predicted: Sequence[Verdict]) -> int | None:
    """Index of the predicted visitor whose time inside the ROI overlaps ``visit`` the most."""
    best, best_overlap = None, 0.0
    for k, v in enumerate(predicted):
        if v.enter_t is None or v.exit_t is None:
            continue
        overlap = min(v.exit_t, visit.exit_s) - max(v.enter_t, visit.enter_s)
        if overlap > best_overlap:
            best, best_overlap = k, overlap
    return best


def dwell_errors_from_visits(visits: Sequence[Visit], predicted: Sequence[Track], rules: CountingRules) -> DwellSummary:
    """Dwell of every hand-counted visit against the predicted visitor overlapping it most in time."""
    verdicts = [classify(p, rules) for p in predicted]
    inside = [v for v in verdicts if v.action is not None]
    errors = []
    for visit in visits:
        match = match_by_time(visit, inside)
        errors.append(DwellError(visit.person, visit.dwell, inside[match].dwell if match is not None else 0.0))
    return DwellSummary(errors)


def read_visits(path: Path) -> list[Visit]:
    """A hand-counted truth file: CSV ``person,enter_s,exit_s`` (``#`` lines are comments)."""
    with open(path, newline="", encoding="utf-8") as handle:
        rows = [line for line in handle if line.strip() and not line.lstrip().startswith("#")]
    visits = []
    for number, row in enumerate(csv.DictReader(rows), start=2):
        try:
            visit = Visit(row["person"], float(row["enter_s"]), float(row["exit_s"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(
                f"{path}: row {number}: expected person,enter_s,exit_s with times in seconds, got {row}"
            ) from exc
        if visit.exit_s < visit.enter_s:
            raise InputError(f"{path}: row {number}: exit_s {visit.exit_s:g} is before enter_s {visit.enter_s:g}")
        visits.append(visit)
    return visits
