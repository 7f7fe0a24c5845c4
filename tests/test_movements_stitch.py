"""Stitching fragments and judging whole videos, on hand-written tracks."""

import datetime as dt

import pyarrow as pa
import pytest

from retail_intel.movements.classify import CountingRules
from retail_intel.movements.events import SourceInfo, customer_id, judge, movements_table
from retail_intel.movements.geometry import parse_rect
from retail_intel.movements.schema import MOVEMENT_SCHEMA
from retail_intel.movements.stitch import stitch
from retail_intel.movements.tracks import Track

from .fakes import segment

ROI = parse_rect("100,100,300,300")


def test_occluded_person_is_joined_into_one() -> None:
    # walks right at 40 px/s, hidden for 1.5 s, reappears where expected under a new id
    before = segment(1, 0.0, 3.0, (0, 200), (120, 200))
    after = segment(7, 4.5, 8.0, (180, 200), (320, 200))
    people = stitch([after, before])
    assert len(people) == 1
    assert people[0].track_id == 1
    assert people[0].fragment_ids == (1, 7)
    assert people[0].start == 0.0 and people[0].end == 8.0


def test_far_away_fragment_is_another_person() -> None:
    before = segment(1, 0.0, 3.0, (0, 200), (120, 200))
    elsewhere = segment(2, 3.5, 6.0, (600, 50), (650, 50))
    assert len(stitch([before, elsewhere])) == 2


def test_overlapping_tracks_are_never_joined() -> None:
    a = segment(1, 0.0, 3.0, (0, 200), (120, 200))
    b = segment(2, 2.0, 5.0, (125, 200), (200, 200))
    assert len(stitch([a, b])) == 2


def test_long_gap_is_not_bridged() -> None:
    a = segment(1, 0.0, 3.0, (0, 200), (120, 200))
    b = segment(2, 10.0, 12.0, (125, 200), (200, 200))
    assert len(stitch([a, b])) == 2


def test_very_different_size_is_not_joined() -> None:
    a = segment(1, 0.0, 3.0, (0, 200), (120, 200), h=100)
    b = segment(2, 3.5, 6.0, (140, 200), (200, 200), h=40)
    assert len(stitch([a, b])) == 2


def test_chain_of_three_fragments() -> None:
    parts = [
        segment(1, 0.0, 2.0, (0, 200), (80, 200)),
        segment(2, 2.5, 4.0, (100, 200), (160, 200)),
        segment(3, 4.6, 6.0, (185, 200), (240, 200)),
    ]
    people = stitch(parts)
    assert [p.fragment_ids for p in people] == [(1, 2, 3)]


def test_broken_track_counts_once_after_stitching() -> None:
    # without stitching these two fragments would be two people, each a pass
    a = segment(1, 0.0, 2.0, (50, 200), (130, 200))
    b = segment(2, 2.8, 8.0, (160, 200), (200, 210))
    result = judge([a, b], CountingRules(ROI, min_dwell_s=2.0))
    assert result.counts["people"] == 1
    assert result.counts["entered"] == 1
    assert result.fragments == 2


def test_short_noise_tracks_are_dropped_and_counted() -> None:
    person = segment(1, 0.0, 6.0, (50, 200), (200, 200))
    blip = segment(2, 3.0, 3.4, (500, 500), (502, 500))
    result = judge([person, blip], CountingRules(ROI), min_track_s=1.0)
    assert result.dropped_tracks == 1
    assert result.counts["people"] == 1


def test_a_few_stray_detections_chained_over_a_longer_span_are_noise() -> None:
    # TUD-Campus: three detections at the picture's edge over 1.6 s (25 fps) that the tracker kept
    # under one id; a span of 1.6 s, but only 0.12 s of the person was ever seen
    stray = Track.from_samples(2, [(t / 25, 632, 428, 248, 0.36) for t in (27, 50, 67)], fps=25)
    person = segment(1, 0.0, 6.0, (50, 200), (200, 200))
    assert stray.duration == pytest.approx(1.6) and stray.detected_time(1 / 25) == pytest.approx(3 / 25)
    result = judge([person, stray], CountingRules(ROI), min_track_s=0.5, detect_interval_s=1 / 25)
    assert (result.counts["people"], result.dropped_tracks) == (1, 1)
    # without the run's detector interval (a live stream), the tracked span alone decides
    assert judge([person, stray], CountingRules(ROI), min_track_s=0.5).counts["people"] == 2


