"""The README's first command, run by tests: the real model over sample_videos/vtest.avi (about a minute on 2 cores)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VIDEO = ROOT / "sample_videos" / "vtest.avi"
CONFIG = ROOT / "config"
START = "2026-02-08T10:00:00+00:00"


def process_sample(data_dir: Path) -> dict[str, object]:
    """``retail-intel process`` of the sample video into ``data_dir``; its JSON summary."""
    command = [
        sys.executable, "-m", "retail_intel", "process", str(VIDEO), "--branch", "b1",
        "--config", str(CONFIG), "--data-dir", str(data_dir), "--start-time", START,
        "--format", "json", "--quiet",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=1800, check=False)
    assert done.returncode == 0, done.stderr
    summary: dict[str, object] = json.loads(done.stdout)
    return summary
