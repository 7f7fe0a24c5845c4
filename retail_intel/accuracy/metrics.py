"""Tracking accuracy against MOTChallenge ground truth: MOTA, IDF1 (motmetrics) and HOTA.

Matching follows the MOTChallenge convention: a predicted box and a ground
truth box can match when their IoU is at least 0.5. Predicted boxes that match
a ground-truth *ignore* box (``conf == 0``) are dropped before scoring, and
ignore boxes are never counted as misses, as TrackEval does for MOT16/17.

HOTA (Luiten et al., IJCV 2021) is computed here, averaged over the IoU
thresholds 0.05, 0.10, ... 0.95, exactly as TrackEval's ``HOTA`` metric does.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import numpy.typing as npt

from retail_intel.accuracy.mot import MotBoxes
from retail_intel.errors import InputError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
MATCH_IOU = 0.5
HOTA_ALPHAS = np.arange(0.05, 0.99, 0.05)
_EPS = np.finfo(np.float64).eps


@dataclass(frozen=True)
class TrackingScores:
    """CLEAR MOT, identity and HOTA scores of one sequence (fractions 0..1, MOTA may be negative)."""

    mota: float
    motp: float  # mean IoU of matched pairs
    idf1: float
    hota: float
    deta: float
    assa: float
    recall: float
    precision: float
    id_switches: int
    false_positives: int
    misses: int
    gt_boxes: int
    gt_ids: int
    predicted_ids: int
    mostly_tracked: int

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def iou_matrix(a: FloatArray, b: FloatArray) -> FloatArray:
    """IoU of every box in ``a`` (N, 4 xyxy) with every box in ``b`` (M, 4 xyxy)."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)), dtype=np.float64)
    ix1 = np.maximum(a[:, None, 0], b[None, :, 0])
    iy1 = np.maximum(a[:, None, 1], b[None, :, 1])
    ix2 = np.minimum(a[:, None, 2], b[None, :, 2])
    iy2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(ix2 - ix1, 0, None) * np.clip(iy2 - iy1, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, _EPS), 0.0)


@dataclass(frozen=True)
class _Frame:
    gt_ids: IntArray
    pred_ids: IntArray
    iou: FloatArray  # (len(gt_ids), len(pred_ids))


def _require() -> None:
    try:
        import motmetrics  # noqa: F401
        import scipy  # noqa: F401
    except ImportError as exc:
        raise InputError(
            "scoring tracks against MOTChallenge ground truth needs motmetrics: pip install 'retail-intel[accuracy]'"
        ) from exc


def _frames(gt: MotBoxes, pred: MotBoxes) -> list[_Frame]:
    """Per frame: scored gt boxes, predictions left after dropping those on ignore boxes, their IoU."""
    from scipy.optimize import linear_sum_assignment

    out = []
    gt_xyxy, pred_xyxy = gt.xyxy, pred.xyxy
    frames = np.union1d(gt.frame, pred.frame)
    gt_order, pred_order = np.argsort(gt.frame, kind="stable"), np.argsort(pred.frame, kind="stable")
    gt_sorted, pred_sorted = gt.frame[gt_order], pred.frame[pred_order]
    for frame in frames.tolist():
        g = gt_order[np.searchsorted(gt_sorted, frame) : np.searchsorted(gt_sorted, frame, side="right")]
        p = pred_order[np.searchsorted(pred_sorted, frame) : np.searchsorted(pred_sorted, frame, side="right")]
        iou = iou_matrix(gt_xyxy[g], pred_xyxy[p])
        ignored = gt.ignore[g]
        if ignored.any() and len(p):
            # Match against every gt box; predictions that pair with an ignore box are not scored.
            score = np.where(iou >= MATCH_IOU - _EPS, iou, 0.0)
            rows, cols = linear_sum_assignment(-score)
            hit = score[rows, cols] > 0
            drop = cols[hit & ignored[rows]]
            keep = np.ones(len(p), dtype=bool)
            keep[drop] = False
            p, iou = p[keep], iou[:, keep]
        iou = iou[~ignored]
        g = g[~ignored]
        out.append(_Frame(gt.ids[g], pred.ids[p], iou))
    return out


