"""Zone and queue visits of a person the batch carries across segment cuts: one visit, as in the uncut video.

A shopper standing in a zone (and in a queue zone) across a cut was given a visit by the segment
before the cut and another, overlapping one by the segment that took them over (which judges
their whole path), under an id of its own: the zone KPIs, `zones`, the report and serve's
/zones and /queues counted them twice. The segment that takes a person over now writes their
visits under the id their movement keeps, and the batch removes them from the segment before,
as it removes their movement (from its own file or from its compacted month).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from retail_intel.config import load_config
from retail_intel.kpis.zone_compute import compute_zone_kpis
from retail_intel.movements.compacted import compacted_files
from retail_intel.movements.compaction import compact_store
from retail_intel.movements.store import read_movements
from retail_intel.movements.zone_store import QUEUE_LENGTHS_DIR, QUEUE_VISITS_DIR, ZONE_VISITS_DIR, read_zone_table
from retail_intel.pipeline.rejudge_zones import rejudge_zones
from retail_intel.pipeline.video_tracks import source_key
from retail_intel.storage import TRAJECTORIES_DIR, atomic_write_table
from retail_intel.vision.video import fingerprint

from .batch_fakes import write_scene
from .batch_helpers import BRANCHES, batch, nightly_archives, write_segments
from .fakes import Box, person_box

ZONES = """        zones:
          - {id: shelf, polygon: [[100, 80], [220, 80], [220, 200], [100, 200]], min_dwell: 2}
          - {id: line, kind: queue, polygon: [[100, 80], [220, 80], [220, 200], [100, 200]], min_dwell: 2}
