"""``--executor ray``: the same per-file work as Ray tasks gives the same movements as a local run.

Runs on a local Ray instance (2 CPUs, no dashboard); Ray workers import the
test fakes through PYTHONPATH. Starting Ray takes several seconds.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .batch_helpers import batch, make_archive, make_config, rows

ray = pytest.importorskip("ray", reason="the Ray executor needs pip install 'retail-intel[distributed]'")

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def local_ray() -> Iterator[Any]:
    # ray.init installs its own SIGTERM handler and never puts the old one back: the
    # tests after these would run with it
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        logging_level="WARNING",
        log_to_driver=False,
        runtime_env={"env_vars": {"PYTHONPATH": str(ROOT)}},
    )
    try:
        yield ray
    finally:
        ray.shutdown()
        for signum, handler in handlers.items():
            signal.signal(signum, handler)


@pytest.mark.slow
def test_ray_executor_gives_the_same_movements_as_a_local_run(tmp_path: Path, local_ray: Any) -> None:
    make_config(tmp_path)
    archive = make_archive(tmp_path)
    local = batch(archive, tmp_path, data="local")
    distributed = batch(archive, tmp_path, data="ray", executor="ray")
    assert local.done == distributed.done == 6
    assert distributed.executor == "ray" and distributed.exit_code == 0
    assert rows(tmp_path / "ray") == rows(tmp_path / "local")
    # the ledger written through Ray is the same ledger: a local rerun skips everything
    assert batch(archive, tmp_path, data="ray").skipped == 6


@pytest.mark.slow
def test_ray_reports_a_bad_file_like_a_local_run(tmp_path: Path, local_ray: Any) -> None:
    make_config(tmp_path)
    archive = make_archive(tmp_path)
    door = archive / "b1" / "door" / "door_20260208_100005.avi"
    data = door.read_bytes()
    door.write_bytes(data[: len(data) // 2])
    summary = batch(archive, tmp_path, executor="ray")
    assert summary.exit_code == 3 and summary.failed == 1 and summary.done == 5
    failed = next(f for f in summary.files if f.status == "failed")
    assert "breaks off" in (failed.reason or "")
