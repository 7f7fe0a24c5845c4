"""The setup page's shapes and their YAML edit, without a browser: shapes.py, config_edit, the web app."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from retail_intel.accuracy.config_edit import edit_camera_text, write_camera_settings
from retail_intel.camsetup import (
    SHAPE_KINDS,
    SetupSession,
    camera_shapes,
    create_setup_app,
    latest_picture,
    parse_shapes,
    setup_session,
    yaml_edit,
)
from retail_intel.config.loader import load_config
from retail_intel.errors import ConfigError, InputError, VideoError
from retail_intel.naming import COMMAND_STEPS
from retail_intel.storage import camera_frame_path

SAMPLE_CONFIG = Path(__file__).resolve().parents[1] / "config"
SAMPLE_VIDEO = Path(__file__).resolve().parents[1] / "sample_videos" / "vtest.avi"
W, H = 768, 576


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    target = tmp_path / "config"
    shutil.copytree(SAMPLE_CONFIG, target)
    return target


def write_picture(data_dir: Path, branch: str = "b1", camera: str = "vtest") -> Path:
    path = camera_frame_path(data_dir, branch, camera)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (W, H), (90, 110, 130)).save(path, "JPEG")
    return path


def shapes_payload(*shapes: dict[str, Any]) -> dict[str, Any]:
    return {"shapes": list(shapes)}


POLYGON = {"kind": "region", "geometry": "polygon", "points": [[100, 100], [600, 120], [650, 500], [90, 480]]}
PASSBY = {"kind": "passby_zone", "geometry": "polygon", "points": [[0, 500], [768, 500], [768, 576]]}
LINE = {"kind": "line", "geometry": "line", "points": [[400, 100], [400, 300]], "in_side": "right"}


# ---- shapes.py ---------------------------------------------------------------------------------------


def test_the_sample_cameras_shapes_are_read_from_its_config() -> None:
    camera = load_config(SAMPLE_CONFIG).camera("b1", "vtest")
    shapes = {s.kind: s.to_json() for s in camera_shapes(camera)}

    assert shapes == {
        "region": {"kind": "region", "geometry": "rect", "points": [[300, 180], [700, 420]]},
        "line": {"kind": "line", "geometry": "line", "points": [[500, 180], [500, 450]], "in_side": "left"},
    }


def test_kinds_are_unique_and_the_region_is_required() -> None:
    names = [k.name for k in SHAPE_KINDS]
    assert len(names) == len(set(names))
    assert [k.name for k in SHAPE_KINDS if k.required] == ["region"]


def test_a_polygon_region_sets_zone_and_removes_roi_keeping_band_px() -> None:
    camera = load_config(SAMPLE_CONFIG).camera("b1", "vtest")
    values, remove = yaml_edit(parse_shapes(shapes_payload(POLYGON, LINE), W, H), camera)

    assert values == {
        "zone": POLYGON["points"],
        "line": {"start": [400, 100], "end": [400, 300], "in_side": "right", "band_px": 10},
    }
    assert set(remove) == {"roi", "passby_zone"}


def test_a_dragged_rectangle_is_normalised_to_x1_y1_x2_y2() -> None:
    camera = load_config(SAMPLE_CONFIG).camera("b1", "vtest")
    rect = {"kind": "region", "geometry": "rect", "points": [[700, 400], [200.25, 100]]}
    values, remove = yaml_edit(parse_shapes(shapes_payload(rect), W, H), camera)

    assert values == {"roi": [200.2, 100, 700, 400]}
    assert set(remove) == {"zone", "line", "passby_zone"}


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (shapes_payload(), "region: every camera needs a region of interest"),
        ({"nope": []}, 'expected {"shapes": [...]}'),
        (shapes_payload({**POLYGON, "kind": "zones"}), "kind: expected one of region, line, passby_zone, got 'zones'"),
        (shapes_payload({**POLYGON, "geometry": "line"}), "region.geometry: expected one of rect, polygon"),
        (shapes_payload({**POLYGON, "points": [[1, 1], [2, 2]]}), "region: a polygon needs at least 3 points, got 2"),
        # too many corners were said to be too few ("needs at least 3 points, got 10001")
        (
            shapes_payload({**POLYGON, "points": [[i % 700, i // 700] for i in range(10_001)]}),
            "region: a polygon needs at most 10,000 points, got 10,001",
        ),
        (shapes_payload({**LINE, "points": [[1, 1], [2, 2], [3, 3]]}), "line: a line needs 2 points, got 3"),
        (shapes_payload({**POLYGON, "points": [[1, 1], [2, 2], [900, 3]]}), "region.points[2]: [900, 3] is outside"),
        (shapes_payload({**POLYGON, "points": [[1, 1], [2, "x"], [3, 3]]}), "region.points[1]: expected two numbers"),
        # a whole number past float's range (JSON allows it) is outside the frame, not a crash
        (shapes_payload({**POLYGON, "points": [[1, 1], [10**400, 2], [3, 3]]}), "region.points[1]: [1000000"),
        (shapes_payload(POLYGON, {**LINE, "in_side": "up"}), "line.in_side: expected left or right, got 'up'"),
        (
            shapes_payload(POLYGON, {**LINE, "points": [[5, 5], [5, 5]]}),
            "line: the two points of the line are the same",
        ),
        (shapes_payload({"kind": "region", "geometry": "rect", "points": [[5, 5], [9, 5]]}), "has no area"),
        (shapes_payload(POLYGON, POLYGON), "region: drawn twice"),
        # corners clicked out of order: a bow tie, saved as zone and counted as two triangles
        (
            shapes_payload({**POLYGON, "points": [[100, 100], [400, 100], [100, 300], [500, 350]]}),
            "region: the polygon's edge [[400.0, 100.0], [100.0, 300.0]] crosses its edge",
        ),
        (
            shapes_payload(POLYGON, {**PASSBY, "points": [[0, 500], [768, 576], [768, 500], [0, 576]]}),
            "passby_zone: the polygon's edge",
        ),
    ],
)
def test_bad_shapes_name_the_field(payload: Any, message: str) -> None:
    camera = load_config(SAMPLE_CONFIG).camera("b1", "vtest")
    with pytest.raises(InputError) as caught:
        yaml_edit(parse_shapes(payload, W, H), camera)
    assert message in str(caught.value)


# ---- the targeted YAML edit ------------------------------------------------------------------------------

BLOCK_YAML = """\
branches:
  - id: b1   # the shop
    name: One
    capacity: 10
    cameras:
      - id: cam
        zone:          # a block-style polygon
          - [1, 1]
          - [50, 1]
          - [50, 50]
        min_dwell: 3   # seconds
  - id: b2
    name: Two
    capacity: 5
    cameras:
      - id: cam
        roi: [0, 0, 10, 10]
