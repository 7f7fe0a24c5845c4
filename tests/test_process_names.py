"""process's messages name what a Python caller passed (fps, start_time, model), and the CLI's flags
where the CLI passes them (ProcessRequest.names): they said --fps, --model, --backend to both."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from retail_intel.cli.settings_flags import PROCESS_FLAGS
from retail_intel.errors import ModelError, TimeError
from retail_intel.naming import CallerNames
from retail_intel.pipeline.autosize import size_rule
from retail_intel.pipeline.plan import NoRegionError, ProcessRequest, make_plan
from retail_intel.pipeline.run import check_plausible_end, check_plausible_start, full_frame_detector
from retail_intel.vision import detector as detector_module
from retail_intel.vision import weights
from retail_intel.vision.openvino_backend import export_openvino

NOW = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)


def test_no_region_names_roi_and_zone(tmp_path: Path) -> None:
    request = ProcessRequest.create(tmp_path / "cam.avi", "b1", tmp_path / "data")
    with pytest.raises(NoRegionError, match=r"pass roi x1,y1,x2,y2 or zone, or give the branch"):
        make_plan(request)
    flagged = ProcessRequest.create(tmp_path / "cam.avi", "b1", tmp_path / "data", names=PROCESS_FLAGS)
    with pytest.raises(NoRegionError, match=r"pass --roi x1,y1,x2,y2 or --zone, or give the branch"):
        make_plan(flagged)


def test_openvino_on_a_gpu_names_backend_and_device(tmp_path: Path) -> None:
    def plan(**names: str) -> object:
        request = ProcessRequest.create(
            tmp_path / "cam.avi", "b1", tmp_path / "data", roi="0,0,9,9", backend="openvino", names=names
        )
        return make_plan(request).with_settings(device="cuda:0")

    with pytest.raises(ModelError, match=r"^backend openvino runs on the CPU; got device cuda:0$"):
        full_frame_detector(plan())  # type: ignore[arg-type]
    with pytest.raises(ModelError, match=r"^--backend openvino runs on the CPU; got --device cuda:0$"):
        full_frame_detector(plan(**PROCESS_FLAGS))  # type: ignore[arg-type]


def test_a_missing_model_names_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RETAIL_INTEL_CACHE", str(tmp_path / "cache"))
    with pytest.raises(ModelError, match=r"copy the file there or pass model /path/to/yolov8n.pt$"):
        weights.resolve_weights("yolov8n.pt")
    with pytest.raises(ModelError, match=r"copy the file there or pass --model /path/to/yolov8n.pt$"):
        weights.resolve_weights("yolov8n.pt", "--model")
    # a batch keys its model identities by the detector spec: it carries the caller's name along
    given = {"video": tmp_path / "v.avi", "branch": "b1", "data_dir": tmp_path, "roi": "0,0,9,9", "model": "yolov8n.pt"}
    spec = make_plan(ProcessRequest.create(**given)).detector  # type: ignore[arg-type]
    named = make_plan(ProcessRequest.create(**given, names=PROCESS_FLAGS)).detector  # type: ignore[arg-type]
    assert (spec.model_name, named.model_name) == ("model", "--model") and spec == named


def test_an_onnx_model_without_onnxruntime_names_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    onnx = tmp_path / "m.onnx"
    onnx.write_bytes(b"x")
    monkeypatch.setattr(detector_module.importlib_util, "find_spec", lambda name: None)
    with pytest.raises(ModelError, match=r"; or pass model with Ultralytics weights"):
        detector_module.UltralyticsDetector(onnx)
    with pytest.raises(ModelError, match=r"; or pass --model with Ultralytics weights"):
        detector_module.UltralyticsDetector(onnx, model_name="--model")


def test_weights_openvino_cannot_export_name_backend(tmp_path: Path) -> None:
    onnx = tmp_path / "m.onnx"
    onnx.write_bytes(b"x")
    with pytest.raises(ModelError, match=r"only .pt weights can be exported to OpenVINO; pass backend torch$"):
        export_openvino(onnx)
    with pytest.raises(ModelError, match=r"only .pt weights can be exported to OpenVINO; pass --backend torch$"):
        export_openvino(onnx, "--backend")


def test_implausible_start_and_end_name_start_time_and_fps() -> None:
    start = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    with pytest.raises(TimeError, match=r"give its true start \(start_time for one video, a manifest's start"):
        check_plausible_start(start, "container creation time", NOW)
    with pytest.raises(TimeError, match=r"give its true start \(--start-time for one video"):
        check_plausible_start(start, "container creation time", NOW, PROCESS_FLAGS)
    begun = dt.datetime(2026, 2, 8, 10, tzinfo=dt.UTC)
    with pytest.raises(TimeError, match=r"give the true frame rate \(fps, the camera's fps or a manifest's fps"):
        check_plausible_end(begun, "file name", 60, 1e-6, 6e7 * 1e3, NOW)
    with pytest.raises(TimeError, match=r"give the true frame rate \(--fps, the camera's fps"):
        check_plausible_end(begun, "file name", 60, 1e-6, 6e7 * 1e3, NOW, PROCESS_FLAGS)


def test_people_too_small_suggest_tiles_by_its_name() -> None:
    warning = size_rule([45.0] * 30, (960, 540)).warning
    assert warning is not None and "(a closer camera or tiles 2 may help;" in warning
    flagged = size_rule([45.0] * 30, (960, 540), tiles_name="--tiles").warning
    assert flagged is not None and "(a closer camera or --tiles 2 may help;" in flagged


def test_people_too_small_name_the_calibration_as_the_caller_runs_it() -> None:
    # the library's warning said "check with `retail-intel calibrate`" to a Python caller too
    warning = size_rule([45.0] * 30, (960, 540)).warning
    assert warning is not None and warning.endswith("2 may help; check with calibrate_camera)")
    assert "retail-intel" not in warning
    named = CallerNames(PROCESS_FLAGS)
    flagged = size_rule([45.0] * 30, (960, 540), tiles_name=named("tiles"), calibrate_name=named("calibrate_camera"))
    assert flagged.warning is not None
    assert flagged.warning.endswith("(a closer camera or --tiles 2 may help; check with `retail-intel calibrate`)")


def test_the_cli_passes_its_flags_for_every_setting() -> None:
    assert {PROCESS_FLAGS[k] for k in ("fps", "roi", "model", "backend", "tiles", "start_time", "save_video")} == {
        "--fps",
        "--roi",
        "--model",
        "--backend",
        "--tiles",
        "--start-time",
        "--save-video",
    }
