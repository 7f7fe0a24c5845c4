"""A small hand-written site for report and dashboard tests: movements, trajectories, a camera picture, a promotion.

Branch b1 (Europe/London, on UTC in early March) on Monday 2026-03-02:

| hour  | entered (dwell s)  | passed (first seen) |
| ----- | ------------------ | ------------------- |
| 10:00 | 10:05 (1200), 10:20 (600) | 10:30        |
| 11:00 | 11:10 (120)        | 11:40               |
| 12:00 | -                  | -                   |
| 13:00 | 13:15 (900)        | 13:00               |

A promotion runs 12:00-14:00 that day. Camera vtest has a 768x576 picture;
one person stands still at (120, 300) for 60 samples and one walks along
y = 500 from x = 0 to x = 580 in 30 samples. Branch b2 has a few movements
on the same day and none of the rest.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import uuid
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import yaml
from PIL import Image

from retail_intel.movements.schema import MOVEMENT_SCHEMA, TRAJECTORY_SCHEMA
from retail_intel.movements.store import write_movements, write_trajectories
from retail_intel.storage import camera_frame_path
from tests.test_serve_support import SAMPLE_CONFIG, Site

DAY = dt.date(2026, 3, 2)
PROMOTION = (
    "Spring coffee hour",
    dt.datetime(2026, 3, 2, 12, tzinfo=dt.UTC),
    dt.datetime(2026, 3, 2, 14, tzinfo=dt.UTC),
)
FRAME_SIZE = (768, 576)
STANDING = (120.0, 300.0)


def at(hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 3, 2, hour, minute, tzinfo=dt.UTC)


# (action, enter time, dwell seconds, first seen)
B1_MOVEMENTS: list[tuple[str, dt.datetime, float, dt.datetime]] = [
    ("entered", at(10, 5), 1200.0, at(10, 4)),  # still inside when the next one comes in
    ("entered", at(10, 20), 600.0, at(10, 19)),
    ("passed", at(10, 30), 3.0, at(10, 30)),
    ("entered", at(11, 10), 120.0, at(11, 9)),
    ("passed", at(11, 40), 2.0, at(11, 40)),
    ("passed", at(13, 0), 4.0, at(13, 0)),
    ("entered", at(13, 15), 900.0, at(13, 14)),
]
B1_VISITORS_PER_HOUR = [2, 1, 0, 1]  # 10:00, 11:00, 12:00, 13:00
B1_PASSED_PER_HOUR = [1, 1, 0, 1]


def movement(
    branch: str, n: int, action: str, enter: dt.datetime, dwell: float, first_seen: dt.datetime
) -> dict[str, Any]:
    exit_time = enter + dt.timedelta(seconds=dwell)
    return {
        "customer_id": str(uuid.uuid5(uuid.NAMESPACE_OID, f"{branch}-{n}")),
        "branch_id": branch,
        "camera_id": "vtest",
        "action_type": action,
        "enter_time": enter,
        "exit_time": exit_time,
        "exit_observed": True,
        "dwell_seconds": dwell,
        "first_seen": first_seen,
        "last_seen": exit_time + dt.timedelta(seconds=1),
        "track_id": n,
        "n_frames": 20,
        "mean_confidence": 0.8,
        "source_video": f"{branch}.mp4",
        "video_fingerprint": f"fp-{branch}",
        "model": "yolo11n-pose.pt",
        "processed_at": at(20),
    }


def write_b1_movements(
    data_dir: Path, rows: list[tuple[str, dt.datetime, float, dt.datetime]], key: str = "b1-day"
) -> None:
    table = pa.Table.from_pylist([movement("b1", n, *row) for n, row in enumerate(rows)], schema=MOVEMENT_SCHEMA)
    write_movements(table, data_dir, branch_id="b1", day=DAY, source_key=key)


def trajectory_rows() -> list[dict[str, Any]]:
    rows = []
    stander = str(uuid.uuid5(uuid.NAMESPACE_OID, "b1-0"))
    walker = str(uuid.uuid5(uuid.NAMESPACE_OID, "b1-2"))
    for i in range(60):
        rows.append(_sample(stander, at(10, 5) + dt.timedelta(seconds=i), i, *STANDING))
    for i in range(30):
        rows.append(_sample(walker, at(10, 30) + dt.timedelta(seconds=i), 100 + i, 20.0 * i, 500.0))
    return rows


def _sample(customer: str, time: dt.datetime, frame: int, x: float, y: float) -> dict[str, Any]:
    return {
        "customer_id": customer,
        "branch_id": "b1",
        "camera_id": "vtest",
        "action_type": "entered",
        "time": time,
        "frame": frame,
        "x": x,
        "y": y,
        "inside_roi": False,
        "video_fingerprint": "fp-b1",
    }


def make_report_site(root: Path) -> Site:
    config_dir = root / "config"
    data_dir = root / "data"
    shutil.copytree(SAMPLE_CONFIG, config_dir)
    promotions_file = config_dir / "promotions.yaml"
    promotions = yaml.safe_load(promotions_file.read_text())
    name, start, end = PROMOTION
    promotions["promotions"].append(
        {"id": "pr-spring-coffee", "name": name, "branches": ["b1"], "start": start.isoformat(), "end": end.isoformat()}
    )
    promotions_file.write_text(yaml.safe_dump(promotions, sort_keys=False))

    write_b1_movements(data_dir, B1_MOVEMENTS)
    b2 = [movement("b2", n, "entered" if n % 2 else "passed", at(9 + n), 200.0 + n, at(9 + n)) for n in range(5)]
    write_movements(
        pa.Table.from_pylist(b2, schema=MOVEMENT_SCHEMA), data_dir, branch_id="b2", day=DAY, source_key="b2-day"
    )
    write_trajectories(
        pa.Table.from_pylist(trajectory_rows(), schema=TRAJECTORY_SCHEMA),
        data_dir,
        branch_id="b1",
        day=DAY,
        source_key="b1-day",
    )
    picture = camera_frame_path(data_dir, "b1", "vtest")
    picture.parent.mkdir(parents=True, exist_ok=True)
    width, height = FRAME_SIZE
    gradient = np.tile(np.linspace(40, 220, width, dtype=np.uint8), (height, 1))
    Image.fromarray(np.dstack([gradient] * 3)).save(picture, format="JPEG")
    return Site(config_dir, data_dir)


class _Tables(HTMLParser):
    """Collects every <table id=...>: its rows as {data-col: data-value}, and the summary cards."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[dict[str, str]]] = {}
        self.cards: dict[str, str] = {}
        self._table: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        if tag == "table":
            self._table = found.get("id", "")
            self.tables[self._table] = []
        elif tag == "tr" and self._table is not None:
            self.tables[self._table].append({})
        elif tag == "td" and self._table is not None and "data-col" in found:
            self.tables[self._table][-1][found["data-col"]] = found.get("data-value", "")
        elif tag == "div" and "card" in found.get("class", "").split():
            self.cards[found["data-name"]] = found.get("data-value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._table = None


def read_tables(html: str) -> tuple[dict[str, list[dict[str, str]]], dict[str, str]]:
    """Tables by id (header row dropped) and summary cards by name, as the raw data-value strings."""
    parser = _Tables()
    parser.feed(html)
    tables = {name: [row for row in rows if row] for name, rows in parser.tables.items()}
    return tables, parser.cards


def raw(value: Any) -> str:
    """How the report writes a value into data-value."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return repr(value) if isinstance(value, float) else str(value)


def css_rules(css: str) -> dict[str, str]:
    """Declarations by selector, as written (a rule for several selectors is listed under each)."""
    rules: dict[str, str] = {}
    for selectors, body in re.findall(r"([^{}]+)\{([^}]*)\}", re.sub(r"/\*.*?\*/", "", css, flags=re.S)):
        for selector in selectors.split(","):
            rules[selector.strip()] = rules.get(selector.strip(), "") + body
    return rules
