"""Which files a batch covers and which branch/camera each belongs to (no video decoding)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from retail_intel.batch.discover import FileJob, Unmapped, batch_kind, discover, map_file
from retail_intel.config.loader import Config, load_config
from retail_intel.errors import InputError

BRANCHES = """
branches:
  - id: b1
    name: High Street
    capacity: 10
    timezone: Europe/Berlin
    cameras:
      - id: door
        roi: [100, 80, 220, 200]
        filename_pattern: "door_%Y%m%d_%H%M%S"
      - id: till
        roi: [0, 0, 100, 100]
        filename_pattern: "till-%Y%m%d-%H%M"
  - id: b2
    name: Station
    capacity: 10
    cameras:
      - id: entrance
        roi: [0, 0, 100, 100]
  - id: b3
    name: Mall
    capacity: 10
    cameras:
      - id: door
        roi: [0, 0, 100, 100]
        filename_pattern: "door_%Y%m%d_%H%M%S"
"""


@pytest.fixture
def config(tmp_path: Path) -> Config:
    directory = tmp_path / "config"
    directory.mkdir()
    (directory / "branches.yaml").write_text(BRANCHES)
    return load_config(directory)


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return path


def test_kinds(tmp_path: Path) -> None:
    folder = tmp_path / "archive"
    folder.mkdir()
    assert batch_kind(str(folder)) == "folder"
    assert batch_kind(str(folder / "*" / "*.mp4")) == "glob"
    assert batch_kind(str(tmp_path / "night.csv")) == "manifest"
    assert batch_kind(str(tmp_path / "night.txt")) == "manifest"
    assert batch_kind(str(tmp_path / "cam.mp4")) is None
    assert batch_kind("rtsp://10.0.0.5/stream1") is None


def test_folder_layout_maps_branch_and_camera(tmp_path: Path, config: Config) -> None:
    archive = tmp_path / "archive"
    touch(archive / "b1" / "till" / "anything.mp4")
    touch(archive / "b2" / "entrance" / "x.avi")
    touch(archive / "b1" / "till" / "notes.txt")  # not a video
    touch(archive / "b1" / "till" / ".partial.mp4")  # hidden
    found = discover(str(archive), config)
    assert found.kind == "folder" and not found.problems
    mapped = {(j.video.name, j.branch, j.camera) for j in found.jobs}
    assert mapped == {("anything.mp4", "b1", "till"), ("x.avi", "b2", "entrance")}
    assert all(j.camera_in_config and "folder layout" in j.mapped_by for j in found.jobs)


def test_file_name_pattern_maps_files_anywhere(tmp_path: Path, config: Config) -> None:
    archive = tmp_path / "archive"
    touch(archive / "b1" / "till-20260208-0900.mp4")
    touch(archive / "b3" / "door_20260208_100000.mp4")  # door pattern of b1 and b3: the folder decides
    touch(archive / "flat" / "till-20260208-1000.mp4")
    jobs = {j.video.name + j.video.parent.name: j for j in discover(str(archive), config).jobs}
    assert (jobs["till-20260208-0900.mp4b1"].branch, jobs["till-20260208-0900.mp4b1"].camera) == ("b1", "till")
    assert (jobs["door_20260208_100000.mp4b3"].branch, jobs["door_20260208_100000.mp4b3"].camera) == ("b3", "door")
    flat = jobs["till-20260208-1000.mp4flat"]
    assert (flat.branch, flat.camera) == ("b1", "till") and "pattern" in flat.mapped_by


def test_a_branch_folder_with_one_camera_needs_no_pattern(tmp_path: Path, config: Config) -> None:
    mapped = map_file(touch(tmp_path / "b2" / "whatever.mp4"), config)
    assert isinstance(mapped, FileJob) and (mapped.branch, mapped.camera) == ("b2", "entrance")


def test_ambiguous_and_unmapped_files_are_reported_not_guessed(tmp_path: Path, config: Config) -> None:
    ambiguous = map_file(touch(tmp_path / "flat" / "door_20260208_100000.mp4"), config)
    assert isinstance(ambiguous, Unmapped)
    assert "several" in ambiguous.reason and "b1/door" in ambiguous.reason and "b3/door" in ambiguous.reason
    unknown = map_file(touch(tmp_path / "flat" / "clip.mp4"), config)
    assert isinstance(unknown, Unmapped)
    assert "<branch>/<camera>/" in unknown.reason and "till-%Y%m%d-%H%M" in unknown.reason


def test_glob_takes_only_matching_videos(tmp_path: Path, config: Config) -> None:
    archive = tmp_path / "archive"
    touch(archive / "b1" / "door" / "door_20260208_100000.mp4")
    touch(archive / "b1" / "till" / "till-20260208-0900.mp4")
    touch(archive / "b1" / "door" / "door_20260208_100000.txt")
    found = discover(str(archive / "*" / "door" / "*"), config)
    assert found.kind == "glob"
    assert [j.video.name for j in found.jobs] == ["door_20260208_100000.mp4"]


def test_symlinked_videos_map_by_their_own_folders_and_names(tmp_path: Path, config: Config) -> None:
    # an archive of links into the recorder's store: the store's folders (nvr/ch01) name no camera
    store = tmp_path / "nvr" / "ch01"
    rec1, rec2 = touch(store / "rec0001.mp4"), touch(store / "rec0002.mp4")
    archive = tmp_path / "archive"
    (archive / "b1" / "door").mkdir(parents=True)
    (archive / "b1" / "door" / "a.mp4").symlink_to(rec1)
    (archive / "flat").mkdir()
    (archive / "flat" / "till-20260208-0900.mp4").symlink_to(rec2)  # the link's name matches a pattern
    (tmp_path / "night.txt").write_text("archive/b1/door/a.mp4\n")

    for source in (str(archive), str(archive / "*" / "*" / "*.mp4"), str(tmp_path / "night.txt")):
        found = discover(source, config)
        assert not found.problems, source
        by_name = {j.video.name: j for j in found.jobs}
        door = by_name["a.mp4"]
        assert (door.branch, door.camera) == ("b1", "door") and "folder layout b1/door/" in door.mapped_by
        assert door.video == archive / "b1" / "door" / "a.mp4" and door.video.resolve() == rec1
    till = map_file(archive / "flat" / "till-20260208-0900.mp4", config)
    assert isinstance(till, FileJob) and (till.branch, till.camera) == ("b1", "till")


def test_a_glob_takes_a_file_once_whichever_links_name_it(tmp_path: Path, config: Config) -> None:
    video = touch(tmp_path / "b1" / "door" / "a.mp4")
    (tmp_path / "b1" / "door" / "b.mp4").symlink_to(video)
    found = discover(str(tmp_path / "b1" / "door" / "*.mp4"), config)
    assert [j.video.name for j in found.jobs] == ["a.mp4"]


def test_empty_sources_stop_before_starting(tmp_path: Path, config: Config) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no video files"):
        discover(str(tmp_path / "empty"), config)
    with pytest.raises(InputError, match="matches nothing"):
        discover(str(tmp_path / "nope" / "*.mp4"), config)


def test_a_video_named_like_a_manifest_says_it_is_not_text(tmp_path: Path, config: Config) -> None:
    # a video saved as cam.txt said "cannot read the manifest ('utf-8' codec can't decode byte 0xfb in
    # position 42: invalid start byte)"
    video = tmp_path / "cam.txt"
    video.write_bytes(b"RIFF\x00\x10\x00\x00AVI LIST\xfb\xff" + bytes(range(256)))
    with pytest.raises(InputError) as caught:
        discover(str(video), config)
    assert str(caught.value) == (
        f"{video}: read as a batch manifest (a .txt file), but it is not text (byte 16 is not UTF-8); "
        "a video needs its own extension, such as .mp4"
    )


def test_text_manifest_paths_are_relative_to_it(tmp_path: Path, config: Config) -> None:
    touch(tmp_path / "footage" / "b1" / "door" / "a.mp4")
    touch(tmp_path / "footage" / "till-20260208-0900.mp4")
    manifest = tmp_path / "lists" / "night.txt"
    manifest.parent.mkdir()
    manifest.write_text("# tonight\n../footage/b1/door/a.mp4\n\n../footage/till-20260208-0900.mp4\n")
    found = discover(str(manifest), config)
    assert found.kind == "manifest" and not found.problems
    assert [(j.branch, j.camera) for j in found.jobs] == [("b1", "door"), ("b1", "till")]
    assert found.jobs[0].video == (tmp_path / "footage" / "b1" / "door" / "a.mp4").resolve()


def test_a_hash_inside_a_text_manifest_line_is_part_of_the_name_as_documented(tmp_path: Path, config: Config) -> None:
    # docs/batch.md said "`#` starts a comment", so `a.mp4  # door` read as a.mp4; only a line's first `#` is one
    doc = (Path(__file__).resolve().parents[1] / "docs" / "batch.md").read_text(encoding="utf-8")
    assert "a line starting with `#` is a comment" in doc and "(`#` starts a comment)" not in doc
    touch(tmp_path / "footage" / "b1" / "door" / "clip #2.mp4")
    manifest = tmp_path / "night.txt"
    manifest.write_text("# tonight\nfootage/b1/door/clip #2.mp4\n  # indented comment\n")
    found = discover(str(manifest), config)
    assert not found.problems and [j.video.name for j in found.jobs] == ["clip #2.mp4"]


def test_csv_manifest_rows_set_branch_camera_start_and_settings(tmp_path: Path, config: Config) -> None:
    manifest = tmp_path / "night.csv"
    manifest.write_text(
        "path,branch,camera,start,roi,imgsz\n"
        "clips/a.mp4,b1,door,2026-02-08T10:00:00+01:00,,\n"
        "clips/b.mp4,b2,street,2026-02-08T09:00:00Z,10,10,200,200,960\n"
        "clips/c.mp4,b2,street,,,\n"
        "clips/d.mp4,b9,door,,,\n"
        "clips/e.mp4,b1,door,yesterday,,\n"
    )
    # an unquoted roi would split: quote it as CSV does
    manifest.write_text(manifest.read_text().replace("10,10,200,200,960", '"10,10,200,200",960'))
    found = discover(str(manifest), config)
    jobs = {j.video.name: j for j in found.jobs}
    a, b = jobs["a.mp4"], jobs["b.mp4"]
    assert (a.branch, a.camera, a.camera_in_config) == ("b1", "door", True)
    assert a.start_time == dt.datetime(2026, 2, 8, 9, 0, tzinfo=dt.UTC)
    # a camera the config lacks is fine when the row gives its region
    assert (b.branch, b.camera, b.camera_in_config) == ("b2", "street", False)
    assert dict(b.settings) == {"roi": "10,10,200,200", "imgsz": "960"}
    problems = {p.video.name: p.reason for p in found.problems}
    assert set(problems) == {"c.mp4", "d.mp4", "e.mp4"}
    assert "line 4" in problems["c.mp4"] and "roi or zone" in problems["c.mp4"]
    assert "unknown branch 'b9'" in problems["d.mp4"]
    assert "start" in problems["e.mp4"] and "yesterday" in problems["e.mp4"]


def test_csv_manifest_with_an_unknown_column_is_refused(tmp_path: Path, config: Config) -> None:
    manifest = tmp_path / "night.csv"
    manifest.write_text("path,brnch\na.mp4,b1\n")
    with pytest.raises(InputError, match=r"unknown column.*brnch"):
        discover(str(manifest), config)


@pytest.mark.parametrize(
    ("header", "named"),
    [
        ("path,branch,camera,start,start", r"names start \(2 columns\) more than once"),
        ("path,Branch,branch", r"names branch \(2 columns\) more than once"),
        ("path,file,branch", r"several path columns \(path, file\); keep one path column"),
    ],
)
def test_csv_manifest_with_a_column_twice_is_refused(tmp_path: Path, config: Config, header: str, named: str) -> None:
    # a spreadsheet with two start columns must not have one of them silently win
    manifest = tmp_path / "night.csv"
    cells = ",".join(
        ["a.mp4", "b1", "door", "2026-02-08T10:00:00+01:00", "2026-02-08T11:00:00+01:00"][: header.count(",") + 1]
    )
    manifest.write_text(f"{header}\n{cells}\n")
    with pytest.raises(InputError, match=rf"night\.csv: .*{named}"):
        discover(str(manifest), config)


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ('path,camera\n"clip one.mp4,door\nclip two.mp4,door\n', 2, "opens a quote that it does not close"),
        ('path,camera\n# tonight\n\nclip one.mp4,door\n"clip two.mp4,door\n', 5, "opens a quote"),  # the last
        ('path,camera\n"clip" one.mp4,door\n', 2, "expected after"),
        ('"path,camera\nclip.mp4,door\n', 1, "opens a quote"),
    ],
)
def test_csv_manifest_with_a_stray_quote_names_its_line(
    tmp_path: Path, config: Config, text: str, line: int, reason: str
) -> None:
    manifest = tmp_path / "night.csv"
    manifest.write_text(text)
    with pytest.raises(InputError, match=rf"night\.csv: line {line} is not a CSV row \(.*{reason}"):
        discover(str(manifest), config)


def test_csv_manifest_fields_may_be_quoted(tmp_path: Path, config: Config) -> None:
    touch(tmp_path / "clip, one.mp4")
    (tmp_path / "night.csv").write_text('path,branch,camera\n"clip, one.mp4",b1,"door"\n')
    found = discover(str(tmp_path / "night.csv"), config)
    assert [(j.video.name, j.camera, j.mapped_by) for j in found.jobs] == [
        ("clip, one.mp4", "door", "night.csv line 2")
    ]
