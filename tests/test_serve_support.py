"""Data and a client for the ``serve`` tests (no tests here).

``make_site`` copies the sample config and writes a small movement store,
KPI files of two window sizes and two run summaries. ``Api`` calls the app
in-process through httpx's ASGI transport: no socket is opened.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import random
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pytest
from fastapi import FastAPI

from retail_intel.kpis.schema import KPI_SCHEMA
from retail_intel.kpis.store import write_kpis
from retail_intel.movements.schema import MOVEMENT_SCHEMA
from retail_intel.movements.store import write_movements
from retail_intel.storage import atomic_write_bytes
from tests.zone_fixtures import write_zone_day

SAMPLE_CONFIG = Path(__file__).resolve().parents[1] / "config"
DAY1 = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
BRANCHES_WITH_DATA = ("b1", "b2")


@dataclass(frozen=True)
class Site:
    config_dir: Path
    data_dir: Path


def movement_rows(branch: str, day: dt.datetime, count: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    rows = []
    for n in range(count):
        enter = day + dt.timedelta(hours=9, seconds=rng.randrange(0, 9 * 3600))
        # A few rows share an enter_time so ties are ordered by customer_id.
        if n % 7 == 3 and rows:
            enter = rows[-1]["enter_time"]
        entered = rng.random() < 0.4
        dwell = rng.uniform(60, 1800) if entered else rng.uniform(1, 6)
        exit_ = enter + dt.timedelta(seconds=dwell)
        rows.append(
            {
                "customer_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "branch_id": branch,
                "camera_id": "cam",
                "action_type": "entered" if entered else "passed",
                "enter_time": enter,
                "exit_time": exit_,
                "exit_observed": True,
                "dwell_seconds": dwell,
                "first_seen": enter - dt.timedelta(seconds=2),
                "last_seen": exit_ + dt.timedelta(seconds=2),
                "track_id": n,
                "n_frames": 10 + n,
                "mean_confidence": 0.8,
                "source_video": f"{branch}-{day.date()}.mp4",
                "video_fingerprint": f"fp-{branch}-{day.date()}",
                "model": "yolo11n.pt",
                "processed_at": day + dt.timedelta(days=1),
            }
        )
    return rows


def write_day(data_dir: Path, branch: str, day: dt.datetime, count: int, seed: int, key: str | None = None) -> Path:
    table = pa.Table.from_pylist(movement_rows(branch, day, count, seed), schema=MOVEMENT_SCHEMA)
    return write_movements(
        table, data_dir, branch_id=branch, day=day.date(), source_key=key or f"{branch}-{day.date()}"
    )


def kpi_rows(branch: str, minutes: int, first: dt.datetime, windows: int, version: int = 0) -> pa.Table:
    """A KPI series with made-up but varied figures; ``version`` changes every value."""
    rows = []
    for n in range(windows):
        start = first + dt.timedelta(minutes=minutes * n)
        visitors = (n * 7 + version) % 13
        passed = (n * 5 + 2 * version) % 17
        rows.append(
            {
                "branch_id": branch,
                "window_start": start,
                "window_end": start + dt.timedelta(minutes=minutes),
                "window_minutes": minutes,
                "visitors": visitors,
                "passed": passed,
                "conversion_proxy": visitors / (visitors + passed) if visitors + passed else None,
                "baseline": None if n < 3 else float(n % 5),
                "traffic_index": None,
                "peak_occupancy": visitors + 1,
                "avg_occupancy": visitors / 2,
                "congestion_level": (visitors + 1) / 40,
                "growth_momentum": 0.5 - n % 3,
                "utilization_ratio": visitors / 40,
                "staff_on_duty": 2.0,
                "required_staff": 1 + visitors // 10,
                "staffing_adequacy": 2.0 / (1 + visitors // 10),
                "bottleneck_score": 0.1 * (n % 4),
                "mean_dwell_seconds": None if visitors == 0 else 300.0 + n,
                "median_dwell_seconds": None if visitors == 0 else 240.0 + n,
                "promotion_active": n % 2 == 0,
                "event_active": n % 9 == 0,
                "computed_at": DAY1 + dt.timedelta(days=5, minutes=version),
            }
        )
    return pa.Table.from_pylist(rows, schema=KPI_SCHEMA)


def write_run(data_dir: Path, name: str, video: str, mtime: float) -> None:
    summary = {"video": video, "branch_id": "b1", "camera_id": "vtest", "start_time": "2026-03-02T09:00:00+00:00"}
    summary.update({"people": 12, "entered": 5, "passed": 7, "output": f"{data_dir}/movements/b1/x.parquet"})
    path = data_dir / "runs" / f"{name}.json"
    atomic_write_bytes(json.dumps(summary).encode(), path)
    os.utime(path, (mtime, mtime))


def make_site(root: Path) -> Site:
    config_dir = root / "config"
    data_dir = root / "data"
    shutil.copytree(SAMPLE_CONFIG, config_dir)
    for b, branch in enumerate(BRANCHES_WITH_DATA):
        for d in range(2):
            write_day(data_dir, branch, DAY1 + dt.timedelta(days=d), count=25 + 10 * b + d, seed=100 * b + d)
    write_kpis(kpi_rows("b1", 60, DAY1, 48), data_dir)
    write_kpis(kpi_rows("b1", 15, DAY1, 96), data_dir)
    write_kpis(kpi_rows("b2", 60, DAY1, 48), data_dir)
    write_run(data_dir, "older", "/srv/videos/private/cam-old.mp4", 1_700_000_000)
    write_run(data_dir, "newer", "/srv/videos/private/cam1_20260302.mp4", 1_800_000_000)
    write_zone_day(data_dir, "b1", "vtest", DAY1 + dt.timedelta(hours=10))
    return Site(config_dir, data_dir)


class Api:
    """Calls an ASGI app in-process; each call runs on a fresh event loop."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        async def call() -> httpx.Response:
            # raise_app_exceptions=False: a 500 is checked as the client sees it.
            transport = httpx.ASGITransport(app=self.app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
                return await client.request(method, url, **kwargs)

        return asyncio.run(call())

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def ok(self, url: str, **kwargs: Any) -> Any:
        response = self.get(url, **kwargs)
        assert response.status_code == 200, response.text
        return response.json()


def iso(moment: dt.datetime) -> str:
    """How the API writes a UTC time."""
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


# Noon UTC: no branch of the sample config starts a new day near it.
SERVE_NOW = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)


def hold_serve_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """serve's clock stopped at :data:`SERVE_NOW` for the test.

    A data version holds each branch's local date (a branch without data shows its today), so one
    read across a branch's midnight differed from the one before it: "stable while nothing changes"
    failed, and a page cached a moment ago was drawn again, at each branch's midnight.
    """
    from retail_intel.serve import state

    monkeypatch.setattr(state, "_now", lambda: SERVE_NOW)
