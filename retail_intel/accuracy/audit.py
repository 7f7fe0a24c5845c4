"""Auditing counts on a user's own footage: hand counts (or ground truth) per time slice versus ours.

A person is counted in the time slice in which their event happens:

* ``people``: when the person is first seen;
* ``entered`` / ``passed``: when their foot point first enters the ROI;
* ``line_in`` / ``line_out``: when the crossing completes (the foot point is
  seen beyond the line's band on the far side for the second time).

From per-slice pairs (truth, ours) the audit reports the count accuracy, the
bias (relative over- or under-count) with a bootstrap confidence interval over
slices, and the per-slice mean absolute error.
"""

from __future__ import annotations

import csv
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from retail_intel.accuracy.counts import MEASURES, count_accuracy
from retail_intel.errors import InputError
from retail_intel.movements.classify import CountingRules, classify, line_crossings
from retail_intel.movements.geometry import CountingLine
from retail_intel.movements.tracks import Track

# Column names accepted in a hand-count CSV for each measure.
ALIASES = {"in": "line_in", "out": "line_out", "line in": "line_in", "line out": "line_out"}


@dataclass(frozen=True)
class TimeSlice:
    """``[start_s, end_s)`` seconds from the start of the video."""

    start_s: float
    end_s: float

    def __post_init__(self) -> None:
        if not self.end_s > self.start_s:
            raise InputError(f"a time slice needs end > start, got {self.start_s:g}..{self.end_s:g} s")

    def holds(self, t: float) -> bool:
        return self.start_s <= t < self.end_s


@dataclass(frozen=True)
class SliceCounts:
    """One slice: the truth's counts and ours, for the measures the truth has."""

    slice: TimeSlice
    expected: dict[str, int]
    counted: dict[str, int]


@dataclass(frozen=True)
class MeasureAudit:
    """Accuracy of one measure over every slice that has a truth for it."""

    measure: str
    slices: int
    expected: int
    counted: int
    accuracy: float  # 1 - |counted - expected| / expected, over the totals
    bias: float | None  # (counted - expected) / expected; > 0 over-counts
    ci_low: float | None  # bias confidence interval (bootstrap over slices)
    ci_high: float | None
    mean_abs_error: float  # per slice, in people
    slice_accuracy: float  # 1 - sum|slice errors| / expected: errors may not cancel out


def parse_offset(text: str, where: str) -> float:
    """Seconds from ``90``, ``1:30`` or ``0:01:30`` (fractions allowed)."""
    parts = text.strip().split(":")
    try:
        if not 1 <= len(parts) <= 3 or any(p.strip() == "" for p in parts):
            raise ValueError(text)
        values = [float(p) for p in parts]
    except ValueError as exc:
        raise InputError(f"{where}: expected seconds or [H:]MM:SS from the start of the video, got {text!r}") from exc
    seconds = 0.0
    for value in values:
        seconds = seconds * 60 + value
    if not math.isfinite(seconds):  # "nan", "inf", "1e400": no place in the video
        raise InputError(f"{where}: expected seconds or [H:]MM:SS from the start of the video, got {text!r}")
    if seconds < 0 or any(v < 0 for v in values):
        raise InputError(f"{where}: times must not be negative, got {text!r}")
    if any(v >= 60 for v in values[1:]):  # "1:90" is a typo, not 2:30
        raise InputError(f"{where}: minutes and seconds after a colon must be under 60, got {text!r}")
    return seconds


