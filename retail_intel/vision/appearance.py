"""A cheap appearance descriptor per tracked box, for telling people apart when stitching.

On a fixed camera the colours of someone's top and bottom clothes stay about
the same for the few seconds to minutes they are hidden, while two different
shoppers taking the same spot rarely wear the same pair. So each box gets two
hue/saturation/value histograms, one of its upper half (torso) and one of its
lower half (legs), each summing to 1. The stitcher compares them with
:func:`retail_intel.movements.stitch.appearance_similarity`.

The box is shrunk a little at the sides first: a person's box includes
background at its edges, which would make everybody at one spot look alike.

The staff rule's uniform cue (:func:`upper_body_uniform_shares`) cannot be
read off these histograms: their bins are 22.5 hue units and a third of the
saturation and value scales wide, so a configured range such as H 100-130,
S 120-255 cuts through bins, and a share read from them would count cyan with
navy or grey with colour. It is measured exactly instead, with the pure
rule's own function, on the torso band of the box: the upper half above also
holds the head, and hair (dark, long, seen from behind) counted as a black
uniform on the sample footage (docs/staff-groups.md).
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from retail_intel.movements.staff import UniformRule, uniform_share

# bins of hue (0-180 in OpenCV), saturation and value: coarse on purpose, so
# lighting changes and compression noise move few samples across bins
BINS = (8, 3, 3)
RANGES = [0, 180, 0, 256, 0, 256]
HALF_LENGTH = BINS[0] * BINS[1] * BINS[2]
DESCRIPTOR_LENGTH = 2 * HALF_LENGTH
# share of the box width dropped on each side (background) and of the height at
# the top (head, often against the background) and bottom (feet, floor)
SIDE_MARGIN = 0.2
TOP_MARGIN = 0.1
BOTTOM_MARGIN = 0.05
MIN_SIDE_PX = 4  # a crop smaller than this has no usable colours
# the torso, as shares of the box height from its top: below the head and the hair
# over the shoulders (about the top quarter of a standing person), above the hips
TORSO = (0.25, 0.50)


def _histogram(hsv: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
    if hsv.shape[0] < MIN_SIDE_PX or hsv.shape[1] < MIN_SIDE_PX:
        return np.full(HALF_LENGTH, 1.0 / HALF_LENGTH, np.float32)  # no information: flat
    hist = cv2.calcHist([hsv], [0, 1, 2], None, list(BINS), RANGES).reshape(-1)
    total = float(hist.sum())
    return np.asarray(hist / total if total > 0 else np.full(HALF_LENGTH, 1.0 / HALF_LENGTH), np.float32)


def box_appearance(frame: npt.NDArray[np.uint8], xyxy: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """One descriptor row (upper-half histogram, then lower-half) per box of a BGR ``frame``."""
    out = np.empty((len(xyxy), DESCRIPTOR_LENGTH), np.float32)
    if not len(xyxy):
        return out
    height, width = frame.shape[:2]
    for row, (x1, y1, x2, y2) in enumerate(xyxy.tolist()):
        w, h = x2 - x1, y2 - y1
        left = int(np.clip(x1 + SIDE_MARGIN * w, 0, width))
        right = int(np.clip(x2 - SIDE_MARGIN * w, 0, width))
        top = int(np.clip(y1 + TOP_MARGIN * h, 0, height))
        bottom = int(np.clip(y2 - BOTTOM_MARGIN * h, 0, height))
        middle = (top + bottom) // 2
        crop = frame[top:bottom, left:right]
        if crop.size == 0:
            out[row] = 1.0 / HALF_LENGTH
            continue
        hsv = np.asarray(cv2.cvtColor(crop, cv2.COLOR_BGR2HSV), np.uint8)
        out[row, :HALF_LENGTH] = _histogram(hsv[: middle - top])
        out[row, HALF_LENGTH:] = _histogram(hsv[middle - top :])
    return out


def upper_body_uniform_shares(
    frame: npt.NDArray[np.uint8], xyxy: npt.NDArray[np.float32], rule: UniformRule
) -> npt.NDArray[np.float32]:
    """Per box of a BGR ``frame``: the share of its torso's pixels inside ``rule``'s HSV box.

    The torso is the band :data:`TORSO` of the box height, without the side
    margins (background): shirt or jacket, some arms. NaN where the crop is too
    small to say anything (under ``MIN_SIDE_PX`` a side, e.g. a box at the
    frame's edge): such samples are not counted.
    """
    out = np.full(len(xyxy), np.nan, np.float32)
    height, width = frame.shape[:2]
    for row, (x1, y1, x2, y2) in enumerate(xyxy.tolist()):
        w, h = x2 - x1, y2 - y1
        left = int(np.clip(x1 + SIDE_MARGIN * w, 0, width))
        right = int(np.clip(x2 - SIDE_MARGIN * w, 0, width))
        top = int(np.clip(y1 + TORSO[0] * h, 0, height))
        bottom = int(np.clip(y1 + TORSO[1] * h, 0, height))
        torso = frame[top:bottom, left:right]
        if torso.shape[0] < MIN_SIDE_PX or torso.shape[1] < MIN_SIDE_PX:
            continue
        out[row] = uniform_share(np.asarray(cv2.cvtColor(torso, cv2.COLOR_BGR2HSV), np.uint8), rule)
    return out
