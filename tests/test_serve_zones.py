"""GET /zones/{branch} and /queues/{branch}: the zone KPIs over HTTP."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

from retail_intel.serve import create_app
from tests.test_serve_support import DAY1, Api, make_site
from tests.zone_fixtures import QUEUE_ZONES, stay


def test_zone_routes_on_the_sample_site(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    api = Api(create_app(site.config_dir, site.data_dir))
    body = api.ok("/zones/b1")
    assert body["window_minutes"] == 1440
    assert {z["zone_id"] for z in body["zones"]} == {"sign", "east_path"}
    assert next(z for z in body["zones"] if z["zone_id"] == "sign")["label"] == "Signpost"
    # write_zone_day: six people, alternating sign / east_path, staying 2, 4, ... 12 s
    visits = {r["zone_id"]: (r["visits"], r["counted_visits"]) for r in body["rows"]}
    assert visits == {"sign": (3, 2), "east_path": (3, 3)}
    hourly = api.ok("/zones/b1", params={"window": "60m", "from": "2026-03-02T10:00:00Z", "to": "2026-03-02T11:00:00Z"})
    assert [r["window_start"] for r in hourly["rows"]] == ["2026-03-02T10:00:00Z"] * 2
    assert api.ok("/queues/b1")["rows"] == []
    assert api.get("/zones/nope").status_code == 404
    bad = api.get("/queues/b1", params={"window": "7m"})
    assert bad.status_code == 422 and "window" in bad.text


def test_queue_route_hand_computed(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "branches.yaml").write_text(
        textwrap.dedent(
            """
            branches:
              - id: s1
                name: Shop
                capacity: 10
                cameras:
                  - id: c1
                    roi: [0, 0, 700, 500]
                    zones:
                      - {id: till, kind: service, polygon: [[400, 0], [500, 0], [500, 100], [400, 100]]}
                      - {id: queue, kind: queue, service: till, min_dwell: 3,
                         polygon: [[200, 0], [300, 0], [300, 100], [200, 100]]}
            """
        ),
        encoding="utf-8",
    )
    data = tmp_path / "data"
    start = DAY1 + dt.timedelta(hours=9)
    from retail_intel.movements.zone_store import write_zone_tables
    from retail_intel.movements.zones import PersonPath, ZoneSource, judge_zones

    buyer = stay(1, [(0, 250, 50), (40, 450, 50), (70, 10, 10), (71, 10, 10)])  # waits 40 s, in service 40..69 s
    tables = judge_zones([PersonPath("p1", buyer)], QUEUE_ZONES, ZoneSource("s1", "c1", "f" * 64, start, 120.0))
    write_zone_tables(tables, data, branch_id="s1", day=start.date(), source_key="c1-q")
    api = Api(create_app(config, data))
    (row,) = api.ok("/queues/s1")["rows"]
    assert (row["people_queued"], row["people_served"], row["mean_wait_seconds"], row["p90_wait_seconds"]) == (
        1,
        1,
        40.0,
        40.0,
    )
    assert row["mean_service_seconds"] == 29.0 and row["abandonment_rate"] == 0.0
    assert row["peak_queue_length"] == 1 and row["mean_queue_length"] == 39.0 / 120.0
