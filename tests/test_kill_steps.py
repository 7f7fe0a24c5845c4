"""kill -9 at every write step of a batch (KPI step included) and of an ingest; a rerun gives the uninterrupted result.

A write step is each call that makes written data durable or visible:
``os.fsync`` (a temporary file's bytes, a ledger line), ``os.replace`` (a
finished file appearing under its name) and ``os.unlink`` (a stale or owed
record going away). The command runs in a subprocess that counts those calls
and sends itself SIGKILL just before the K-th; a first run without a kill
lists them. For every K the rerun must leave exactly the movements, KPIs and
rows of a run that was never interrupted.

The fast batch test kills at the first movement file, the first ledger line
and each step of the KPI bookkeeping; the ``slow`` one at every single step
(34 for this two-segment archive). The ingest test kills at every step.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from retail_intel.batch.pending import pending_path
from retail_intel.ingest import ingest_file
from retail_intel.kpis.store import read_kpis

from .batch_fakes import stayer_and_passers
from .batch_helpers import batch, make_config, rows, write_segments

ROOT = Path(__file__).resolve().parents[1]
KILLER = """
import json, os, signal, sys
from pathlib import Path

KILL_AT = int(sys.argv[1])  # 0: kill nowhere, list the steps
steps = []

def target(name, args):
    if name == "fsync":  # a file descriptor: name the file it writes
        return os.readlink(f"/proc/self/fd/{args[0]}")
    return str(args[1] if name == "replace" else args[0])

def counted(name, real):
    def step(*args, **kwargs):
        steps.append([name, target(name, args)])
        if len(steps) == KILL_AT:
            os.kill(os.getpid(), signal.SIGKILL)
        return real(*args, **kwargs)
    return step

if __name__ == "__main__":
    root = Path(sys.argv[2])
    what = sys.argv[3]
    real_replace, real_fsync, real_unlink = os.replace, os.fsync, os.unlink
    os.replace = counted("replace", os.replace)
    os.fsync = counted("fsync", os.fsync)
    os.unlink = counted("unlink", os.unlink)
    if what == "batch":
        from retail_intel.batch.request import BatchRequest
        from retail_intel.batch.runner import run_batch
        from tests.batch_helpers import RUNTIME
        request = BatchRequest(str(root / "archive"), root / "config", root / "data", workers=1, kpis=True)
        code = run_batch(request, runtime=RUNTIME).exit_code
    else:
        from retail_intel.ingest import ingest_file
        ingest_file(root / "events.jsonl", config_dir=root / "config", data_dir=root / "data")
        code = 0
    os.replace, os.fsync, os.unlink = real_replace, real_fsync, real_unlink
    (root / "steps.json").write_text(json.dumps(steps))
    sys.exit(code)
"""


def _run(root: Path, what: str, kill_at: int) -> subprocess.CompletedProcess[bytes]:
    script = root / "killer.py"
    script.write_text(KILLER)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, str(script), str(kill_at), str(root), what],
        cwd=root,
        env=env,
        capture_output=True,
        timeout=300,
    )


def _steps(root: Path, what: str) -> list[tuple[str, str]]:
    done = _run(root, what, 0)
    assert done.returncode == 0, done.stderr.decode()
    return [(name, path) for name, path in json.loads((root / "steps.json").read_text())]


def _kind(step: tuple[str, str]) -> str:
    """A step without the file's own name: "replace movements", "fsync ledger/ledger.jsonl"."""
    name, path = step
    inside = Path(path.rsplit("/data/", 1)[-1]).parts
    if inside[0] != "ledger" or inside[1] == "carry":
        return f"{name} {inside[0]}"
    base = re.sub(r"\.[^.]+\.tmp$", "", inside[1].lstrip("."))  # a temporary file names its target
    return f"{name} ledger/{base}"


# The kills of the fast test: the first movement file, the first ledger line, and every
# step of the KPI bookkeeping (owed record written, KPI file replaced, owed record removed).
FAST_KINDS = (
    "replace movements",
    "fsync ledger/ledger.jsonl",
    "replace ledger/kpis-pending.json",
    "replace kpis",
    "unlink ledger/kpis-pending.json",
)


def _first_of_kinds(steps: list[tuple[str, str]], kinds: tuple[str, ...]) -> list[int]:
    seen: dict[str, int] = {}
    for number, step in enumerate(steps, start=1):
        seen.setdefault(_kind(step), number)
    missing = [k for k in kinds if k not in seen]
    assert not missing, f"no step of kind {missing} among {sorted(seen)}"
    return sorted(seen[k] for k in kinds)


