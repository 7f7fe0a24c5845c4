"""The --save-video overlay's running figure is labelled as raw tracker ids, never as a count of people."""

from __future__ import annotations

import cv2

from retail_intel.vision.annotate import running_label


def test_the_running_figure_says_it_is_raw_and_before_stitching() -> None:
    label = running_label(12.34, 3, 35)
    assert label.startswith("t=  12.3s  inside now: 3")
    assert "raw track ids in ROI: 35" in label and "before stitching" in label
    assert "people" not in label and "count" not in label and "seen inside" not in label
    # Fits across a 640-pixel-wide frame with the font and scale the overlay uses (even at t=99999 s).
    (width, _), _ = cv2.getTextSize(running_label(99_999.9, 99, 9999), cv2.FONT_HERSHEY_SIMPLEX, 0.55, 1)
    assert width <= 640 - 6
