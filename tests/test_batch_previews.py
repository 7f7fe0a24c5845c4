"""A ``--max-frames`` preview batch and the full runs of the same camera: neither continues the other.

A preview writes under ``DATA_DIR/previews/`` only; a segment taking over the people open at the
end of the one before removes them from that one's files, so linking a preview to a full run
would edit real data (or leave the real predecessor's people in place and write them twice).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from retail_intel.batch.ledger import Ledger, ledger_path
from retail_intel.batch.pending import pending_path
from retail_intel.batch.request import BatchRequest
from retail_intel.batch.runner import run_batch
from retail_intel.batch.summary import BatchObserver

from .batch_fakes import stayer_and_passers
from .batch_helpers import RUNTIME, batch, make_config, nightly_archives, rows, write_segments


@pytest.fixture
def root(tmp_path: Path) -> Path:
    make_config(tmp_path)
    return tmp_path


def test_a_preview_of_the_next_segment_leaves_the_full_run_before_it_alone(root: Path) -> None:
    segments = write_segments(root / "all" / "b1" / "door", "door", stayer_and_passers, count=2)
    first, second = nightly_archives(root, segments)
    assert batch(first, root).done == 1
    real = rows(root / "data")
    assert len(real) == 2  # A stands in the ROI at the cut, B crosses it
    preview = batch(second, root, max_frames=30)
    assert preview.done == 1
    (report,) = preview.files
    assert report.movements is not None and report.movements.startswith("previews/")
    assert report.taken_over == 0 and not report.joined_previous
    assert rows(root / "data") == real
    entries = Ledger.load(root / "data").entries()
    assert sorted(e.preview for e in entries) == [False, True]


def test_a_full_run_does_not_continue_a_preview_of_the_segment_before(root: Path) -> None:
    segments = write_segments(root / "all" / "b1" / "door", "door", stayer_and_passers, count=2)
    first, second = nightly_archives(root, segments)
    batch(first, root, max_frames=60)  # covers all 50 frames of the first segment
    batch(first, root)
    after = batch(second, root)
    assert [f.taken_over for f in after.files] == [2]
    batch(root / "all", root, data="clean")
    assert rows(root / "data") == rows(root / "clean")  # nobody written twice


def _as_written_before_entries_said(data_dir: Path, key: str) -> None:
    """Rewrite the ledger as a version that did not write ``key`` left it."""
    path = ledger_path(data_dir)
    old = []
    for line in path.read_text().splitlines():
        data = json.loads(line)
        del data[key]
        old.append(json.dumps(data))
    path.write_text("\n".join(old) + "\n")


def test_a_ledger_entry_written_before_entries_said_preview_is_known_by_its_folder(root: Path) -> None:
    write_segments(root / "all" / "b1" / "door", "door", stayer_and_passers, count=1)
    batch(root / "all", root, max_frames=30)
    batch(root / "all", root)
    _as_written_before_entries_said(root / "data", "preview")
    kinds = {Path(e.movements or "").parts[0]: e.preview for e in Ledger.load(root / "data").entries()}
    assert kinds == {"previews": True, "movements": False}
    assert batch(root / "all", root).skipped == 1


def test_previews_of_consecutive_segments_do_not_continue_each_other(root: Path) -> None:
    # 30 of each segment's 50 frames: the first preview stops 2 s before the second segment starts
    segments = write_segments(root / "all" / "b1" / "door", "door", stayer_and_passers, count=2)
    together = batch(root / "all", root, max_frames=30)
    assert [(f.joined_previous, f.taken_over) for f in together.files] == [(False, 0), (False, 0)]
    # nobody is carried from the first preview into the second: each is as if previewed alone
    for n, night in enumerate(nightly_archives(root, segments)):
        alone = batch(night, root, data=f"alone{n}", max_frames=30)
        assert [(f.joined_previous, f.taken_over) for f in alone.files] == [(False, 0)]
    assert rows(root / "data" / "previews") == sorted(
        rows(root / "alone0" / "previews") + rows(root / "alone1" / "previews")
    )
    # nor across batches: the next night's preview does not continue last night's
    first, second = root / "night0", root / "night1"
    batch(first, root, data="nightly", max_frames=30)
    after = batch(second, root, data="nightly", max_frames=30)
    assert [(f.joined_previous, f.taken_over) for f in after.files] == [(False, 0)]
    assert Ledger.load(root / "nightly").entries()[0].cut_short


def test_a_preview_that_reaches_the_end_of_its_segment_is_continued(root: Path) -> None:
    write_segments(root / "all" / "b1" / "door", "door", stayer_and_passers, count=2)
    whole = batch(root / "all", root, max_frames=60)  # covers all 50 frames of each segment
    assert [f.joined_previous for f in whole.files] == [False, True]
    assert [f.taken_over for f in whole.files] == [0, 2]


def test_a_preview_entry_written_before_entries_said_cut_short_continues_nothing(root: Path) -> None:
    write_segments(root / "all" / "b1" / "door", "door", stayer_and_passers, count=1)
    batch(root / "all", root, max_frames=60)
    batch(root / "all", root)
    _as_written_before_entries_said(root / "data", "cut_short")
    # whether that preview reached the end of its file is unknown: it is not continued
    assert {e.preview: e.cut_short for e in Ledger.load(root / "data").entries()} == {True: True, False: False}


class _KpiSteps(BatchObserver):
    def __init__(self) -> None:
        self.kpi_steps: list[list[str]] = []

    def kpis_started(self, branches: list[str]) -> None:
        self.kpi_steps.append(branches)


def test_a_preview_batch_recomputes_no_kpis_and_its_summary_says_none(root: Path) -> None:
    # a preview's outputs are under previews/, which KPIs never read: its summary said
    # "KPIs recomputed: b1 (60m)" for a KPI step that could change nothing
    write_segments(root / "all" / "b1" / "door", "door", stayer_and_passers, count=1)
    steps = _KpiSteps()
    request = BatchRequest(str(root / "all"), root / "config", root / "data", max_frames=30)
    preview = run_batch(request, runtime=RUNTIME, observer=steps)
    assert preview.done == 1
    assert preview.kpis == [] and steps.kpi_steps == []
    assert not pending_path(root / "data").exists()
