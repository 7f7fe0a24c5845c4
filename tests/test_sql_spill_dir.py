"""``sql`` cannot read DuckDB's temp directory: spill files go to a private folder, not ``<cwd>/.tmp``."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from retail_intel.errors import InputError
from retail_intel.sqlviews import open_database, run_query
from retail_intel.sqlviews.spill import private_spill_dir
from tests.cli_helpers import run_cli

BRANCHES = """\
branches:
  - {id: b1, name: One, capacity: 40}
"""


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "config"
    directory.mkdir()
    (directory / "branches.yaml").write_text(BRANCHES)
    return directory


@pytest.fixture
def cwd_with_tmp_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    work = tmp_path / "work"
    (work / ".tmp").mkdir(parents=True)
    (work / ".tmp" / "secret.csv").write_text("token\nhunter2\n")
    monkeypatch.chdir(work)
    return work


@pytest.mark.parametrize(
    "reader",
    ["read_csv('.tmp/secret.csv')", "read_text('.tmp/secret.csv')", "glob('.tmp/*')"],
)
def test_the_current_directorys_tmp_folder_cannot_be_read(
    config_dir: Path, tmp_path: Path, cwd_with_tmp_secret: Path, reader: str
) -> None:
    con = open_database(config_dir, tmp_path / "data")
    try:
        with pytest.raises(InputError, match=r"(?i)permission|disabled"):
            run_query(con, f"SELECT * FROM {reader}")
        # The same with the absolute path: the folder is simply not among the allowed ones.
        with pytest.raises(InputError, match=r"(?i)permission|disabled"):
            run_query(con, f"SELECT * FROM read_csv('{cwd_with_tmp_secret / '.tmp' / 'secret.csv'}')")
    finally:
        con.close()


def test_the_sql_command_refuses_it_with_one_line(
    config_dir: Path,
    tmp_path: Path,
    cwd_with_tmp_secret: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    result = run_cli(
        [
            "sql",
            "--config",
            str(config_dir),
            "--data-dir",
            str(tmp_path / "data"),
            "SELECT * FROM read_csv('.tmp/secret.csv')",
        ],
        capsys,
        monkeypatch,
    )
    assert result.exit_code == 1
    assert "hunter2" not in result.stdout + result.stderr
    assert result.stderr.strip().startswith("error:")


def test_duckdb_spills_to_a_private_folder_outside_the_current_directory(
    config_dir: Path, tmp_path: Path, cwd_with_tmp_secret: Path
) -> None:
    con = open_database(config_dir, tmp_path / "data")
    try:
        (setting,) = con.execute("SELECT current_setting('temp_directory')").fetchone() or ("",)
    finally:
        con.close()
    folder = Path(setting)
    assert folder == private_spill_dir()
    assert folder.is_absolute() and not folder.is_relative_to(cwd_with_tmp_secret)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
