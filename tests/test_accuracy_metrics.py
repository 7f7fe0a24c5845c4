"""MOTA, IDF1 and HOTA on tiny hand-made ground truth and predictions, worked out by hand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from retail_intel.accuracy.metrics import iou_matrix, score_tracking
from retail_intel.accuracy.mot import MotBoxes, boxes_to_tracks, read_frame_rate, read_mot, tracks_to_boxes, write_mot
from retail_intel.errors import InputError


def walk(ident: int, frames: range, x0: float, dx: float = 5.0, y: float = 100.0, ignore: bool = False) -> list:
    return [(f, ident, x0 + dx * (f - frames.start), y, 20.0, 50.0, ignore) for f in frames]


def test_perfect_tracking_scores_one() -> None:
    gt = MotBoxes.from_rows(walk(1, range(10), 0) + walk(2, range(3, 12), 200))
    scores = score_tracking(gt, gt)
    assert scores.mota == pytest.approx(1.0)
    assert scores.idf1 == pytest.approx(1.0)
    assert scores.hota == pytest.approx(1.0)
    assert scores.id_switches == 0 and scores.false_positives == 0 and scores.misses == 0
    assert (scores.gt_ids, scores.predicted_ids, scores.gt_boxes) == (2, 2, 19)


def test_an_id_switch_halfway() -> None:
    # one person, 10 frames; the tracker calls them 7 for 5 frames, then 8
    gt = MotBoxes.from_rows(walk(1, range(10), 0))
    pred = MotBoxes.from_rows(walk(7, range(5), 0) + walk(8, range(5, 10), 25))
    scores = score_tracking(gt, pred)
    # MOTA = 1 - (FN + FP + IDSW) / GT = 1 - 1/10
    assert scores.mota == pytest.approx(0.9)
    assert scores.id_switches == 1
    # IDF1: the best one-to-one id pairing covers 5 of 10 gt and 5 of 10 predicted boxes
    assert scores.idf1 == pytest.approx(0.5)
    # detection is perfect (DetA = 1); AssA = 5 / (10 + 5 - 5) = 0.5 for every match
    assert scores.deta == pytest.approx(1.0)
    assert scores.assa == pytest.approx(0.5)
    assert scores.hota == pytest.approx(np.sqrt(0.5))


def test_misses_and_false_positives() -> None:
    gt = MotBoxes.from_rows(walk(1, range(10), 0))
    # found in 8 of 10 frames, plus 2 boxes where nobody is
    pred = MotBoxes.from_rows([*walk(1, range(8), 0), (0, 9, 500, 500, 20, 50, False), (1, 9, 505, 500, 20, 50, False)])
    scores = score_tracking(gt, pred)
    assert scores.misses == 2 and scores.false_positives == 2
    assert scores.mota == pytest.approx(1 - 4 / 10)
    assert scores.recall == pytest.approx(0.8)
    assert scores.precision == pytest.approx(0.8)
    # IDF1 = 2 IDTP / (GT + PRED) = 2 * 8 / (10 + 10)
    assert scores.idf1 == pytest.approx(0.8)


def test_low_overlap_is_no_match() -> None:
    gt = MotBoxes.from_rows([(0, 1, 0, 0, 20, 50, False)])
    shifted = MotBoxes.from_rows([(0, 1, 12, 0, 20, 50, False)])  # IoU = 8*50 / (2*1000 - 400) = 0.25
    scores = score_tracking(gt, shifted)
    assert (scores.misses, scores.false_positives) == (1, 1)
    assert scores.mota == pytest.approx(-1.0)


def test_predictions_on_ignore_boxes_are_not_scored() -> None:
    gt = MotBoxes.from_rows(walk(1, range(5), 0) + walk(2, range(5), 300, ignore=True))
    pred_on_ignored = MotBoxes.from_rows(walk(1, range(5), 0) + walk(5, range(5), 300))
    scores = score_tracking(gt, pred_on_ignored)
    assert scores.false_positives == 0 and scores.misses == 0
    assert scores.gt_boxes == 5 and scores.gt_ids == 1
    assert scores.mota == pytest.approx(1.0)
    # and missing an ignored person costs nothing either
    assert score_tracking(gt, MotBoxes.from_rows(walk(1, range(5), 0))).mota == pytest.approx(1.0)


def test_hota_drops_with_poor_localisation() -> None:
    gt = MotBoxes.from_rows(walk(1, range(10), 0))
    exact = score_tracking(gt, gt).hota
    rows = [(f, 1, x + 3.0, y, w, h, i) for f, _, x, y, w, h, i in walk(1, range(10), 0)]
    loose = score_tracking(gt, MotBoxes.from_rows(rows))
    # IoU 17*50/(23*50) = 0.739: matched at alphas up to 0.70, missed above: HOTA < 1 but MOTA still 1
    assert loose.mota == pytest.approx(1.0)
    assert loose.deta == pytest.approx(14 / 19)
    assert loose.hota < exact


def test_iou_matrix_values() -> None:
    a = np.array([[0, 0, 10, 10], [0, 0, 5, 5]], dtype=np.float64)
    b = np.array([[0, 0, 10, 10], [5, 5, 15, 15], [20, 20, 30, 30]], dtype=np.float64)
    iou = iou_matrix(a, b)
    assert iou.shape == (2, 3)
    assert iou[0, 0] == pytest.approx(1.0)
    assert iou[0, 1] == pytest.approx(25 / 175)
    assert iou[1, 0] == pytest.approx(0.25)
    assert iou[:, 2].tolist() == [0.0, 0.0]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(1, 4), st.floats(0, 200), st.floats(0, 200)), max_size=25))
def test_scores_stay_in_range(rows: list[tuple[int, int, float, float]]) -> None:
    gt = MotBoxes.from_rows(walk(1, range(6), 0) + walk(2, range(6), 100))
    pred = MotBoxes.from_rows([(f, i, x, y, 20.0, 50.0, False) for f, i, x, y in rows])
    scores = score_tracking(gt, pred)
    assert scores.mota <= 1.0
    for value in (scores.idf1, scores.hota, scores.deta, scores.assa, scores.recall):
        assert 0.0 <= value <= 1.0
    assert scores.misses + round(scores.recall * scores.gt_boxes) == scores.gt_boxes


def test_read_mot_and_round_trip_through_tracks(tmp_path: Path) -> None:
    path = tmp_path / "gt.txt"
    path.write_text("1,3,10,20,30,60,1,-1,-1,-1\n2,3,12,20,30,60,1,-1,-1,-1\n2,4,100,50,20,40,0,-1,-1,-1\n")
    boxes = read_mot(path)
    assert boxes.frame.tolist() == [0, 1, 1]  # 1-based in the file, 0-based video frames here
    assert boxes.ignore.tolist() == [False, False, True]
    tracks = boxes_to_tracks(boxes, fps=10)
    person = next(t for t in tracks if t.track_id == 3)
    # foot point = bottom centre
    assert person.x.tolist() == [25.0, 27.0] and person.y.tolist() == [80.0, 80.0]
    assert person.t.tolist() == [0.0, 0.1]
    back = tracks_to_boxes(tracks)
    assert np.allclose(back.xyxy, boxes.xyxy)
    out = tmp_path / "pred.txt"
    write_mot(back, out)
    again = read_mot(out)
    assert np.allclose(again.xyxy, boxes.xyxy) and again.ids.tolist() == boxes.ids.tolist()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("1,1,10,20\n", "at least 6 values"),
        ("1,1,a,20,30,60,1\n", "expected numbers"),
        # inf: an OverflowError traceback; nan: a box nowhere, taken as ground truth
        ("1,1,10,20,30,60,1\ninf,1,10,20,30,60,1\n", r"row 2: expected numbers .* \(no nan or inf\)"),
        ("1,1,10,20,30,60,1\n2,1,nan,20,30,60,1\n", r"row 2: expected numbers .* \(no nan or inf\)"),
        ("1,1,10,20,30,60,nan\n", r"row 1: expected numbers .* \(no nan or inf\)"),
        ("0,1,10,20,30,60,1\n", "1-based"),
        # int() would have cut them to frame 1, person 2
        ("1.5,1,10,20,30,60,1\n", r"row 1: frame and id must be whole numbers, got frame '1.5', id '1'"),
        ("1,2.7,10,20,30,60,1\n", r"row 1: frame and id must be whole numbers, got frame '1', id '2.7'"),
        ("1,1,10,20,0,60,1\n", "positive"),
        ("\n", "no boxes"),
        # the same identity twice in one frame (or a detections file, id -1 throughout) scored as truth
        (
            "1,1,10,20,30,60,1\n2,1,10,20,30,60,1\n2,1,200,20,30,60,1\n",
            r"row 3: identity 1 has a second box in frame 2 \(the first is row 2\)",
        ),
    ],
)
def test_read_mot_rejects_bad_rows(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "gt.txt"
    path.write_text(content)
    with pytest.raises(InputError, match=message):
        read_mot(path)


# MOT16/17 gt.txt: frame,id,x,y,w,h,conf,class,visibility
MOT17_GT = (
    "1,1,10,20,30,60,1,1,1\n"  # a pedestrian
    "1,2,100,20,30,60,0,1,0.2\n"  # a pedestrian marked ignore (conf 0)
    "1,3,200,20,80,40,0,3,1\n"  # a car
    "1,4,300,20,30,60,0,7,0.9\n"  # a static person: a distractor
    "1,5,400,20,30,60,1,9,0.5\n"  # an occluder, conf 1
    "2,1,12,20,30,60,1,1,1\n"
    "2,6,500,20,30,60,1,12,1\n"  # a reflection: a distractor
)


def test_read_mot_keeps_what_trackeval_scores_of_a_mot17_gt(tmp_path: Path) -> None:
    path = tmp_path / "gt.txt"
    path.write_text(MOT17_GT)
    boxes = read_mot(path)
    # the car and the occluder are no ground truth; distractors are ignore boxes, as conf 0 ones are
    assert list(zip(boxes.frame.tolist(), boxes.ids.tolist(), strict=True)) == [(0, 1), (0, 2), (0, 4), (1, 1), (1, 6)]
    assert boxes.ignore.tolist() == [False, True, True, False, True]
    # a person marked ignore still walks for the counting rules; a static person or a reflection is nobody to count
    assert sorted(t.track_id for t in boxes_to_tracks(boxes, fps=10)) == [1, 2]
    # a prediction on the car is a false positive, one on the static person or the reflection is not scored
    pred = MotBoxes.from_rows(
        [
            (0, 1, 10, 20, 30, 60, False),
            (0, 7, 200, 20, 80, 40, False),
            (0, 8, 300, 20, 30, 60, False),
            (1, 1, 12, 20, 30, 60, False),
            (1, 9, 500, 20, 30, 60, False),
        ]
    )
    scores = score_tracking(boxes, pred)
    assert (scores.gt_ids, scores.gt_boxes, scores.misses, scores.false_positives) == (1, 2, 0, 1)


def test_read_mot_reads_every_row_of_a_mot15_gt_as_a_person(tmp_path: Path) -> None:
    # 10 values: X,Y,Z world coordinates, however much X and Y look like a class and a visibility
    path = tmp_path / "gt.txt"
    path.write_text("1,1,10,20,30,60,1,3,0.5,0\n1,2,100,20,30,60,-1,-1,-1,-1\n2,1,12,20,30,60,0,7,1,0\n")
    boxes = read_mot(path)
    assert boxes.ids.tolist() == [1, 2, 1]
    assert boxes.ignore.tolist() == [False, False, True]
    assert sorted(t.track_id for t in boxes_to_tracks(boxes, fps=10)) == [1, 2]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("1,1,10,20,30,60,1,0,1\n", r"row 1: 9 values read as MOT16/17 .* got class '0', visibility '1'"),
        ("1,1,10,20,30,60,1,14,1\n", r"row 1: 9 values read as MOT16/17 .* got class '14'"),
        ("1,1,10,20,30,60,1,1.5,1\n", r"row 1: 9 values read as MOT16/17 .* got class '1.5'"),
        ("1,1,10,20,30,60,1,1,1.5\n", r"row 1: 9 values read as MOT16/17 .* visibility '1.5'"),
        ("1,3,200,20,80,40,0,3,1\n1,5,400,20,30,60,1,9,0.5\n", r"no pedestrian boxes \(MOT16/17 class 1\)"),
        # a MOT15 file with a MOT17 row in it, and the other way round: one would be read as the wrong columns
        (
            "1,1,10,20,30,60,1,-1,-1,-1\n2,1,10,20,30,60,1,1,1\n",
            r"row 2: expected the layout of row 1 \(10 values: MOT15 .*\), got 9 values: MOT16/17",
        ),
        (
            "1,1,10,20,30,60,1,1,1\n2,1,10,20,30,60,1,-1,-1,-1\n",
            r"row 2: expected the layout of row 1 \(9 values: MOT16/17 .*\), got 10 values: MOT15",
        ),
    ],
)
def test_read_mot_rejects_bad_mot17_rows(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "gt.txt"
    path.write_text(content)
    with pytest.raises(InputError, match=message):
        read_mot(path)


def test_read_frame_rate(tmp_path: Path) -> None:
    ini = tmp_path / "seqinfo.ini"
    ini.write_text("[Sequence]\nname=x\nframeRate=7\n")
    assert read_frame_rate(ini) == 7.0
    assert read_frame_rate(tmp_path / "missing.ini") is None
