"""The zone views: zone_visits / queue_visits / queue_lengths over the store, zones over the config."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

from retail_intel.movements.geometry import Polygon
from retail_intel.movements.tracks import Track
from retail_intel.movements.zone_schema import QUEUE_LENGTH_SCHEMA, QUEUE_VISIT_SCHEMA, ZONE_VISIT_SCHEMA
from retail_intel.movements.zone_store import write_zone_tables
from retail_intel.movements.zones import PersonPath, ZoneSource, ZoneSpec, judge_zones
from retail_intel.sqlviews import open_database, run_query

START = dt.datetime(2026, 2, 8, 10, 0, tzinfo=dt.UTC)
BRANCHES = """
branches:
  - id: b1
    name: One
    capacity: 10
    cameras:
      - id: c1
        roi: [0, 0, 700, 500]
        zones:
          - {id: shelf, label: Shelf, polygon: [[0, 0], [100, 0], [100, 100], [0, 100]]}
          - {id: till, kind: service, polygon: [[400, 0], [500, 0], [500, 100]]}
          - {id: queue, kind: queue, service: till, min_dwell: 3, polygon: [[200, 0], [300, 0], [300, 100]]}
"""


def test_zone_views_read_the_store_and_the_config(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "branches.yaml").write_text(textwrap.dedent(BRANCHES), encoding="utf-8")
    data = tmp_path / "data"
    con = open_database(config, data)
    try:
        # no zone files yet: the views exist, empty, with the store's columns
        assert run_query(con, "SELECT * FROM zone_visits").column_names == ZONE_VISIT_SCHEMA.names
        assert run_query(con, "SELECT * FROM queue_visits").column_names == QUEUE_VISIT_SCHEMA.names
        assert run_query(con, "SELECT * FROM queue_lengths").column_names == QUEUE_LENGTH_SCHEMA.names
        zones = run_query(con, "SELECT zone_id, kind, label, service_zone_id FROM zones ORDER BY zone_id").to_pylist()
        assert zones == [
            {"zone_id": "queue", "kind": "queue", "label": "queue", "service_zone_id": "till"},
            {"zone_id": "shelf", "kind": "area", "label": "Shelf", "service_zone_id": None},
            {"zone_id": "till", "kind": "service", "label": "till", "service_zone_id": None},
        ]
    finally:
        con.close()
    track = Track.from_samples(1, [(float(t), 50.0, 50.0) for t in range(8)] + [(8.0, 150.0, 150.0)])
    shelf = ZoneSpec("shelf", Polygon.from_rect(0, 0, 100, 100))
    tables = judge_zones([PersonPath("p1", track)], [shelf], ZoneSource("b1", "c1", "f" * 64, START, 9.0))
    write_zone_tables(tables, data, branch_id="b1", day=START.date(), source_key="c1-x")
    con = open_database(config, data)
    try:
        joined = run_query(
            con,
            "SELECT z.label, v.dwell_seconds, v.counted FROM zone_visits v "
            "JOIN zones z USING (branch_id, camera_id, zone_id)",
        ).to_pylist()
        assert joined == [{"label": "Shelf", "dwell_seconds": 7.0, "counted": True}]
    finally:
        con.close()