"""


def test_edit_replaces_a_block_value_whole_and_removes_keys() -> None:
    edited = edit_camera_text(BLOCK_YAML, "b1", "cam", {"roi": [1, 2, 30, 40]}, Path("b.yaml"), remove=["zone"])

    assert "[50, 1]" not in edited and "zone" not in edited
    assert "        roi: [1, 2, 30, 40]\n" in edited
    assert "min_dwell: 3   # seconds" in edited and "- id: b1   # the shop" in edited
    assert edited.endswith("      - id: cam\n        roi: [0, 0, 10, 10]\n")  # the other branch untouched


ZONE_NAMED_LIKE_A_CAMERA = """\
branches:
  - id: b2
    name: Two
    capacity: 5
    cameras:
      - id: entrance
        roi: [0, 0, 10, 10]
        zones:
          - id: door   # the doormat, seen by the entrance camera
            polygon: [[1, 1], [5, 1], [5, 5]]
      - id: door
        roi: [0, 0, 20, 20]
"""


def test_edit_finds_the_camera_not_a_named_zone_of_the_same_id() -> None:
    # calibrate --write and setup edited zone "door" of camera entrance and were refused
    # ('zones["door"]: unknown field "imgsz"'): camera door could not be written at all
    edited = edit_camera_text(ZONE_NAMED_LIKE_A_CAMERA, "b2", "door", {"imgsz": 960}, Path("b.yaml"))
    assert edited == ZONE_NAMED_LIKE_A_CAMERA + "        imgsz: 960\n"
    # lists written without indenting their dashes are found too
    compact = "branches:\n- id: b1\n  cameras:\n  - id: cam\n    roi: [0, 0, 9, 9]\n  name: One\n"
    edited = edit_camera_text(compact, "b1", "cam", {"imgsz": 960}, Path("b.yaml"))
    assert edited == compact.replace("  name: One", "    imgsz: 960\n  name: One")


def test_edit_writes_mappings_and_strings_as_flow_yaml() -> None:
    edited = edit_camera_text(
        BLOCK_YAML,
        "b2",
        "cam",
        {"line": {"start": [1, 2], "end": [3, 4], "in_side": "left"}, "model": "a b"},
        Path("b"),
    )
    assert '        line: {start: [1, 2], end: [3, 4], in_side: left}\n        model: "a b"\n' in edited


def test_a_file_with_windows_line_ends_keeps_them(config_dir: Path) -> None:
    # every line of a CRLF branches.yaml came back LF after one saved shape: a diff of the whole file
    path = config_dir / "branches.yaml"
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    write_camera_settings(config_dir, "b1", "vtest", {"imgsz": 960})
    data = path.read_bytes()
    assert b"        imgsz: 960              # detector input size; people here" in data
    assert data.count(b"\n") == data.count(b"\r\n") and data.endswith(b"\r\n")


def test_write_refuses_an_edit_that_does_not_validate_and_keeps_the_file(config_dir: Path) -> None:
    before = (config_dir / "branches.yaml").read_text()
    with pytest.raises(ConfigError, match="would make the config invalid"):
        # removing roi without a zone leaves the camera without a region
        write_camera_settings(config_dir, "b1", "vtest", {}, remove=["roi"])
    assert (config_dir / "branches.yaml").read_text() == before


def test_a_linked_branches_yaml_is_edited_where_it_lives_and_stays_a_link(tmp_path: Path) -> None:
    # the save replaced the link with a plain file: the linked file (a deployment's copy) kept the old shapes
    real = tmp_path / "repo" / "branches.yaml"
    real.parent.mkdir()
    shutil.copy(SAMPLE_CONFIG / "branches.yaml", real)
    config = tmp_path / "config"
    config.mkdir()
    (config / "branches.yaml").symlink_to(real)

    write_camera_settings(config, "b1", "vtest", {"roi": [10, 10, 200, 200]})

    assert (config / "branches.yaml").is_symlink()
    assert load_config(config).camera("b1", "vtest").roi == (10, 10, 200, 200)
    assert "roi: [10, 10, 200, 200]" in real.read_text()


# ---- the web app ------------------------------------------------------------------------------------------


@pytest.fixture
def session(config_dir: Path, tmp_path: Path) -> SetupSession:
    write_picture(tmp_path / "data")
    return setup_session(config_dir, tmp_path / "data", "b1", "vtest")


class Client:
    """Calls the app in-process (httpx's ASGI transport), each call on a fresh event loop."""

    def __init__(self, session: SetupSession, base_url: str = "http://127.0.0.1:8123") -> None:
        self.app = create_setup_app(session)
        self.base_url = base_url

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        async def call() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url=self.base_url) as c:
                return await c.request(method, url, **kwargs)

        return asyncio.run(call())

    def get(self, url: str) -> httpx.Response:
        return self.request("GET", url)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)


