"""Killing a real batch run (kill -9, Ctrl-C) and running it again loses nothing and duplicates nothing.

The batch runs in a subprocess with two worker processes and a detector slowed
down so the kill lands mid-batch; the rerun's movements must equal those of an
uninterrupted run, row for row (customer ids included).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from retail_intel.batch.ledger import DONE, Ledger, ledger_path
from retail_intel.storage import MOVEMENTS_DIR

from .batch_fakes import DELAY_ENV
from .batch_helpers import batch, make_archive, make_config, n_movement_files, rows

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = """
import sys
from pathlib import Path
from retail_intel.batch.request import BatchRequest
from retail_intel.batch.runner import run_batch
from tests.batch_helpers import RUNTIME

if __name__ == "__main__":
    root = Path(sys.argv[1])
    request = BatchRequest(str(root / "archive"), root / "config", root / "data", workers=2, kpis=False)
    summary = run_batch(request, runtime=RUNTIME)
    sys.exit(summary.exit_code)
"""


def _start(root: Path) -> subprocess.Popen[bytes]:
    script = root / "run_batch.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(ROOT), DELAY_ENV: "0.03"}
    return subprocess.Popen(
        [sys.executable, str(script), str(root)],
        env=env,
        cwd=root,
        start_new_session=True,  # its own process group, as a shell job is
        # Ctrl-C reaches a command started from a terminal; a test run started in the background
        # (`pytest &` in a script) hands its children SIGINT ignored, and the batch ran to its end (exit 0)
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def _done_entries(data: Path) -> int:
    path = ledger_path(data)
    if not path.exists():
        return 0
    return sum(e.status == DONE for e in Ledger.load(data).entries())


def _wait_for_some_done(process: subprocess.Popen[bytes], data: Path, limit_s: float = 120.0) -> None:
    deadline = time.monotonic() + limit_s
    while _done_entries(data) < 2:
        if process.poll() is not None:
            output = process.stdout.read().decode() if process.stdout else ""
            pytest.fail(f"the batch ended before it could be interrupted (exit {process.returncode}): {output}")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail("the batch recorded nothing in time")
        time.sleep(0.05)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    make_config(tmp_path)
    make_archive(tmp_path)
    return tmp_path


@pytest.fixture
def reference(root: Path) -> list[tuple[object, ...]]:
    summary = batch(root / "archive", root, data="reference")
    assert summary.done == 6
    return rows(root / "reference")


def test_kill_9_mid_batch_then_rerun_equals_an_uninterrupted_run(
    root: Path, reference: list[tuple[object, ...]]
) -> None:
    process = _start(root)
    _wait_for_some_done(process, root / "data")
    os.killpg(process.pid, signal.SIGKILL)  # the coordinator and its workers, at once
    process.wait()
    assert process.returncode == -signal.SIGKILL
    assert _done_entries(root / "data") < 6, "the kill came too late to test anything"

    rerun = batch(root / "archive", root)
    assert rerun.exit_code == 0
    assert rerun.skipped >= 2 and rerun.done + rerun.skipped == 6
    assert rows(root / "data") == reference
    assert n_movement_files(root / "data") == 6
    # leftovers of the kill are hidden temporary files, never read as data
    visible = [p for p in (root / "data" / MOVEMENTS_DIR).rglob("*") if p.is_file() and not p.name.startswith(".")]
    assert all(p.suffix == ".parquet" for p in visible)


def test_ctrl_c_stops_cleanly_and_a_rerun_does_the_rest(root: Path, reference: list[tuple[object, ...]]) -> None:
    process = _start(root)
    _wait_for_some_done(process, root / "data")
    os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
    process.wait(timeout=60)
    assert process.returncode == 130
    rerun = batch(root / "archive", root)
    assert rerun.exit_code == 0 and rerun.done + rerun.skipped == 6
    assert rows(root / "data") == reference