def _kpi_rows(data_dir: Path) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = read_kpis(data_dir).drop_columns(["computed_at"]).to_pylist()
    return found


def _batch_root(root: Path) -> Path:
    make_config(root)
    write_segments(root / "archive" / "b1" / "door", "door", stayer_and_passers, count=2)
    return root


@pytest.fixture(scope="module")
def batch_case(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[tuple[str, str]], Any]:
    """The archive, the write steps of an uninterrupted batch, and its result."""
    root = _batch_root(tmp_path_factory.mktemp("batch-steps"))
    steps = _steps(root, "batch")
    expected = (rows(root / "data"), _kpi_rows(root / "data"))
    assert expected[0] and expected[1], "the reference batch wrote no movements or no KPIs"
    assert any("kpis" in path for _, path in steps), "the KPI step wrote nothing"
    return root, steps, expected


def _kill_batch_then_rerun(batch_case: tuple[Path, list[tuple[str, str]], Any], kill_at: int, tmp_path: Path) -> None:
    source, steps, expected = batch_case
    root = _batch_root(tmp_path)
    assert _steps_match(source, root)
    killed = _run(root, "batch", kill_at)
    assert killed.returncode == -signal.SIGKILL, f"step {kill_at} {steps[kill_at - 1]}: {killed.stderr.decode()}"

    rerun = batch(root / "archive", root, kpis=True)
    assert rerun.exit_code == 0
    assert (rows(root / "data"), _kpi_rows(root / "data")) == expected, f"killed before step {steps[kill_at - 1]}"
    assert not pending_path(root / "data").exists()  # the owed KPIs were paid


def _steps_match(source: Path, root: Path) -> bool:
    return sorted(p.name for p in (source / "archive" / "b1" / "door").iterdir()) == sorted(
        p.name for p in (root / "archive" / "b1" / "door").iterdir()
    )


def test_kill_9_at_the_movement_ledger_and_kpi_steps_of_a_batch_then_rerun(
    batch_case: tuple[Path, list[tuple[str, str]], Any], tmp_path_factory: pytest.TempPathFactory
) -> None:
    _, steps, _ = batch_case
    for kill_at in _first_of_kinds(steps, FAST_KINDS):
        _kill_batch_then_rerun(batch_case, kill_at, tmp_path_factory.mktemp(f"kill-{kill_at}"))


@pytest.mark.slow
def test_kill_9_at_every_batch_write_step_then_rerun(
    batch_case: tuple[Path, list[tuple[str, str]], Any], tmp_path_factory: pytest.TempPathFactory
) -> None:
    _, steps, _ = batch_case
    for kill_at in range(1, len(steps) + 1):
        _kill_batch_then_rerun(batch_case, kill_at, tmp_path_factory.mktemp(f"kill-{kill_at}"))


EVENTS = [
    {
        "customer_id": f"00000000-0000-4000-8000-{n:012d}",
        "branch_id": "b1" if n % 3 else "b2",
        "enter_time": f"2026-02-{8 + n % 2:02d}T10:{n:02d}:00Z",
        "exit_time": f"2026-02-{8 + n % 2:02d}T10:{n:02d}:30Z",
        "action_type": "entered",
    }
    for n in range(12)
] + [{"customer_id": "not-a-uuid", "branch_id": "b1", "enter_time": "x", "exit_time": "y", "action_type": "z"}]
CONFIG = "branches:\n  - {id: b1, name: One, capacity: 10}\n  - {id: b2, name: Two, capacity: 5}\n"


def _ingest_root(root: Path) -> Path:
    (root / "config").mkdir(parents=True, exist_ok=True)
    (root / "config" / "branches.yaml").write_text(CONFIG)
    (root / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in EVENTS))
    return root


def test_kill_9_at_every_ingest_write_step_then_rerun(tmp_path: Path) -> None:
    source = _ingest_root(tmp_path / "reference")
    steps = _steps(source, "ingest")
    expected = rows(source / "data")
    assert len(expected) == 12 and len(steps) >= 5  # four movement files and the rejects file
    for kill_at in range(1, len(steps) + 1):
        root = _ingest_root(tmp_path / f"kill-{kill_at}")
        killed = _run(root, "ingest", kill_at)
        assert killed.returncode == -signal.SIGKILL, killed.stderr.decode()
        result = ingest_file(root / "events.jsonl", config_dir=root / "config", data_dir=root / "data")
        assert rows(root / "data") == expected, f"killed before step {steps[kill_at - 1]}"
        assert result.rejected == 1 and result.rejects_file is not None and result.rejects_file.is_file()