def client(session: SetupSession) -> Client:
    return Client(session)


def post(c: Client, session: SetupSession, body: Any, **headers: str) -> Any:
    return c.post("/api/shapes", json=body, headers={"X-Setup-Token": session.token, **headers})


def test_page_state_and_picture(session: SetupSession) -> None:
    c = client(session)
    page = c.get("/")
    assert page.status_code == 200 and session.token in page.text
    assert "default-src 'none'" in page.headers["content-security-policy"]
    state = c.get("/api/setup").json()
    assert state["picture"]["width"] == W and state["picture"]["height"] == H
    assert [k["name"] for k in state["kinds"]] == [k.name for k in SHAPE_KINDS]
    assert {s["kind"] for s in state["shapes"]} == {"region", "line"}
    assert c.get("/picture").content == session.picture.data
    assert c.get("/static/setup.js").status_code == 200 and c.get("/static/../app.py").status_code == 404


def test_saving_writes_the_yaml_keeps_comments_and_returns_the_new_state(session: SetupSession) -> None:
    path = session.config_dir / "branches.yaml"
    before = path.read_text()
    response = post(client(session), session, shapes_payload(POLYGON, PASSBY, LINE))

    assert response.status_code == 200, response.text
    camera = load_config(session.config_dir).camera("b1", "vtest")
    assert camera.roi is None and camera.zone == [tuple(p) for p in POLYGON["points"]]
    assert camera.passby_zone == [tuple(p) for p in PASSBY["points"]]
    assert camera.line is not None and camera.line.in_side == "right" and camera.line.band_px == 10
    after = path.read_text()
    comments = [line for line in before.splitlines() if line.strip().startswith("#")]
    assert all(c in after.splitlines() for c in comments)
    assert {s["kind"]: s for s in response.json()["shapes"]}["region"] == POLYGON


