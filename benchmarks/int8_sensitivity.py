"""Which operations of the detector lose most when quantized: NNCF's accuracy-controlled quantization, label-free.

The metric is the float model's own class scores: one minus the mean absolute difference of the
scores of the anchors where either model scores 0.2 or more, on 16 of the calibration frames. NNCF
quantizes as ``precision: int8`` does (mixed preset, ``int8.FLOAT_PATTERNS`` kept in float, but the
matrix products quantized: recipe 1), then ranks every quantized operation by the damage it does and
puts them back into float one at a time, best first, until the drop is under ``--max-drop``; its log
(on stdout) names each operation and the drop after it. Slow: the ranking alone is about 6 minutes on
two cores at 1280. docs/throughput.md ("On a CPU without AMX") quotes its first steps.

Usage: python benchmarks/int8_sensitivity.py [--video sample_videos/vtest.avi] [--imgsz 1280] [--max-drop 0.005]
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", type=Path, default=ROOT / "sample_videos" / "vtest.avi")
    parser.add_argument("--imgsz", type=int, default=1280)
    parser.add_argument("--max-drop", type=float, default=0.005)
    opts = parser.parse_args()

    import nncf
    import openvino as ov

    from retail_intel.vision.int8 import CALIBRATION_FRAMES, float_scope, network_input, sample_frames
    from retail_intel.vision.openvino_backend import export_openvino, find_openvino_xml
    from retail_intel.vision.weights import bundled_weights

    xml = find_openvino_xml(export_openvino(bundled_weights()))
    assert xml is not None
    core = ov.Core()
    model = core.read_model(str(xml))
    inputs = [network_input(f, opts.imgsz) for f in sample_frames(opts.video, CALIBRATION_FRAMES)]
    held = list(range(0, len(inputs), 4))  # the validation frames: indices into inputs
    float_model = core.compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    reference = {i: float_model(inputs[i])[0][0, 4] for i in held}  # row 4: the person score per anchor

    def agreement(compiled: Any, indices: Any) -> tuple[float, list[float]]:
        values = []
        for i in indices:
            score = compiled(inputs[i])[0][0, 4]
            scored = np.maximum(score, reference[i]) >= 0.2
            values.append(1.0 - float(np.abs(score[scored] - reference[i][scored]).mean()) if scored.any() else 1.0)
        return float(np.mean(values)), values

    nncf.quantize_with_accuracy_control(
        model,
        nncf.Dataset(inputs),
        nncf.Dataset(held),
        validation_fn=agreement,
        max_drop=opts.max_drop,
        drop_type=nncf.DropType.ABSOLUTE,
        subset_size=len(inputs),
        preset=nncf.QuantizationPreset.MIXED,
        ignored_scope=float_scope(quantized_types=["MatMul"]),  # recipe 1: the products quantized
    )


if __name__ == "__main__":
    main()
