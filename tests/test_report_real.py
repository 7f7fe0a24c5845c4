"""``retail-intel report`` over the sample video as processed by the README's first command (slow)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.report_fixtures import raw, read_tables
from tests.sample_run import CONFIG

pytestmark = pytest.mark.slow


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "retail_intel", *args, "--config", str(CONFIG)]
    return subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)


def test_sample_report_holds_what_the_kpi_engine_gives(
    sample_run: tuple[dict[str, object], Path], tmp_path: Path
) -> None:
    summary, data_dir = sample_run
    target = tmp_path / "report.html"
    done = cli("report", "--branch", "b1", "--date", "2026-02-08", "-o", str(target), "--data-dir", str(data_dir))
    assert done.returncode == 0, done.stderr
    html = target.read_text()
    tables, cards = read_tables(html)

    # The KPI engine through its own command, over the same data and day.
    kpis = cli(
        "kpis", "--window", "60m", "--branch", "b1", "--from", "2026-02-08T00:00:00Z", "--to", "2026-02-09T00:00:00Z",
        "--format", "json", "--data-dir", str(data_dir),
    )  # fmt: skip
    assert kpis.returncode == 0, kpis.stderr
    engine_rows = json.loads(kpis.stdout)
    shown = tables["kpi-table"]
    assert len(shown) == len(engine_rows) >= 1
    for row, engine in zip(shown, engine_rows, strict=True):
        for column in (
            "visitors",
            "passed",
            "conversion_proxy",
            "peak_occupancy",
            "avg_occupancy",
            "mean_dwell_seconds",
        ):
            shown_value, engine_value = row[column], raw(engine[column])
            if isinstance(engine[column], float) and shown_value:
                # two runs of the engine over different spans sum the same dwells in another order:
                # equal to the last bit or two, not always bit for bit
                assert float(shown_value) == pytest.approx(engine[column], rel=1e-12), column
            else:
                assert shown_value == engine_value, column
    # One visitors bar and one passers-by bar per KPI window in the drawing itself.
    assert len(re.findall(r'id="traffic-visitors-\d+"', html)) == len(engine_rows)
    assert len(re.findall(r'id="traffic-passed-\d+"', html)) == len(engine_rows)
    assert int(cards["visitors"]) == sum(r["visitors"] for r in engine_rows) == summary["entered"]
    assert int(cards["passed"]) == sum(r["passed"] for r in engine_rows) == summary["passed"]

    # The heatmap is drawn over the camera's picture, and the sample config's event on that day is marked.
    assert '<img alt="Heatmap of camera vtest" src="data:image/png;base64,' in html
    assert "latest picture;" in html  # not the blank canvas used when no picture was kept
    assert "Campus open-day tour across the plaza" in html and 'id="traffic-period-0"' in html
    assert int(cards["peak_occupancy"]) >= 1