def test_a_door_line_is_saved_on_a_camera_that_had_none(session: SetupSession) -> None:
    # the line is written without band_px (not drawn on the page); it reads back with the default
    write_camera_settings(session.config_dir, "b1", "vtest", {}, remove=["line"])
    assert load_config(session.config_dir).camera("b1", "vtest").line is None

    response = post(client(session), session, shapes_payload(POLYGON, LINE))

    assert response.status_code == 200, response.text
    line = load_config(session.config_dir).camera("b1", "vtest").line
    assert line is not None and line.start == (400, 100) and line.end == (400, 300)
    assert line.in_side == "right" and line.band_px == 10
    assert (
        "line: {start: [400, 100], end: [400, 300], in_side: right}"
        in (session.config_dir / "branches.yaml").read_text()
    )


def test_a_bad_save_is_422_with_the_reason_and_writes_nothing(session: SetupSession) -> None:
    path = session.config_dir / "branches.yaml"
    before = path.read_text()
    response = post(client(session), session, shapes_payload({**POLYGON, "points": [[1, 1], [2, 2], [3, 999]]}))

    assert response.status_code == 422 and "outside the 768x576 frame" in response.json()["error"]
    assert path.read_text() == before


def test_a_point_past_floats_range_is_422_not_a_server_error(session: SetupSession) -> None:
    path = session.config_dir / "branches.yaml"
    before = path.read_text()
    body = '{"shapes": [{"kind": "region", "geometry": "polygon", "points": [[1, 1], [1%s, 2], [3, 3]]}]}' % ("0" * 400)
    response = client(session).post(
        "/api/shapes",
        content=body.encode(),
        headers={"X-Setup-Token": session.token, "Content-Type": "application/json"},
    )

    assert response.status_code == 422 and "is outside the 768x576 frame" in response.json()["error"]
    assert path.read_text() == before


def test_a_config_broken_by_hand_is_503_with_the_reason_not_a_server_error(session: SetupSession) -> None:
    path = session.config_dir / "branches.yaml"
    path.write_text(path.read_text().replace("capacity: 40 ", "capacity: -4 ", 1))

    response = client(session).get("/api/setup")

    assert response.status_code == 503, response.text
    assert 'branch "b1": capacity must be > 0, got -4' in response.json()["error"]


def test_a_config_with_several_problems_words_its_next_step_as_the_cli(session: SetupSession) -> None:
    # the page is what `retail-intel setup` opens, but it said "(validate_config lists them)", the
    # library's words, where every other place a user reads says to run retail-intel validate
    path = session.config_dir / "branches.yaml"
    text = path.read_text().replace("capacity: 40 ", "capacity: -4 ", 1)
    path.write_text(text.replace("timezone: Europe/London ", "timezone: Mars/Base ", 1))

    response = client(session).get("/api/setup")

    assert response.status_code == 503, response.text
    error = response.json()["error"]
    assert error.endswith("(run retail-intel validate to list them)") and "validate_config" not in error, error


def test_json_nested_too_deeply_is_400_not_a_server_error(session: SetupSession) -> None:
    path = session.config_dir / "branches.yaml"
    before = path.read_text()
    body = '{"shapes": ' + "[" * 100_000 + "]" * 100_000 + "}"
    response = client(session).post(
        "/api/shapes",
        content=body.encode(),
        headers={"X-Setup-Token": session.token, "Content-Type": "application/json"},
    )

    assert response.status_code == 400 and "nested too deeply" in response.json()["error"]
    assert path.read_text() == before


