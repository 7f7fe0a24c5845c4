"""precision int8: calibration frames, the network's own input, the cache key, the setting."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from retail_intel.config.camera_settings import SettingsError, settings_layer
from retail_intel.errors import ModelError
from retail_intel.vision.int8 import calibration_indices, int8_export, int8_folder, network_input
from retail_intel.vision.openvino_backend import letterbox_shape

ROOT = Path(__file__).resolve().parents[1]


@given(total=st.integers(0, 100_000), count=st.integers(0, 500))
def test_calibration_frames_are_distinct_in_range_and_spread(total: int, count: int) -> None:
    picked = calibration_indices(total, count)
    assert picked == sorted(set(picked))
    assert all(0 <= i < total for i in picked)
    assert len(picked) == min(total, count)
    if len(picked) >= 2 and total > count:
        gaps = np.diff(picked)
        # evenly spread: no gap more than one frame off the ideal step
        assert gaps.max() - gaps.min() <= 1


def test_network_input_is_the_letterboxed_rgb_frame_scaled_to_one() -> None:
    frame = np.zeros((576, 768, 3), np.uint8)
    frame[..., 0] = 255  # pure blue in OpenCV's BGR order
    tensor = network_input(frame, 640)
    _, in_w, in_h = letterbox_shape(768, 576, 640)
    assert tensor.shape == (1, 3, in_h, in_w)
    assert tensor.dtype == np.float32
    assert tensor[0, 2, 0, 0] == pytest.approx(1.0)  # blue is the last channel in RGB
    assert tensor[0, 0, 0, 0] == pytest.approx(0.0)


def test_network_input_pads_with_grey_below_a_wide_frame() -> None:
    tensor = network_input(np.zeros((100, 640, 3), np.uint8), 640)
    assert tensor.shape == (1, 3, 128, 640)
    assert tensor[0, :, -1, 0].tolist() == pytest.approx([114 / 255] * 3)


def test_cache_key_follows_size_source_and_frame_count(tmp_path: Path) -> None:
    base = tmp_path / "abc123-openvino"
    first = int8_folder(base, 1280, "f" * 64, 64)
    assert first == int8_folder(base, 1280, "f" * 64, 64)
    assert first.parent == tmp_path and first.name.startswith("abc123-int8-")
    others = {
        int8_folder(base, 640, "f" * 64, 64),
        int8_folder(base, 1280, "e" * 64, 64),
        int8_folder(base, 1280, "f" * 64, 32),
        int8_folder(tmp_path / "def456-openvino", 1280, "f" * 64, 64),
    }
    assert first not in others and len(others) == 4


def test_int8_needs_a_video_file(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="video file"):
        int8_export(tmp_path / "x-openvino", tmp_path / "missing.mp4", 640)


def test_precision_setting_takes_int8_and_names_the_choices() -> None:
    assert settings_layer({"precision": "int8"}).precision == "int8"
    with pytest.raises(SettingsError, match="auto, f32 or int8"):
        settings_layer({"precision": "int4"})


def test_int8_on_the_pytorch_backend_is_refused_not_ignored(tmp_path: Path) -> None:
    # int8 is an OpenVINO precision: a run that uses PyTorch ran in float and its summary said int8
    from retail_intel.pipeline.plan import ProcessRequest, make_plan
    from retail_intel.pipeline.run import full_frame_detector

    from .fakes import write_video

    video = write_video(tmp_path / "cam.avi")
    plan = make_plan(
        ProcessRequest.create(
            video, "b1", tmp_path / "data", roi="10,10,100,100", imgsz=320, precision="int8", backend="torch"
        )
    )
    with pytest.raises(ModelError, match=r"precision int8 runs on the OpenVINO backend.*backend torch"):
        full_frame_detector(plan)


@pytest.mark.slow
def test_int8_model_finds_the_people_the_float_model_finds(tmp_path: Path) -> None:
    pytest.importorskip("nncf")
    from retail_intel.vision.int8 import quantize, sample_frames
    from retail_intel.vision.openvino_backend import OpenVinoDetector, export_openvino
    from retail_intel.vision.weights import bundled_weights

    video = ROOT / "sample_videos" / "vtest.avi"
    folder = export_openvino(bundled_weights())
    frames = sample_frames(video, 8)
    int8 = quantize(folder, frames, 1280, tmp_path / "q-int8")
    assert (tmp_path / "q-int8" / "metadata.yaml").exists()
    found = [
        OpenVinoDetector(f, imgsz=1280, conf=0.1).detect_batch(frames, list(range(len(frames)))) for f in (folder, int8)
    ]
    people = [sum(len(d.xyxy) for d in run) for run in found]
    assert people[0] > 10, people
    assert abs(people[1] - people[0]) <= max(2, people[0] // 10), people
    # the attention's matrix products stay in float: quantized, they cost small people their scores
    import openvino as ov

    model = ov.Core().read_model(str(next(int8.glob("*.xml"))))
    products = [op for op in model.get_ops() if op.get_type_name() == "MatMul"]
    assert products
    quantized_inputs = [
        op.get_friendly_name()
        for op in products
        for i in range(op.get_input_size())
        if op.input_value(i).get_node().get_type_name() == "FakeQuantize"
    ]
    assert quantized_inputs == []
    assert any(op.get_type_name() == "FakeQuantize" for op in model.get_ops())  # the rest is quantized


@pytest.mark.slow
def test_process_that_quantizes_still_writes_only_json_to_stdout(tmp_path: Path) -> None:
    # NNCF logs and draws its progress bars on stdout: a run that quantized wrote them before
    # `--format json`'s result, so a batch could not read its workers' reports
    pytest.importorskip("nncf")
    import json
    import os
    import shutil
    import subprocess
    import sys

    from retail_intel.vision.openvino_backend import export_openvino
    from retail_intel.vision.weights import bundled_weights

    from .fakes import write_video

    cache = tmp_path / "cache"
    float_export = export_openvino(bundled_weights())
    shutil.copytree(float_export, cache / "exports" / float_export.name)  # only the int8 model is new
    video = write_video(tmp_path / "cam.avi", frames=12)
    done = subprocess.run(
        [sys.executable, "-m", "retail_intel", "process", str(video), "--branch", "b1", "--roi", "0,0,320,240",
         "--imgsz", "160", "--precision", "int8", "--start-time", "2026-02-08T10:00:00+00:00",
         "--data-dir", str(tmp_path / "data"), "--format", "json", "--quiet"],
        capture_output=True, text=True, cwd=tmp_path, check=False, timeout=600,
        env={**os.environ, "RETAIL_INTEL_CACHE": str(cache), "YOLO_OFFLINE": "1"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert any("-int8-" in p.name for p in (cache / "exports").iterdir())  # it did quantize
    assert json.loads(done.stdout)["frames"] == 12
    assert done.stderr == ""