def read_hand_counts(path: Path) -> list[tuple[TimeSlice, dict[str, int]]]:
    """Read a CSV with ``start,end`` and one column per counted measure.

    Measures: people, entered, passed, line_in (or ``in``), line_out (or ``out``).
    An empty cell means "not counted in this slice" and leaves the slice out of
    that measure's audit.
    """
    if not path.is_file():
        raise InputError(f"{path}: no such hand-count file (expected a CSV with start,end,<measures>)")
    # utf-8-sig: a spreadsheet saving "CSV UTF-8" starts the file with a byte-order mark, which would
    # otherwise become part of the first column's name (a note in another encoding reads as U+FFFD)
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as handle:
        # by position, not csv.DictReader: a dict keeps one cell of all the columns with a blank header
        records = list(csv.reader(handle))
    raw_header = records[0] if records else []
    header = [h.strip().lower() for h in raw_header]
    if "start" not in header or "end" not in header:
        raise InputError(f"{path}: the header must have start and end columns, got {header}")
    # two columns of one name (or of one measure: "in" and "line_in") would leave one's counts out unseen
    named: dict[str, list[str]] = {}
    for raw_name, name in zip(raw_header, header, strict=True):
        named.setdefault(ALIASES.get(name, name), []).append(raw_name)
    twice = {k: v for k, v in named.items() if len(v) > 1 and k not in ("", "note", "notes")}
    if twice:
        measure, names = next(iter(twice.items()))
        raise InputError(
            f"{path}: columns {', '.join(repr(n) for n in names)} are all {measure!r}; keep one column per measure"
        )
    columns = {h: ALIASES.get(h, h) for h in header if h not in ("", "start", "end", "note", "notes", "clip")}
    unknown = sorted(h for h, m in columns.items() if m not in MEASURES)
    if unknown:
        raise InputError(f"{path}: unknown column(s) {unknown}; expected start, end and any of {list(MEASURES)}")
    rows: list[tuple[TimeSlice, dict[str, int]]] = []
    for number, record in enumerate(records[1:], start=2):
        if not record:  # a blank line
            continue
        where = f"{path}, row {number}"
        _refuse_unnamed_cells(record, header, where)
        row = {name: cell.strip() for name, cell in zip(header, record, strict=False) if name}
        start, end = parse_offset(row.get("start", ""), where), parse_offset(row.get("end", ""), where)
        if end <= start:
            raise InputError(f"{where}: end ({row['end']}) must be after start ({row['start']})")
        counts: dict[str, int] = {}
        for column, measure in columns.items():
            cell = row.get(column, "")
            if cell == "":
                continue
            if not (cell.isascii() and cell.isdigit()):  # '²' is a digit to str.isdigit, not to int()
                raise InputError(f"{where}, column {column}: expected a whole number of people, got {cell!r}")
            counts[measure] = int(cell)
        rows.append((TimeSlice(start, end), counts))
    if not rows:
        raise InputError(f"{path}: no rows; fill in one row per time slice")
    if not any(counts for _, counts in rows):
        # the template as audit sample wrote it: a whole run would compare nothing
        raise InputError(
            f"{path}: no count filled in ({len(rows)} rows, every count cell empty); "
            "count the clips and fill in their cells first"
        )
    ordered = sorted(rows, key=lambda r: r[0].start_s)
    for (a, _), (b, _) in itertools.pairwise(ordered):
        if b.start_s < a.end_s:
            raise InputError(
                f"{path}: time slices overlap ({a.start_s:g}-{a.end_s:g} s and {b.start_s:g}-{b.end_s:g} s); "
                "a person would be counted twice"
            )
    return ordered


def _refuse_unnamed_cells(record: Sequence[str], header: Sequence[str], where: str) -> None:
    """Refuse a filled cell in a column the header does not name.

    Empty ones pass: a spreadsheet saves "a,b,c," on every line, header included,
    and the trailing comma of a row the header lacks. A filled one is a count typed
    one cell too far or a comma in a note: reading on would lose it unseen.
    """
    for index, cell in enumerate(record):
        if not cell.strip() or (index < len(header) and header[index]):
            continue
        if index >= len(header):
            extra = [c for c in record[len(header) :] if c.strip()]
            raise InputError(
                f"{where}: filled cells past the header's {len(header)} columns ({','.join(header)}): "
                f"{extra}; remove them or name their column in the header"
            )
        raise InputError(
            f"{where}, column {index + 1}: expected an empty cell under a header with no name, "
            f"got {cell.strip()!r}; name the column in the header or remove the cell"
        )


