"""Count accuracy: what our rules count on predicted tracks versus on ground-truth tracks.

The expected counts are not hand-made: the same classification rules
(:func:`~retail_intel.movements.classify.classify`) run over the ground-truth
tracks, so a difference is the tracker's fault, never the rules'.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from retail_intel.movements.classify import CountingRules, classify
from retail_intel.movements.tracks import Track

# What a camera counts, in the order reports show them.
MEASURES = ("people", "entered", "passed", "line_in", "line_out")


def count_accuracy(expected: int, counted: int) -> float:
    """``1 - |counted - expected| / expected``; with nothing expected, 1 if nothing was counted else 0.

    May be negative when the count is more than double the truth.
    """
    if expected == 0:
        return 1.0 if counted == 0 else 0.0
    return 1.0 - abs(counted - expected) / expected


@dataclass(frozen=True)
class CountComparison:
    """One measure under one set of rules: the ground truth's count against ours."""

    rules: str
    measure: str
    expected: int
    counted: int

    @property
    def error(self) -> int:
        return self.counted - self.expected

    @property
    def accuracy(self) -> float:
        return count_accuracy(self.expected, self.counted)

    @property
    def relative_error(self) -> float | None:
        return self.error / self.expected if self.expected else None


def count_events(people: Sequence[Track], rules: CountingRules) -> dict[str, int]:
    """How many people each measure counts: entered/passed by the ROI, crossings by the line."""
    verdicts = [classify(p, rules) for p in people]
    counts = {
        "entered": sum(v.action == "entered" for v in verdicts),
        "passed": sum(v.action == "passed" for v in verdicts),
    }
    if rules.line is not None:
        counts["line_in"] = sum(v.line_in for v in verdicts)
        counts["line_out"] = sum(v.line_out for v in verdicts)
    return counts


def compare_counts(
    predicted: Sequence[Track], truth: Sequence[Track], rule_sets: Mapping[str, CountingRules]
) -> list[CountComparison]:
    """``people`` once, then every measure of every named rule set."""
    rows = [CountComparison("all", "people", len(truth), len(predicted))]
    for name, rules in rule_sets.items():
        ours, theirs = count_events(predicted, rules), count_events(truth, rules)
        rows.extend(CountComparison(name, m, theirs[m], ours[m]) for m in MEASURES if m in theirs)
    return rows