def _clear_and_identity(frames: list[_Frame]) -> dict[str, float]:
    import motmetrics as mm

    acc = mm.MOTAccumulator(auto_id=False)
    for index, f in enumerate(frames):
        dist = np.where(f.iou >= MATCH_IOU - _EPS, 1.0 - f.iou, np.nan)
        acc.update(f.gt_ids.tolist(), f.pred_ids.tolist(), dist, frameid=index)
    names = [
        "mota",
        "motp",
        "idf1",
        "recall",
        "precision",
        "num_switches",
        "num_false_positives",
        "num_misses",
        "num_objects",
        "mostly_tracked",
    ]
    summary = mm.metrics.create().compute(acc, metrics=names, name="seq")
    return {name: float(summary[name].iloc[0]) for name in names}


def hota(frames: list[_Frame]) -> tuple[float, float, float]:
    """(HOTA, DetA, AssA), each averaged over :data:`HOTA_ALPHAS` (TrackEval's algorithm)."""
    from scipy.optimize import linear_sum_assignment

    gt_ids = np.unique(np.concatenate([f.gt_ids for f in frames])) if frames else np.zeros(0, np.int64)
    pr_ids = np.unique(np.concatenate([f.pred_ids for f in frames])) if frames else np.zeros(0, np.int64)
    n_gt_dets = sum(len(f.gt_ids) for f in frames)
    n_pr_dets = sum(len(f.pred_ids) for f in frames)
    if n_gt_dets == 0 or n_pr_dets == 0:
        return 0.0, 0.0, 0.0
    gi = [np.searchsorted(gt_ids, f.gt_ids) for f in frames]
    pi = [np.searchsorted(pr_ids, f.pred_ids) for f in frames]
    potential = np.zeros((len(gt_ids), len(pr_ids)))
    gt_count = np.zeros((len(gt_ids), 1))
    pr_count = np.zeros((1, len(pr_ids)))
    for f, g, p in zip(frames, gi, pi, strict=True):
        sim = f.iou
        denom = sim.sum(0)[None, :] + sim.sum(1)[:, None] - sim
        sim_iou = np.zeros_like(sim)
        ok = denom > _EPS
        sim_iou[ok] = sim[ok] / denom[ok]
        potential[g[:, None], p[None, :]] += sim_iou
        gt_count[g] += 1
        pr_count[0, p] += 1
    alignment = potential / (gt_count + pr_count - potential)
    n_alpha = len(HOTA_ALPHAS)
    tp, fn, fp = np.zeros(n_alpha), np.zeros(n_alpha), np.zeros(n_alpha)
    matches = [np.zeros_like(potential) for _ in range(n_alpha)]
    for f, g, p in zip(frames, gi, pi, strict=True):
        if len(g) == 0:
            fp += len(p)
            continue
        if len(p) == 0:
            fn += len(g)
            continue
        sim = f.iou
        rows, cols = linear_sum_assignment(-(alignment[g[:, None], p[None, :]] * sim))
        for a, alpha in enumerate(HOTA_ALPHAS):
            ok = sim[rows, cols] >= alpha - _EPS
            r, c = rows[ok], cols[ok]
            tp[a] += len(r)
            fn[a] += len(g) - len(r)
            fp[a] += len(p) - len(r)
            matches[a][g[r], p[c]] += 1
    ass_a = np.zeros(n_alpha)
    for a in range(n_alpha):
        m = matches[a]
        ass_a[a] = np.sum(m * (m / np.maximum(1, gt_count + pr_count - m))) / max(1.0, tp[a])
    det_a = tp / np.maximum(1, tp + fn + fp)
    hota_a = np.sqrt(det_a * ass_a)
    return float(hota_a.mean()), float(det_a.mean()), float(ass_a.mean())


def score_tracking(gt: MotBoxes, pred: MotBoxes) -> TrackingScores:
    """Score predicted boxes (with track ids) against ground truth over the frames either covers."""
    _require()
    frames = _frames(gt, pred)
    clear = _clear_and_identity(frames)
    h, det_a, ass_a = hota(frames)
    scored_gt = gt.scored()
    pred_ids = np.unique(np.concatenate([f.pred_ids for f in frames])) if frames else np.zeros(0)
    return TrackingScores(
        mota=clear["mota"],
        motp=1.0 - clear["motp"] if np.isfinite(clear["motp"]) else 0.0,
        idf1=clear["idf1"],
        hota=h,
        deta=det_a,
        assa=ass_a,
        recall=clear["recall"],
        precision=clear["precision"],
        id_switches=int(clear["num_switches"]),
        false_positives=int(clear["num_false_positives"]),
        misses=int(clear["num_misses"]),
        gt_boxes=len(scored_gt),
        gt_ids=scored_gt.identities(),
        predicted_ids=len(pred_ids),
        mostly_tracked=int(clear["mostly_tracked"]),
    )
