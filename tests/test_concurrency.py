"""Writers running at once into one data directory end with exactly the rows of one sequential run.

Real processes, started together: N ingests of overlapping files, and two
batches of one archive (the blob detector stands in for the model). Both
kinds of writer take a lock on the data directory (retail_intel/locking.py),
so the second one finds the first one's rows and adds nothing twice.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

from retail_intel.batch.ledger import DONE, ledger_path
from retail_intel.ingest import ingest_file
from retail_intel.kpis.store import read_kpis
from retail_intel.movements.store import read_movements

from .batch_fakes import DELAY_ENV
from .batch_helpers import batch, make_archive, make_config, rows

ROOT = Path(__file__).resolve().parents[1]
INGESTS = 4
ROWS_PER_FILE = 300
OVERLAP = 100  # rows each file shares with the next


def _event(n: int) -> dict[str, str]:
    minute = n % 600
    return {
        "customer_id": str(uuid.UUID(int=n + 1)),
        "branch_id": "b1",
        "enter_time": f"2026-02-{8 + n % 2:02d}T{10 + minute // 60:02d}:{minute % 60:02d}:00Z",
        "exit_time": f"2026-02-{8 + n % 2:02d}T{10 + minute // 60:02d}:{minute % 60:02d}:30Z",
        "action_type": "entered" if n % 3 else "passed",
    }


def _overlapping_files(folder: Path) -> list[Path]:
    files = []
    for i in range(INGESTS):
        first = i * (ROWS_PER_FILE - OVERLAP)
        path = folder / f"events-{i}.jsonl"
        path.write_text("".join(json.dumps(_event(n)) + "\n" for n in range(first, first + ROWS_PER_FILE)))
        files.append(path)
    return files


def _people(data_dir: Path) -> list[tuple[Any, ...]]:
    table = read_movements(data_dir)
    keep = ("customer_id", "branch_id", "action_type", "enter_time", "exit_time")
    return sorted(tuple(r[k] for k in keep) for r in table.to_pylist())


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def test_concurrent_ingests_of_overlapping_files_store_each_row_once(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    files = _overlapping_files(tmp_path)
    for path in files:
        ingest_file(path, config_dir=config, data_dir=tmp_path / "sequential")
    expected = _people(tmp_path / "sequential")
    assert len(expected) == INGESTS * ROWS_PER_FILE - (INGESTS - 1) * OVERLAP

    command = "from retail_intel.cli.app import main; main()"
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", command, "ingest", str(path), "--config", str(config), "--data-dir", "data"],
            cwd=tmp_path,
            env=_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for path in files
    ]
    for process in processes:
        _, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stderr.decode()

    stored = _people(tmp_path / "data")
    assert stored == expected  # every row once: no duplicates, none lost


BATCH = """
import json, sys
from pathlib import Path
from retail_intel.batch.request import BatchRequest
from retail_intel.batch.runner import run_batch
from tests.batch_helpers import RUNTIME

if __name__ == "__main__":  # worker processes import this module again
    root = Path(sys.argv[1])
    request = BatchRequest(str(root / "archive"), root / "config", root / "data", workers=2, kpis=True)
    summary = run_batch(request, runtime=RUNTIME)
    print(json.dumps({"done": summary.done, "skipped": summary.skipped, "exit": summary.exit_code}))
"""


def _kpi_rows(data_dir: Path) -> list[dict[str, Any]]:
    """Stored KPI rows without the moment they were computed."""
    found: list[dict[str, Any]] = read_kpis(data_dir).drop_columns(["computed_at"]).to_pylist()
    return found


def test_two_concurrent_batches_of_one_archive_do_the_work_once(tmp_path: Path) -> None:
    make_config(tmp_path)
    make_archive(tmp_path)
    reference = batch(tmp_path / "archive", tmp_path, data="reference", kpis=True)
    assert reference.done == 6

    script = tmp_path / "run_batch.py"
    script.write_text(BATCH)
    env = {**_env(), DELAY_ENV: "0.01"}  # long enough that the second starts while the first works
    processes = [
        subprocess.Popen(
            [sys.executable, str(script), str(tmp_path)],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # so a hung run can be stopped with its workers
        )
        for _ in range(2)
    ]
    summaries = []
    for process in processes:
        try:
            stdout, stderr = process.communicate(timeout=300)
        except subprocess.TimeoutExpired:
            for other in processes:
                os.killpg(other.pid, signal.SIGKILL)
            raise
        assert process.returncode == 0, stderr.decode()
        summaries.append(json.loads(stdout.decode().strip().splitlines()[-1]))

    # one did every file, the other found them all done
    assert sorted((s["done"], s["skipped"]) for s in summaries) == [(0, 6), (6, 0)]
    entries = [json.loads(line) for line in ledger_path(tmp_path / "data").read_text().splitlines()]
    assert sum(e["status"] == DONE for e in entries) == sum(
        e["status"] == DONE for e in _ledger(tmp_path / "reference")
    )
    assert rows(tmp_path / "data") == rows(tmp_path / "reference")
    assert _kpi_rows(tmp_path / "data") == _kpi_rows(tmp_path / "reference")


def _ledger(data_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in ledger_path(data_dir).read_text().splitlines()]
