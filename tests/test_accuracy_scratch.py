"""The accuracy harness leaves no data directory behind in the temporary directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# What `nox -s accuracy` does for each clip: a data directory per run of the pipeline.
_RUN = """
import sys
sys.path.insert(0, "benchmarks")
import accuracy
for clip in accuracy.CLIPS:
    data_dir = accuracy.clip_request(clip).data_dir
    (data_dir / "movements.parquet").write_bytes(b"written by the run")
    print(data_dir)
"""


def test_the_harness_removes_its_data_directories_when_it_exits(tmp_path: Path) -> None:
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", _RUN], cwd=ROOT, env=env, capture_output=True, text=True, check=True, timeout=600
    )
    made = [Path(line) for line in done.stdout.split()]
    assert made and all(path.is_relative_to(tmp_path) for path in made)
    # each `nox -s accuracy` left eight folders of about 400 KB in the temporary directory
    assert not any(path.exists() for path in made)
    assert list(tmp_path.iterdir()) == []