def crossing_times(track: Track, line: CountingLine) -> tuple[list[float], list[float]]:
    """Times at which each in and each out crossing of ``line`` completes.

    Uses :func:`line_crossings` on prefixes of the track, so the times agree
    with the counts by construction: the k-th crossing completes at the first
    sample whose prefix holds k crossings.
    """
    total_in, total_out = line_crossings(track, line)
    if total_in == total_out == 0:
        return [], []

    def prefix(n: int) -> tuple[int, int]:
        part = Track(
            track.track_id,
            track.frames[:n],
            track.t[:n],
            track.x[:n],
            track.y[:n],
            track.height[:n],
            track.confidence[:n],
            track.box_width[:n],
        )
        return line_crossings(part, line)

    def completion(k: int, side: int) -> float:
        lo, hi = 1, len(track)  # smallest n with prefix(n)[side] >= k; prefix(len) has them all
        while lo < hi:
            mid = (lo + hi) // 2
            if prefix(mid)[side] >= k:
                hi = mid
            else:
                lo = mid + 1
        return float(track.t[lo - 1])

    return (
        [completion(k, 0) for k in range(1, total_in + 1)],
        [completion(k, 1) for k in range(1, total_out + 1)],
    )


def event_times(people: Sequence[Track], rules: CountingRules) -> dict[str, list[float]]:
    """When each counted event happened, per measure (see the module docstring)."""
    times: dict[str, list[float]] = {m: [] for m in MEASURES}
    for person in people:
        times["people"].append(person.start)
        verdict = classify(person, rules)
        if verdict.action in ("entered", "passed") and verdict.enter_t is not None:
            times[verdict.action].append(verdict.enter_t)
        if rules.line is not None:
            ins, outs = crossing_times(person, rules.line)
            times["line_in"].extend(ins)
            times["line_out"].extend(outs)
    return times


def counts_per_slice(times: Mapping[str, Sequence[float]], slices: Sequence[TimeSlice]) -> list[dict[str, int]]:
    """How many events of each measure fall in each slice."""
    return [{m: sum(1 for t in ts if s.holds(t)) for m, ts in times.items()} for s in slices]


def even_slices(duration_s: float, slice_s: float) -> list[TimeSlice]:
    """Back-to-back slices of ``slice_s`` covering ``[0, duration_s]`` (the last one may be shorter)."""
    if slice_s <= 0:
        raise InputError(f"slice length must be positive, got {slice_s:g} s")
    n = max(1, math.ceil(duration_s / slice_s - 1e-9))
    # the last slice reaches just past the end so the final frame's events count
    return [TimeSlice(i * slice_s, min((i + 1) * slice_s, duration_s + 1e-6)) for i in range(n)]


def _bootstrap_bias(
    expected: np.ndarray, counted: np.ndarray, level: float, resamples: int, seed: int
) -> tuple[float | None, float | None]:
    n = len(expected)
    if n < 2:
        return None, None
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, n, size=(resamples, n))
    e, c = expected[picks].sum(axis=1), counted[picks].sum(axis=1)
    ok = e > 0
    if not ok.any():
        return None, None
    bias = (c[ok] - e[ok]) / e[ok]
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(bias, [tail, 100 - tail])
    return float(low), float(high)


def audit_measures(
    pairs: Sequence[SliceCounts], *, level: float = 0.95, resamples: int = 2000, seed: int = 0
) -> list[MeasureAudit]:
    """Accuracy, bias and its confidence interval for each measure the truth has."""
    if not 0 < level < 1:
        raise InputError(f"confidence level must be between 0 and 1, got {level:g}")
    out = []
    for measure in MEASURES:
        rows = [(p.expected[measure], p.counted.get(measure, 0)) for p in pairs if measure in p.expected]
        if not rows:
            continue
        expected = np.asarray([r[0] for r in rows], dtype=np.int64)
        counted = np.asarray([r[1] for r in rows], dtype=np.int64)
        e_total, c_total = int(expected.sum()), int(counted.sum())
        low, high = _bootstrap_bias(expected, counted, level, resamples, seed)
        abs_err = np.abs(counted - expected)
        out.append(
            MeasureAudit(
                measure=measure,
                slices=len(rows),
                expected=e_total,
                counted=c_total,
                accuracy=count_accuracy(e_total, c_total),
                bias=(c_total - e_total) / e_total if e_total else None,
                ci_low=low,
                ci_high=high,
                mean_abs_error=float(abs_err.mean()),
                slice_accuracy=1.0 - float(abs_err.sum()) / e_total if e_total else float(abs_err.sum() == 0),
            )
        )
    return out