"""
VISIT = ("zone_id", "zone_kind", "enter_time", "exit_time", "dwell_seconds", "exit_observed", "counted")
QUEUE = ("zone_id", "queue_enter", "queue_exit", "wait_seconds", "abandoned")


def standing_across_cuts(frame: int) -> list[Box]:
    """A walks into both zones (frames 0-19), stands there until frame 130, then walks out right:
    in view across both cuts of three 5 s segments (frames 50 and 100).

    B crosses both zones from right to left over frames 0-30, out of view long before the first
    cut: a short visit to each that stays with the first segment.
    """
    x = 20 + min(frame, 20) * 6 if frame <= 130 else 140 + (frame - 130) * 12
    boxes = [person_box(x, 150)] if x < 320 else []
    if frame <= 30:
        boxes.append(person_box(310 - frame * 10, 85))
    return boxes


@pytest.fixture
def root(tmp_path: Path) -> Path:
    config = tmp_path / "config"
    config.mkdir()
    door = '        filename_pattern: "door_%Y%m%d_%H%M%S"\n'
    (config / "branches.yaml").write_text(BRANCHES.replace(door, door + ZONES, 1))
    return tmp_path


def _whole(root: Path) -> Path:
    write_scene(root / "whole" / "door_20260208_100000.avi", standing_across_cuts, frames=150)
    assert batch(root / "whole", root, data="whole").exit_code == 0
    return root / "whole"


def _rows(data_dir: Path, kind: str, columns: tuple[str, ...]) -> list[tuple[Any, ...]]:
    return sorted(tuple(r[c] for c in columns) for r in read_zone_table(data_dir, kind).to_pylist())


def _zone_kpis(root: Path, data_dir: Path) -> tuple[list[Any], list[Any]]:
    result = compute_zone_kpis(load_config(root / "config"), data_dir, window_minutes=60)
    zones = [
        (r["zone_id"], r["visits"], r["counted_visits"], r["mean_dwell_seconds"]) for r in result.zones.to_pylist()
    ]
    queues = [(r["zone_id"], r["people_queued"], r["mean_wait_seconds"]) for r in result.queues.to_pylist()]
    return sorted(zones), sorted(queues)


def _assert_as_uncut(root: Path, data_dir: Path, whole: Path) -> None:
    assert _rows(data_dir, ZONE_VISITS_DIR, VISIT) == _rows(whole, ZONE_VISITS_DIR, VISIT)
    assert len(_rows(data_dir, ZONE_VISITS_DIR, VISIT)) == 4  # one visit of each person to each zone
    assert _rows(data_dir, QUEUE_VISITS_DIR, QUEUE) == _rows(whole, QUEUE_VISITS_DIR, QUEUE)
    assert _zone_kpis(root, data_dir) == _zone_kpis(root, whole)
    # the visits join the movements the people are written under
    movers = set(read_movements(data_dir).column("customer_id").to_pylist())
    assert len(movers) == 2
    assert set(read_zone_table(data_dir, ZONE_VISITS_DIR).column("customer_id").to_pylist()) == movers
    # queue-length minutes are each segment's own and add up to the uncut video's (less the two
    # frame intervals between the segments' last and first frames)
    split = read_zone_table(data_dir, QUEUE_LENGTHS_DIR).to_pylist()
    (uncut,) = read_zone_table(whole, QUEUE_LENGTHS_DIR).to_pylist()
    assert len(split) == 3
    assert sum(r["people_seconds"] for r in split) == pytest.approx(uncut["people_seconds"] - 0.2)
    assert sum(r["observed_seconds"] for r in split) == pytest.approx(uncut["observed_seconds"] - 0.2)
    assert max(r["peak_people"] for r in split) == uncut["peak_people"] == 2


def test_a_person_in_a_zone_across_cuts_has_one_visit_as_in_the_uncut_video(root: Path) -> None:
    write_segments(root / "archive" / "b1" / "door", "door", standing_across_cuts, count=3)
    split = batch(root / "archive", root)
    assert [f.taken_over for f in split.files] == [0, 1, 1]
    _assert_as_uncut(root, root / "data", _whole(root))


def test_a_segment_redone_while_its_successor_is_done_gives_the_visits_back_again(root: Path) -> None:
    segments = write_segments(root / "archive" / "b1" / "door", "door", standing_across_cuts, count=3)
    batch(root / "archive", root)
    first = source_key("door", fingerprint(segments[0]))
    (victim,) = (root / "data" / "movements").rglob(f"{first}.parquet")
    victim.unlink()  # lost output: that file is redone (with everybody), the next one stays done
    assert batch(root / "archive", root).done == 1
    _assert_as_uncut(root, root / "data", _whole(root))


def test_visits_handed_over_from_a_compacted_month_leave_the_month(root: Path) -> None:
    segments = write_segments(root / "all" / "b1" / "door", "door", standing_across_cuts, count=3)
    for night in nightly_archives(root, segments):
        assert batch(night, root, kpis=True).done == 1
        # a later night: the day before is closed, so compact merges it into its month
        compact_store(root / "data", before=dt.date(2026, 3, 1))
    assert compacted_files(root / "data" / ZONE_VISITS_DIR)
    _assert_as_uncut(root, root / "data", _whole(root))


def test_zones_judged_again_after_the_hand_overs_are_as_in_the_uncut_video(root: Path) -> None:
    # `zones --rejudge` judges each segment's stored paths. The hand-over took A's path out of the
    # first two segments (the last one holds it whole), so their queue-length minutes lost A's time
    # in the queue before each cut, and the middle segment, left with nobody, was skipped ("0
    # cameras in one file") and kept its queue-length minutes of the zones as they were.
    write_segments(root / "archive" / "b1" / "door", "door", standing_across_cuts, count=3)
    assert [f.taken_over for f in batch(root / "archive", root).files] == [0, 1, 1]
    whole = _whole(root)
    config = root / "config" / "branches.yaml"
    config.write_text(config.read_text().replace("{id: line, kind: queue", "{id: till, kind: queue"))
    for data_dir in (root / "data", whole):
        summary = rejudge_zones(load_config(root / "config"), data_dir, "b1")
        assert summary.skipped == []
    assert {r["zone_id"] for r in read_zone_table(root / "data", QUEUE_LENGTHS_DIR).to_pylist()} == {"till"}
    _assert_as_uncut(root, root / "data", whole)


def test_a_person_both_segments_hold_counts_once_in_the_queue_length_judged_again(root: Path) -> None:
    # a hand-over cut short (the batch stopped after the last segment wrote A, before the first gave
    # A up): the first segment's minutes count A from its own path, not from the last's as well
    segments = write_segments(root / "archive" / "b1" / "door", "door", standing_across_cuts, count=3)
    batch(root / "archive", root)
    first, _, last = (
        next((root / "data" / TRAJECTORIES_DIR).rglob(f"{source_key('door', fingerprint(s))}.parquet"))
        for s in segments
    )
    taken = pq.read_table(last)  # A alone, from their first moment in the first segment
    assert len(set(taken.column("customer_id").to_pylist())) == 1
    atomic_write_table(pa.concat_tables([pq.read_table(first), taken]), first)
    whole = _whole(root)
    for data_dir in (root / "data", whole):
        rejudge_zones(load_config(root / "config"), data_dir, "b1")
    split = read_zone_table(root / "data", QUEUE_LENGTHS_DIR).to_pylist()
    (uncut,) = read_zone_table(whole, QUEUE_LENGTHS_DIR).to_pylist()
    assert sum(r["people_seconds"] for r in split) == pytest.approx(uncut["people_seconds"] - 0.2)
    assert max(r["peak_people"] for r in split) == uncut["peak_people"] == 2
