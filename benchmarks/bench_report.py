"""How long a report and a dashboard view take to draw, on the demo data set.

Writes the demo data (20 branches, 90 days: what ``retail-intel demo-data``
writes, about 2 million movements) to a temporary directory, then times:

* ``retail-intel report`` as a user runs it (a new process each time, so
  Python, Matplotlib and DuckDB start-up are included): one day, one week,
  and the whole 90 days of one branch;
* the same three through the library in one process (what a warm server
  pays for a dashboard view the first time it is asked for);
* a cached dashboard view (``GET /report/{branch}`` again with no new data).

Each figure is the median of ``--repeat`` runs. Prints a Markdown table.

Usage::

    python benchmarks/bench_report.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from retail_intel.config.loader import load_config
from retail_intel.report import collect_report
from retail_intel.report.page import report_html, report_view
from retail_intel.serve import create_app

START = dt.date(2026, 1, 5)
DAYS = 90


def median_seconds(action: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        action()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        root = Path(tmp)
        config_dir, data_dir = root / "config", root / "data"
        subprocess.run(
            [sys.executable, "-m", "retail_intel", "demo-data", "--branches", "20", "--days", str(DAYS),
             "--start", START.isoformat(), "--config", str(config_dir), "--data-dir", str(data_dir)],
            check=True, capture_output=True,
        )  # fmt: skip
        config = load_config(config_dir)
        branch = config.branches[0].id
        last = START + dt.timedelta(days=DAYS - 1)
        ranges = {
            "one day": (last, last),
            "one week": (last - dt.timedelta(days=6), last),
            f"{DAYS} days": (START, last),
        }
        rows = []
        for label, (first, final) in ranges.items():

            def cli(first: dt.date = first, final: dt.date = final) -> None:
                subprocess.run(
                    [sys.executable, "-m", "retail_intel", "report", "--branch", branch, "--date", first.isoformat(),
                     "--to", final.isoformat(), "-o", str(root / "r.html"), "--config", str(config_dir),
                     "--data-dir", str(data_dir)],
                    check=True, capture_output=True,
                )  # fmt: skip

            def library(first: dt.date = first, final: dt.date = final) -> None:
                data = collect_report(config, data_dir, branch, first, final)
                report_html(report_view(data), data.generated_at)

            visitors = collect_report(config, data_dir, branch, first, final).visitors
            rows.append((label, visitors, median_seconds(cli, args.repeat), median_seconds(library, args.repeat)))

        app = create_app(config_dir, data_dir)

        async def cached() -> float:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                url = f"/report/{branch}?date={last.isoformat()}"
                (await client.get(url)).raise_for_status()  # drawn once
                times = []
                for _ in range(max(args.repeat, 20)):
                    began = time.perf_counter()
                    (await client.get(url)).raise_for_status()
                    times.append(time.perf_counter() - began)
                return statistics.median(times)

        cached_s = asyncio.run(cached())
        app.state.retail_intel.close()

    print(f"Demo data: 20 branches x {DAYS} days; branch {branch}; median of {args.repeat} runs.\n")
    print("| range | visitors | `retail-intel report` (new process) | drawn in a warm process |")
    print("| --- | --- | --- | --- |")
    for label, visitors, cli_s, library_s in rows:
        print(f"| {label} | {visitors:,} | {cli_s:.2f} s | {library_s:.2f} s |")
    print(f"\nA dashboard view asked for again (cached, in-process): {cached_s * 1000:.1f} ms")


if __name__ == "__main__":
    main()
