"""The documented library functions take their folders and files as str as well as Path.

load_config and create_app always did; the others failed with AttributeError
('str' object has no attribute 'is_dir') or TypeError deep inside.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from retail_intel.config import load_config
from retail_intel.demo import generate_demo
from retail_intel.etl import read_features, run_etl
from retail_intel.ingest import ingest_file
from retail_intel.kpis import compute_kpis, read_kpis
from retail_intel.sqlviews import open_database, run_query

EVENTS = """\
customer_id,branch_id,enter_time,exit_time,action_type
6f1c0000-0000-4000-8000-000000000001,demo-001,2026-01-05T10:00:00Z,2026-01-05T10:05:00Z,entered
"""


def test_every_documented_function_takes_str_paths(tmp_path: Path) -> None:
    config, data = str(tmp_path / "config"), str(tmp_path / "data")
    summary = generate_demo(config, data, branches=1, days=1, seed=1, start=dt.date(2026, 1, 5))  # type: ignore[arg-type]
    events = tmp_path / "events.csv"
    events.write_text(EVENTS)
    ingested = ingest_file(str(events), config_dir=config, data_dir=data)  # type: ignore[arg-type]
    assert (ingested.accepted, ingested.rejected) == (1, 0)
    loaded = load_config(config)  # type: ignore[arg-type]
    kpis = compute_kpis(loaded, data, window_minutes=60)  # type: ignore[arg-type]
    assert kpis.table.num_rows > 0
    assert read_kpis(data, window_minutes=60).num_rows == kpis.table.num_rows  # type: ignore[arg-type]
    etl = run_etl(loaded, data)  # type: ignore[arg-type]
    assert read_features(data).num_rows == etl.feature_rows > 0  # type: ignore[arg-type]
    con = open_database(config, data)  # type: ignore[arg-type]
    try:
        counted = run_query(con, "SELECT count(*) AS n FROM customer_branch_movement").to_pylist()
    finally:
        con.close()
    assert counted == [{"n": summary.movements + 1}]