def test_saving_needs_the_token_json_and_a_local_host(session: SetupSession) -> None:
    c = client(session)
    assert c.post("/api/shapes", json=shapes_payload(POLYGON)).status_code == 403
    assert post(c, session, shapes_payload(POLYGON), **{"X-Setup-Token": "guess"}).status_code == 403
    form = c.post(
        "/api/shapes", content=b"shapes=1", headers={"X-Setup-Token": session.token, "Content-Type": "text/plain"}
    )
    assert (
        form.status_code == 415 and form.json()["error"] == "expected Content-Type application/json, got 'text/plain'"
    )
    # media types are case-insensitive: this one was refused as not JSON
    shouted = post(c, session, shapes_payload(POLYGON), **{"Content-Type": "Application/JSON"})
    assert shouted.status_code == 200, shouted.text
    rebound = Client(session, base_url="http://evil.example:8123")
    assert rebound.get("/api/setup").status_code == 403


@pytest.mark.parametrize("host", ["LOCALHOST:8000", "Localhost:8000", "localhost", "127.0.0.1:8123", "[::1]:8000"])
def test_a_local_host_in_any_case_is_this_machine(session: SetupSession, host: str) -> None:
    # host names are case-insensitive (RFC 9110): "LOCALHOST:8000" typed into a browser was refused
    assert client(session).request("GET", "/api/setup", headers={"Host": host}).status_code == 200


@pytest.mark.parametrize("host", ["EVIL.example:8000", "localhost.evil.example:8000", "LOCALHOST.evil.example", ""])
def test_another_host_in_any_case_is_refused(session: SetupSession, host: str) -> None:
    response = client(session).request("GET", "/api/setup", headers={"Host": host})
    assert response.status_code == 403 and f"refused: Host {host!r}" in response.text


def test_without_a_picture_the_error_says_how_to_get_one(config_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="give a video of the camera, or process one first"):
        latest_picture(tmp_path, "b1", "vtest")
    with pytest.raises(ConfigError, match='no camera "nope"'):
        setup_session(config_dir, tmp_path, "b1", "nope")


@pytest.mark.parametrize("url", ["rtsp://admin:secret@10.0.0.7:554/stream1", "http://admin:secret@10.0.0.7/cam"])
def test_a_stream_url_as_video_says_how_to_get_a_picture_without_its_password(
    config_dir: Path, tmp_path: Path, url: str
) -> None:
    # the URL became a path ('rtsp:/admin:secret@...'): "no such video file", the password shown
    with pytest.raises(VideoError) as caught:
        setup_session(config_dir, tmp_path, "b1", "vtest", video=Path(url))
    message = str(caught.value)
    assert message.startswith(url.replace("admin:secret@", "") + ": a stream URL, not a video file")
    assert "secret" not in message and "--max-frames" not in message  # the library names no command
    assert "--max-frames 25` keeps the camera's picture" in caught.value.worded_for({}, COMMAND_STEPS)


def test_a_preview_runs_picture_will_do(config_dir: Path, tmp_path: Path) -> None:
    # `process --max-frames 15` keeps its picture under previews/; setup then said "process one first"
    data_dir = tmp_path / "data"
    write_picture(data_dir / "previews")
    session = setup_session(config_dir, data_dir, "b1", "vtest")
    assert (session.picture.width, session.picture.height) == (W, H)
    assert session.picture.source == "vtest.jpg (latest picture, of a --max-frames preview)"
    # a full run's picture wins
    write_picture(data_dir)
    assert setup_session(config_dir, data_dir, "b1", "vtest").picture.source == "vtest.jpg (latest picture)"


def test_a_video_frame_is_the_picture(config_dir: Path, tmp_path: Path) -> None:
    session = setup_session(config_dir, tmp_path, "b1", None, video=SAMPLE_VIDEO, at_s=2.0)

    assert (session.camera_id, session.picture.width, session.picture.height) == ("vtest", W, H)
    assert session.picture.data[:2] == b"\xff\xd8"  # JPEG
    assert "frame 14" in session.picture.source  # 2 s at the config's 7 fps


