"""Per-person dwell error: true visitors matched to predicted people by boxes or by time."""

from __future__ import annotations

from pathlib import Path

import pytest

from retail_intel.accuracy.dwell import (
    DwellError,
    DwellSummary,
    Visit,
    dwell_errors_from_tracks,
    dwell_errors_from_visits,
    read_visits,
)
from retail_intel.errors import InputError
from retail_intel.movements.classify import CountingRules
from retail_intel.movements.geometry import parse_rect
from retail_intel.movements.tracks import Track

from .fakes import segment

RULES = CountingRules(parse_rect("100,100,500,400"), 2.0)


def standing(track_id: int, t0: float, t1: float, x: float = 300) -> Track:
    return segment(track_id, t0, t1, (x, 250), (x, 250))


def test_a_person_split_in_two_has_the_longer_part_matched_and_a_short_dwell() -> None:
    truth = [standing(1, 0.0, 20.0)]
    # the tracker lost them at 8 s and found them again at 9 s: two predicted people
    predicted = [standing(10, 0.0, 8.0), standing(11, 9.0, 20.0)]
    summary = dwell_errors_from_tracks(truth, predicted, RULES)
    (error,) = summary.errors
    assert (error.true_dwell, error.counted_dwell) == pytest.approx((20.0, 11.0))
    assert error.relative_error == pytest.approx(0.45)
    joined = dwell_errors_from_tracks(truth, [Track.join(predicted)], RULES)
    assert joined.median_error == pytest.approx(0.0)


def test_somebody_nobody_matched_counts_as_a_full_error() -> None:
    truth = [standing(1, 0.0, 10.0), standing(2, 0.0, 10.0, x=450)]
    summary = dwell_errors_from_tracks(truth, [standing(10, 0.0, 10.0)], RULES)
    assert sorted(e.relative_error for e in summary.errors) == pytest.approx([0.0, 1.0])
    assert summary.total_error == pytest.approx(-0.5)


def test_only_true_visitors_are_scored() -> None:
    passer = segment(1, 0.0, 1.0, (100, 250), (500, 250))  # inside for 1 s < min_dwell
    summary = dwell_errors_from_tracks([passer], [passer], RULES)
    assert summary.errors == [] and summary.median_error is None and summary.total_error is None


def test_hand_counted_visits_match_the_predicted_visitor_overlapping_most() -> None:
    visits = [Visit("a", 0.0, 10.0), Visit("b", 20.0, 40.0)]
    predicted = [standing(1, 0.0, 9.0), standing(2, 22.0, 30.0), standing(3, 31.0, 40.0)]
    summary = dwell_errors_from_visits(visits, predicted, RULES)
    assert [(e.person, e.counted_dwell) for e in summary.errors] == [("a", 9.0), ("b", 9.0)]
    assert summary.median_error == pytest.approx((0.1 + 0.55) / 2)
    assert summary.total_counted == pytest.approx(18.0) and summary.total_true == pytest.approx(30.0)


def test_the_median_is_over_people() -> None:
    errors = [DwellError("a", 10, 10), DwellError("b", 10, 9), DwellError("c", 10, 0)]
    assert DwellSummary(errors).median_error == pytest.approx(0.1)


def test_read_visits_skips_comments_and_names_the_bad_row(tmp_path: Path) -> None:
    good = tmp_path / "visits.csv"
    good.write_text("# counted by hand\nperson,enter_s,exit_s\np1,7.0,19.4\np2,23.7,44.3\n")
    assert read_visits(good) == [Visit("p1", 7.0, 19.4), Visit("p2", 23.7, 44.3)]
    bad = tmp_path / "bad.csv"
    bad.write_text("person,enter_s,exit_s\np1,7.0,soon\n")
    with pytest.raises(InputError, match=r"bad.csv: row 2: expected person,enter_s,exit_s"):
        read_visits(bad)
    backwards = tmp_path / "backwards.csv"
    backwards.write_text("person,enter_s,exit_s\np1,9,7\n")
    with pytest.raises(InputError, match="exit_s 7 is before enter_s 9"):
        read_visits(backwards)


def test_the_repository_truth_file_reads(tmp_path: Path) -> None:
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "truth" / "intel-one-by-one-visits.csv"
    visits = read_visits(path)
    assert len(visits) == 6 and all(10 <= v.dwell <= 30 for v in visits)
