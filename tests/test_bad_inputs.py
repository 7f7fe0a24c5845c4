"""The bad-input corpus (tests/bad_inputs/): every case ends with one line and a non-zero exit, no traceback.

Each case is run through the real console entry point, in-process. Besides
the exit code and the single line on stderr, the case must lose nothing:
an ingest keeps every good row of the same file (customer ids starting with
``900d``) and stores no other; a bad Parquet file leaves the good movement
file beside it untouched; nothing is written outside the data directory.
See tests/bad_inputs/make_corpus.py for how the cases are made.
"""

from __future__ import annotations

import functools
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import typer

from retail_intel.cli.app import main
from retail_intel.ingest import ingest_file
from retail_intel.movements.store import movement_files, read_movements

CORPUS = Path(__file__).resolve().parent / "bad_inputs"
GOOD_ID = re.compile(r"900d0000-0000-4000-8000-\d{12}")
CONFIG = """branches:
  - id: b1
    name: One
    capacity: 10
    cameras:
      - {id: door, roi: [0, 0, 100, 100]}
  - id: b2
    name: Two
    capacity: 5
"""
GOOD_ROWS = (
    '{"customer_id": "00000000-0000-4000-8000-000000000001", "branch_id": "b1", '
    '"enter_time": "2026-02-08T09:00:00Z", "exit_time": "2026-02-08T09:03:00Z", "action_type": "entered"}\n'
)
# sql reads implausible or mistyped values as they are; only unreadable and foreign files must stop it
SQL_REFUSES = ("unreadable-", "foreign-")


@dataclass(frozen=True)
class Outcome:
    exit_code: int
    stdout: str
    stderr: str


_GET_COMMAND = typer.main.get_command


@functools.cache
def _built_command() -> Any:  # typer's vendored click Command
    from retail_intel.cli.app import _register, app

    _register()
    return _GET_COMMAND(app)


def run(args: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Outcome:
    """The real ``main()``, with Typer's command tree built once for all cases (it costs ~0.5 s a call)."""
    from retail_intel.cli.app import app

    monkeypatch.setattr(typer.main, "get_command", lambda t: _built_command() if t is app else _GET_COMMAND(t))
    monkeypatch.setattr(sys, "argv", ["retail-intel", *args])
    monkeypatch.setenv("COLUMNS", "2000")  # long temporary paths must not wrap the one line
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    captured = capsys.readouterr()
    return Outcome(code, captured.out, captured.err)


def _cases() -> list[object]:
    cases: list[object] = []
    for path in sorted((CORPUS / "config").iterdir()):
        cases.append(pytest.param("config", path, "validate", id=f"config/{path.name}"))
    for path in sorted((CORPUS / "ingest").iterdir()):
        cases.append(pytest.param("ingest", path, "ingest", id=f"ingest/{path.name}"))
    for path in sorted((CORPUS / "parquet").iterdir()):
        commands = ["kpis", "etl", "report"] + (["sql"] if path.name.startswith(SQL_REFUSES) else [])
        cases.extend(pytest.param("parquet", path, c, id=f"parquet/{path.name}-{c}") for c in commands)
    return cases


def _files_under(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize(("kind", "case", "command"), _cases())
def test_a_bad_input_is_one_line_and_a_non_zero_exit_and_loses_nothing(
    kind: str,
    case: Path,
    command: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "branches.yaml").write_text(CONFIG)
    data = tmp_path / "data"
    monkeypatch.chdir(tmp_path)
    common = ["--config", str(config), "--data-dir", str(data)]

    if kind == "config":
        shutil.copyfile(case, config / "branches.yaml")
        result = run(["validate", "--config", str(config)], capsys, monkeypatch)
        problems = [line for line in result.stdout.splitlines() if line.strip()]
        assert len(problems) == 1 and problems[0].startswith("- branches.yaml: "), result.stdout
    elif kind == "ingest":
        result = run(["ingest", str(case), *common, "--format", "json"], capsys, monkeypatch)
        expected = set(GOOD_ID.findall(case.read_bytes().decode("utf-8", errors="replace")))
        stored = set(read_movements(data).column("customer_id").to_pylist()) if data.exists() else set()
        assert stored == expected
    else:
        good = tmp_path / "good.jsonl"
        good.write_text(GOOD_ROWS)
        ingest_file(good, config_dir=config, data_dir=data)
        [good_file] = movement_files(data)
        before = good_file.read_bytes()
        shutil.copyfile(case, good_file.parent / case.name)
        extra = {"sql": ["SELECT count(*) FROM customer_branch_movement"], "report": ["--branch", "b1"]}
        extra["report"] += ["--date", "2026-02-08", "-o", str(tmp_path / "report.html")]
        result = run([command, *extra.get(command, []), *common], capsys, monkeypatch)
        assert case.name in result.stderr  # the one line names the file to move away
        assert good_file.read_bytes() == before

    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code != 0
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    # nothing written outside the data directory (a config case writes nothing at all)
    outside = {p for p in _files_under(tmp_path) if data not in p.parents and config not in p.parents}
    assert outside <= {tmp_path / "good.jsonl"}
