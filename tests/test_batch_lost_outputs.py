"""A finished file whose tracks, trajectories, zone tables or run summary were deleted is done again.

The ledger skips a file only while everything its run wrote is in place: a file skipped with one
of its tables gone would stay without it for good (its zone visits missing from the KPIs, its
tracks from ``tracks`` and ``zones --rejudge``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from retail_intel.movements.store import read_trajectories
from retail_intel.movements.zone_store import QUEUE_LENGTHS_DIR, QUEUE_VISITS_DIR, ZONE_VISITS_DIR
from retail_intel.pipeline.run import RUNS_DIR
from retail_intel.pipeline.video_tracks import source_key
from retail_intel.storage import TRACKS_DIR, TRAJECTORIES_DIR
from retail_intel.vision.video import fingerprint

from .batch_fakes import stayer_and_passers
from .batch_helpers import batch, make_config, rows, write_segments

KINDS = [TRACKS_DIR, TRAJECTORIES_DIR, ZONE_VISITS_DIR, QUEUE_VISITS_DIR, QUEUE_LENGTHS_DIR, RUNS_DIR]


def _paths(data_dir: Path) -> list[tuple[object, ...]]:
    table = read_trajectories(data_dir).to_pylist()
    return sorted((r["customer_id"], r["time"], r["x"], r["y"]) for r in table)


@pytest.mark.parametrize("kind", KINDS)
def test_a_deleted_output_of_a_done_file_is_written_again_by_the_rerun(tmp_path: Path, kind: str) -> None:
    make_config(tmp_path)
    segments = write_segments(tmp_path / "archive" / "b1" / "door", "door", stayer_and_passers, count=3)
    assert batch(tmp_path / "archive", tmp_path).done == 3
    data = tmp_path / "data"
    reference, reference_paths = rows(data), _paths(data)
    # the first segment: the second took people over from it, so its files were rewritten once
    key = source_key("door", fingerprint(segments[0]))
    (victim,) = (data / kind).rglob(f"{key}.*")
    victim.unlink()
    again = batch(tmp_path / "archive", tmp_path)
    assert again.done == 1 and again.skipped == 2
    assert victim.is_file()
    assert rows(data) == reference and _paths(data) == reference_paths
    assert batch(tmp_path / "archive", tmp_path).skipped == 3