# ---- the command line and the server's port ----------------------------------------------------------


def test_cli_help_and_a_missing_picture(
    config_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.cli_helpers import run_cli

    shown = run_cli(["setup", "--help"], capsys, monkeypatch)
    assert shown.exit_code == 0 and "Example: retail-intel setup --branch b1 --camera vtest" in shown.stdout
    result = run_cli(
        ["setup", "--branch", "b1", "--config", str(config_dir), "--data-dir", str(tmp_path), "--no-open"],
        capsys,
        monkeypatch,
    )
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        f"error: no picture of camera vtest at {tmp_path}/frames/b1/vtest.jpg: give a VIDEO of the camera "
        "(retail-intel setup --branch b1 --camera vtest VIDEO), or process one first"
    ]


def test_at_without_a_video_is_refused_not_ignored(
    config_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # `setup --branch b1 --at 5s` served the stored picture and dropped --at without a word
    import retail_intel.camsetup
    from tests.cli_helpers import run_cli

    write_picture(tmp_path)
    served: list[object] = []
    monkeypatch.setattr(retail_intel.camsetup, "run_setup", lambda session, **kw: served.append(session))
    args = ["setup", "--branch", "b1", "--config", str(config_dir), "--data-dir", str(tmp_path), "--no-open"]
    result = run_cli([*args, "--at", "5s"], capsys, monkeypatch)
    assert result.exit_code == 1 and not served
    assert result.stderr.strip().splitlines() == [
        "error: --at 5s: needs a VIDEO to take the frame from (retail-intel setup --branch b1 VIDEO --at 5s); "
        "without one the page shows the camera's latest picture"
    ]
    assert run_cli(args, capsys, monkeypatch).exit_code == 0 and len(served) == 1  # the picture, as before


def test_a_bad_or_busy_port_is_refused(session: SetupSession) -> None:
    import socket

    from retail_intel.camsetup import run_setup

    # named port, the parameter; the setup command passes its flag (the test below)
    with pytest.raises(InputError, match=r"^port: expected 0 to 65535, got 70000"):
        run_setup(session, port=70000)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        with pytest.raises(InputError, match=f"^port {taken}: cannot listen on 127.0.0.1:{taken}"):
            run_setup(session, port=taken)
        with pytest.raises(InputError, match=f"^--port {taken}: cannot listen on 127.0.0.1:{taken}"):
            run_setup(session, port=taken, names={"port": "--port"})


def test_the_setup_command_names_its_port_flag(
    config_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.cli_helpers import run_cli

    write_picture(tmp_path)
    args = ["setup", "--branch", "b1", "--config", str(config_dir), "--data-dir", str(tmp_path), "--no-open"]
    result = run_cli([*args, "--port", "70000"], capsys, monkeypatch)
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == ["error: --port: expected 0 to 65535, got 70000"]


def test_the_server_answers_on_the_url_it_reports(session: SetupSession) -> None:
    import threading
    import time
    import urllib.request

    from retail_intel.camsetup import setup_server

    server, sock, url = setup_server(session, port=0)
    assert url.startswith("http://127.0.0.1:") and url.endswith("/")
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "the setup server did not start"
            time.sleep(0.05)
        with urllib.request.urlopen(url + "api/setup") as response:
            assert json.loads(response.read())["camera"] == "vtest"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


def test_on_a_phone_the_panel_goes_under_the_picture(session: SetupSession) -> None:
    # Before, the 320 px panel kept its place beside the picture on a phone (390 px): the camera's
    # picture, the drawing area, shrank to a thumbnail some 20 px wide. Narrow screens now stack them.
    css = client(session).get("/static/setup.css").text
    narrow = re.search(r"@media \(max-width: (\d+)px\) \{(.*)\}\s*$", css, flags=re.S)
    assert narrow is not None and int(narrow.group(1)) >= 700
    rules = {k.strip(): v for k, v in re.findall(r"([^{}]+)\{([^}]*)\}", narrow.group(2))}
    assert "flex-direction: column" in rules["main"]
    assert "flex: none" in rules["aside"] and "width: 100%" in rules["#stage"]