def test_detected_time_counts_only_seen_samples_up_to_the_detector_interval() -> None:
    # 20 samples at 10 fps, of which 5 were interpolated (confidence 0): 15 seen, the one before
    # the hole standing for up to one interval
    samples = [(t / 10, 100 + t, 200, 100, 0.0 if 5 <= t < 10 else 0.8) for t in range(20)]
    assert Track.from_samples(1, samples).detected_time(0.1) == pytest.approx(1.5)
    # an adaptive stride of 4 at 30 fps: detections 4 frames apart each stand for 4 frames
    strided = Track.from_samples(1, [(t / 30, 100, 200, 100, 0.8) for t in range(0, 40, 4)])
    assert strided.detected_time(4 / 30) == pytest.approx(10 * 4 / 30)
    assert strided.detected_time(1 / 30) == pytest.approx(10 / 30)  # the same track at one frame per call
    assert Track.from_samples(1, [(0.0, 100, 200, 100, 0.8)]).detected_time(0.1) == pytest.approx(0.1)
    assert Track.from_samples(1, [(0.0, 100, 200, 100, 0.0)]).detected_time(0.1) == 0.0


def source() -> SourceInfo:
    return SourceInfo(
        branch_id="b1",
        camera_id="cam1",
        source_video="cam1.mp4",
        video_fingerprint="ab" * 32,
        model="yolo11n-pose.pt",
        start_time=dt.datetime(2026, 2, 8, 10, 0, tzinfo=dt.UTC),
        processed_at=dt.datetime(2026, 2, 9, 1, 0, tzinfo=dt.UTC),
    )


def test_movements_table_has_the_schema_and_absolute_times() -> None:
    a = segment(1, 10.0, 20.0, (50, 200), (200, 200))
    b = segment(2, 30.0, 33.0, (50, 150), (350, 150))
    table = movements_table(judge([a, b], CountingRules(ROI)), source())
    assert table.schema == MOVEMENT_SCHEMA
    rows = table.to_pylist()
    assert [r["action_type"] for r in rows] == ["entered", "passed"]
    first = rows[0]
    assert first["first_seen"] == dt.datetime(2026, 2, 8, 10, 0, 10, tzinfo=dt.UTC)
    assert first["enter_time"] > first["first_seen"]
    assert first["dwell_seconds"] == pytest.approx((first["exit_time"] - first["enter_time"]).total_seconds())
    assert first["customer_id"] == customer_id("ab" * 32, "cam1", 1)
    assert first["n_frames"] == 101


def test_customer_ids_are_deterministic_and_distinct() -> None:
    assert customer_id("f" * 64, "cam1", 3) == customer_id("f" * 64, "cam1", 3)
    assert customer_id("f" * 64, "cam1", 3) != customer_id("f" * 64, "cam2", 3)
    assert customer_id("f" * 64, "cam1", 3) != customer_id("e" * 64, "cam1", 3)


def test_empty_judgement_gives_empty_table_of_the_schema() -> None:
    table = movements_table(judge([], CountingRules(ROI)), source())
    assert isinstance(table, pa.Table)
    assert table.num_rows == 0 and table.schema == MOVEMENT_SCHEMA


def test_gap_filled_samples_are_not_counted_as_detections() -> None:
    person = segment(1, 10.0, 20.0, (50, 200), (200, 200))
    conf = person.confidence.copy()
    conf[10:20] = 0.0  # as the gap filler marks interpolated samples
    filled = Track(person.track_id, person.frames, person.t, person.x, person.y, person.height, conf, person.box_width)
    (row,) = movements_table(judge([filled], CountingRules(ROI)), source()).to_pylist()
    assert row["n_frames"] == 101 - 10
    assert row["mean_confidence"] == pytest.approx(0.8)
