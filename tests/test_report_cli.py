"""``retail-intel report`` through the real console entry point."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.cli_helpers import CliResult, run_cli
from tests.report_fixtures import make_report_site, read_tables
from tests.test_serve_support import Site


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    return make_report_site(tmp_path_factory.mktemp("report-cli"))


def report(site: Site, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str) -> CliResult:
    common = ["--config", str(site.config_dir), "--data-dir", str(site.data_dir)]
    return run_cli(["report", *args, *common], capsys, monkeypatch)


def test_writes_the_html_file_and_says_what_it_holds(
    site: Site, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "report.html"
    result = report(site, capsys, monkeypatch, "--branch", "b1", "--date", "2026-03-02", "-o", str(target))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == str(target)
    assert "4 visitors, 3 passers-by, conversion 57%, peak occupancy 2 of 40; 1 heatmap;" in result.stderr
    tables, cards = read_tables(target.read_text())
    assert cards["visitors"] == "4" and len(tables["kpi-table"]) == 4


def test_png_charts_into_a_folder(
    site: Site, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    result = report(
        site, capsys, monkeypatch, "-b", "b1", "-d", "2026-03-02", "--format", "png", "-o", str(tmp_path / "png")
    )
    assert result.exit_code == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "png").iterdir()) == [
        "conversion.png", "dwell.png", "heatmap-vtest.png", "occupancy.png", "traffic.png",
    ]  # fmt: skip
    assert len(result.stdout.split()) == 5


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--branch", "b1", "--date", "2026-3-2"], "--date: expected a date YYYY-MM-DD, got '2026-3-2'"),
        (["--branch", "b1", "--date", "2026-03-09"], "no movements for branch b1 on 2026-03-09"),
        (["--branch", "nope"], 'unknown branch "nope"'),
        (["--branch", "b1", "--date", "2026-03-02", "--to", "2026-03-01"], "must not be before the first"),
        # said "expected a day between 1970-01-01 and 9998-12-31, got ..." without naming the option
        (["--branch", "b1", "--date", "0001-01-01"], "--date 0001-01-01: expected a day between 1970-01-01 and"),
        (["--branch", "b1", "--to", "9999-01-01"], "--to 9999-01-01: expected a day between 1970-01-01 and"),
        (["-b", "b1", "-d", "2026-03-02", "--to", "9999-01-01"], "--to 9999-01-01: expected a day between"),
        # wrote a 515 kB file literally named "-" (sql, kpis and tracks read -o - as stdout)
        (["--branch", "b1", "--date", "2026-03-02", "-o", "-"], "-o -: the report is written to files, not stdout"),
    ],
)
def test_bad_input_is_one_line_error(
    site: Site, args: list[str], message: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    result = report(site, capsys, monkeypatch, *args)
    assert result.exit_code == 1
    assert message in result.stderr and "Traceback" not in result.stderr


def test_html_into_a_png_name_is_refused(
    site: Site, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # wrote the HTML page into report.png without a word
    target = tmp_path / "report.png"
    result = report(site, capsys, monkeypatch, "-b", "b1", "-d", "2026-03-02", "-o", str(target))
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "report.png: --format html writes one HTML page, not a .png file; name it report.html" in result.stderr
    assert "or use --format png" in result.stderr
    assert not target.exists()


@pytest.mark.parametrize("fmt", ["html", "png"])
def test_an_output_below_a_file_names_the_file_in_the_way(
    site: Site, fmt: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # said "cannot be written (File exists)" for html and "Not a directory" for png, after drawing it all
    blocker = tmp_path / "notes"
    blocker.write_text("a file")
    target = blocker / "sub" / ("r.html" if fmt == "html" else "charts")
    result = report(site, capsys, monkeypatch, "-b", "b1", "-d", "2026-03-02", "-f", fmt, "-o", str(target))
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    assert f"{target}: cannot be written, {blocker} is a file, not a folder" in result.stderr
    assert blocker.read_text() == "a file"


def test_a_write_below_a_file_names_the_file_in_the_way(tmp_path: Path) -> None:
    from retail_intel.errors import WriteError
    from retail_intel.storage import atomic_write_bytes, make_folder

    blocker = tmp_path / "notes"
    blocker.write_text("a file")
    for target in (blocker / "r.json", blocker / "sub" / "r.json"):
        with pytest.raises(WriteError, match=re.escape(f"cannot be written ({blocker} is a file, not a folder)")):
            atomic_write_bytes(b"{}", target)
    with pytest.raises(WriteError, match="is a file, not a folder"):
        make_folder(blocker)
    with pytest.raises(WriteError, match=re.escape(f"{blocker} is a file, not a folder")):
        make_folder(blocker / "sub")


def test_help_explains_and_has_an_example(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    result = run_cli(["report", "--help"], capsys, monkeypatch)
    assert result.exit_code == 0
    assert "self-contained" in result.stdout or "no network" in result.stdout
    assert "retail-intel report --branch b1 --date 2026-02-08 -o report.html" in result.stdout
