"""Ctrl-C during the commands that write the store: one line saying what was kept, exit code 130."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.cli_helpers import run_cli

SAMPLE_CONFIG = Path(__file__).resolve().parents[1] / "config"


def _ctrl_c(*args: Any, **kwargs: Any) -> Any:
    raise KeyboardInterrupt


@pytest.mark.parametrize(
    ("command", "target", "said"),
    [
        (
            ["ingest", "{dir}/events.jsonl", "--config", "{config}"],
            "retail_intel.cli.ingest.ingest_file",
            "movement files written so far",
        ),
        (["etl", "--config", "{config}"], "retail_intel.etl.run_etl", "KPI and feature files written so far"),
        (
            ["export", "--to", "postgresql://user@127.0.0.1:9/retail"],
            "retail_intel.pgexport.export_to_postgres",
            "the table being exported was left as it was",
        ),
        (["kpis", "--config", "{config}"], "retail_intel.kpis.compute_kpis", "KPI files stored so far"),
        # it said "KPI files stored so far are complete" where nothing is stored
        (
            ["kpis", "--include-staff", "--config", "{config}"],
            "retail_intel.kpis.compute_kpis",
            "nothing stored (--include-staff KPIs are shown, never stored)",
        ),
        (
            ["zones", "--branch", "b1", "--rejudge", "--config", "{config}"],
            "retail_intel.pipeline.rejudge_zones.rejudge_zones",
            "zone files judged again so far",
        ),
        (["compact"], "retail_intel.movements.compaction.compact_store", "months written so far"),
    ],
    ids=["ingest", "etl", "export", "kpis", "kpis-include-staff", "zones-rejudge", "compact"],
)
def test_ctrl_c_is_one_line_saying_what_was_kept_and_exit_130(
    command: list[str],
    target: str,
    said: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # each exited 130 with nothing at all on stderr (Typer's silent Abort)
    data_dir = tmp_path / "data"
    (data_dir / "movements").mkdir(parents=True)
    (tmp_path / "events.jsonl").write_text("{}\n")
    monkeypatch.setattr(target, _ctrl_c)
    args = [part.format(dir=tmp_path, config=SAMPLE_CONFIG) for part in command]
    result = run_cli([*args, "--data-dir", str(data_dir)], capsys, monkeypatch)
    assert result.exit_code == 130
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("interrupted; ") and said in lines[0], result.stderr
    assert "Traceback" not in result.stderr
