"""Load test of ``retail-intel serve`` on ``/kpis/branch/{id}``, measured from a second process.

Starts the server as its own process on 127.0.0.1, drives it with ``wrk``
(or, when wrk is not installed, a bounded Python load generator in other
processes) and prints a Markdown table of requests per second and p50 / p99
latency. Every run is bounded in time (``--duration`` per scenario).

Scenarios, all on the demo data set (20 branches, 90 days, 60-minute KPIs):

* ``day``: one branch-day (24 windows), rotating over every branch and 30
  days: what a dashboard asks for, as fast as the server answers (closed
  loop: latency includes queueing at saturation). Served from the response
  cache after the first request of each URL.
* ``day-paced``: the same requests offered at about ``--rate`` per second
  (each connection pauses between requests), the target's load.
* ``week``: seven days (168 windows), same rotation.
* ``full``: the default first page (1,000 windows, about 0.5 MB) of one branch.
* ``uncached``: a different one-day range on every request (hourly offsets over
  90 days x 20 branches), so nearly every request reads Parquet through DuckDB.
* ``distinct-large``: at most ``--distinct`` different URLs, each the whole
  series of a branch (``limit=10000``, every offset a new URL): many large
  answers, the load that grows a cache bounded by entry count without limit.
  The server's caches must stay under ``--cache-mb``.
* ``report``: dashboard views of different branch-days (``/report/{id}``), each
  drawn once, about a CPU-second apiece: at most a few are drawn at once and
  the rest are refused with 503 + Retry-After (counted under non-200).

Every row also gives the server's peak resident memory (all its processes,
sampled every 50 ms) and, from ``/health``, the most its caches held against
their ceiling.

Usage::

    python benchmarks/bench_serve.py                    # demo data in a temp dir, 1 and 2 workers
    python benchmarks/bench_serve.py --config config --data-dir retail_data --workers 2 --duration 20

The demo data is synthetic (what ``retail-intel demo-data`` writes); KPI files are made
with ``retail-intel kpis --window 60m`` when missing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ("day", "day-paced", "week", "full", "uncached", "distinct-large", "report")
UNWARMED = ("uncached", "distinct-large", "report")  # scenarios whose point is that every URL is new


@dataclass
class Result:
    workers: int
    scenario: str
    connections: int
    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p99_ms: float
    cpu_us: float | None  # server CPU time (all its processes) per request
    peak_rss_mb: float | None = None  # the server's processes together, sampled during the scenario
    cache_mb: float | None = None  # most bytes its caches held (from /health), None if it does not say

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def cli(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "retail_intel", *args], check=True, cwd=ROOT)


def prepare_data(config: Path | None, data_dir: Path | None, work: Path, branches: int, days: int) -> tuple[Path, Path]:
    if config is None or data_dir is None:
        config, data_dir = work / "config", work / "data"
        print(f"generating demo data: {branches} branches x {days} days in {work}", file=sys.stderr)
        from retail_intel.demo import generate_demo

        generate_demo(config, data_dir, branches=branches, days=days, start=dt.date(2026, 1, 1))
    if not any((data_dir / "kpis" / "60m").glob("*.parquet")):
        print("computing 60-minute KPIs", file=sys.stderr)
        cli(
            "kpis",
            "--window",
            "60m",
            "--format",
            "csv",
            "-o",
            os.devnull,
            "--config",
            str(config),
            "--data-dir",
            str(data_dir),
        )
    return config, data_dir


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_server(
    config: Path, data_dir: Path, workers: int, port: int, cache_mb: int | None
) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "retail_intel", "serve", "--port", str(port), "--workers", str(workers)]
    command += ["--config", str(config), "--data-dir", str(data_dir)]
    if cache_mb is not None:
        command += ["--cache-mb", str(cache_mb)]
    server = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            get_json(f"http://127.0.0.1:{port}/health")
            return server
        except OSError:
            if server.poll() is not None:
                raise SystemExit(f"the server exited with code {server.returncode}") from None
            time.sleep(0.2)
    stop_server(server)
    raise SystemExit("the server did not answer /health within 60 s")


def stop_server(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGINT)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def scenario_paths(
    scenario: str, branch_ids: list[str], first_day: dt.date, days: int, distinct: int = 500
) -> list[str]:
    def day_range(day: dt.date, hours: int = 0, length: dt.timedelta = dt.timedelta(days=1)) -> str:
        start = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC) + dt.timedelta(hours=hours)
        end = start + length
        return f"from={start.strftime('%Y-%m-%dT%H:%M:%SZ')}&to={end.strftime('%Y-%m-%dT%H:%M:%SZ')}"

    if scenario == "full":
        return [f"/kpis/branch/{branch_ids[0]}"]
    if scenario == "distinct-large":
        return [f"/kpis/branch/{branch}?limit=10000&offset={k}" for k in range(distinct) for branch in branch_ids][
            :distinct
        ]
    if scenario == "report":
        return [
            f"/report/{branch}?date={first_day + dt.timedelta(days=d)}" for d in range(days) for branch in branch_ids
        ]
    if scenario == "uncached":
        return [
            f"/kpis/branch/{branch}?{day_range(first_day + dt.timedelta(days=d), hours=h)}"
            for d in range(days)
            for h in range(24)
            for branch in branch_ids
        ]
    length = dt.timedelta(days=7 if scenario == "week" else 1)  # day, day-paced
    return [
        f"/kpis/branch/{branch}?{day_range(first_day + dt.timedelta(days=d), length=length)}"
        for d in range(min(days, 30))
        for branch in branch_ids
    ]


_LUA = """
local paths = {%s}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i %% #paths) + 1])
end
"""
# Paced: each connection waits this many ms before its next request.
_LUA_DELAY = """
delay = function()
  return %d
end
"""


def tree_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a process and all its descendants (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pending = [pid]
    try:
        while pending:
            current = pending.pop()
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
            for task in Path(f"/proc/{current}/task").iterdir():
                children = (task / "children").read_text().split()
                pending.extend(int(child) for child in children)
    except (OSError, ValueError, IndexError):
        return None
    return total


def tree_rss_bytes(pid: int) -> int | None:
    """Resident memory of a process and all its descendants (Linux /proc)."""
    total = 0
    pending = [pid]
    try:
        while pending:
            current = pending.pop()
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
            for task in Path(f"/proc/{current}/task").iterdir():
                pending.extend(int(child) for child in (task / "children").read_text().split())
    except (OSError, ValueError):
        return None
    return total


class PeakRss:
    """Samples a process tree's resident memory every 50 ms in a thread; ``peak`` is the most seen."""

    def __init__(self, pid: int) -> None:
        import threading

        self.pid = pid
        self.peak = tree_rss_bytes(pid) or 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, tree_rss_bytes(self.pid) or 0)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def cache_bytes_held(base: str) -> float | None:
    """MiB held by the caches of the worker that answers (None from a server whose /health does not say)."""
    cache = get_json(base + "/health").get("cache")
    return None if cache is None else cache["bytes_held"] / 2**20


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    if match is None:
        raise ValueError(f"unexpected wrk latency {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def run_wrk(
    base: str, paths: list[str], connections: int, duration: float, work: Path, delay_ms: int | None = None
) -> tuple[int, float, int, float, float]:
    import random

    shuffled = list(paths)
    random.Random(0).shuffle(shuffled)
    script = work / "paths.lua"
    script.write_text(_LUA % ", ".join(json.dumps(p) for p in shuffled) + (_LUA_DELAY % delay_ms if delay_ms else ""))
    command = ["wrk", "-t1", f"-c{connections}", f"-d{duration:g}s", "--latency", "-s", str(script), base]
    output = subprocess.run(command, check=True, capture_output=True, text=True, timeout=duration + 60).stdout
    requests = int(re.search(r"(\d+) requests in ([\d.]+)(\w+)", output).group(1))  # type: ignore[union-attr]
    seconds_match = re.search(r"requests in ([\d.]+)(us|ms|s|m)\b", output)
    assert seconds_match is not None
    value, unit = float(seconds_match.group(1)), seconds_match.group(2)
    seconds = value * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[unit]
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", output))
    errors += sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", output))
    p50 = _ms(re.search(r"50%\s+(\S+)", output).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"99%\s+(\S+)", output).group(1))  # type: ignore[union-attr]
    return requests, seconds, errors, p50, p99


def _python_client(args: tuple[str, int, list[str], float, int, float]) -> tuple[list[float], int]:
    """One load-generating process: a keep-alive connection, requests back to back (or paced) until the deadline."""
    import http.client

    host, port, paths, deadline, offset, pause = args
    connection = http.client.HTTPConnection(host, port, timeout=30)
    latencies: list[float] = []
    errors = 0
    i = offset
    while time.monotonic() < deadline:
        began = time.perf_counter()
        try:
            connection.request("GET", paths[i % len(paths)])
            response = connection.getresponse()
            response.read()
            errors += response.status != 200
        except OSError:  # a timeout (30 s): counted as an error at the time it took, on a new connection
            errors += 1
            connection.close()
            connection = http.client.HTTPConnection(host, port, timeout=30)
        latencies.append((time.perf_counter() - began) * 1000)
        i += 1
        if pause:
            time.sleep(pause)
    connection.close()
    return latencies, errors


def run_python(
    port: int, paths: list[str], connections: int, duration: float, delay_ms: int | None = None
) -> tuple[int, float, int, float, float]:
    deadline = time.monotonic() + duration
    pause = (delay_ms or 0) / 1000
    jobs = [("127.0.0.1", port, paths, deadline, k * 7919, pause) for k in range(connections)]
    began = time.monotonic()
    with multiprocessing.get_context("spawn").Pool(connections) as pool:
        results = pool.map(_python_client, jobs)
    seconds = time.monotonic() - began
    latencies = sorted(x for lat, _ in results for x in lat)
    errors = sum(e for _, e in results)
    quantiles = statistics.quantiles(latencies, n=100)
    return len(latencies), seconds, errors, quantiles[49], quantiles[98]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, help="Existing config directory (default: generate demo data).")
    parser.add_argument("--data-dir", type=Path, help="Existing data directory (default: generate demo data).")
    parser.add_argument("--branches", type=int, default=20)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--workers", default="1,2", help="Comma-separated worker counts to try.")
    parser.add_argument("--connections", type=int, default=32, help="Concurrent keep-alive connections.")
    parser.add_argument("--rate", type=int, default=1000, help="Requests per second offered by day-paced.")
    parser.add_argument("--duration", type=float, default=10.0, help="Seconds per scenario (bounded).")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--distinct", type=int, default=500, help="URLs of distinct-large (bounded).")
    parser.add_argument(
        "--cache-mb", type=int, default=None, help="The server's cache ceiling (serve --cache-mb; default: its own)."
    )
    parser.add_argument(
        "--python-client", action="store_true", help="Use the Python load generator even if wrk exists."
    )
    args = parser.parse_args()

    load_before = os.getloadavg()[0]
    work = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    try:
        config, data_dir = prepare_data(args.config, args.data_dir, work, args.branches, args.days)
        use_wrk = shutil.which("wrk") is not None and not args.python_client
        results: list[Result] = []
        for workers in (int(w) for w in args.workers.split(",")):
            port = free_port()
            server = start_server(config, data_dir, workers, port, args.cache_mb)
            try:
                base = f"http://127.0.0.1:{port}"
                branch_ids = [b["id"] for b in get_json(base + "/branches")]
                first = get_json(f"{base}/kpis/branch/{branch_ids[0]}?limit=1")["rows"][0]["window_start"]
                first_day = dt.date.fromisoformat(first[:10])
                for scenario in args.scenarios.split(","):
                    paths = scenario_paths(scenario, branch_ids, first_day, args.days, args.distinct)
                    if scenario not in UNWARMED:
                        # Warm the response caches; each worker has its own and the
                        # kernel picks the worker, so go round a few times per worker.
                        for path in paths * (3 * workers):
                            get_json(base + path)
                    connections, delay_ms = args.connections, None
                    if scenario == "day-paced":
                        # Each connection pauses 20 ms after every answer; with answers taking a
                        # few ms, rate x 25 ms connections offer about --rate requests/s.
                        connections, delay_ms = max(1, round(args.rate * 0.025)), 20
                    cpu_before = tree_cpu_seconds(server.pid)
                    with PeakRss(server.pid) as rss:
                        if use_wrk:
                            measured = run_wrk(base, paths, connections, args.duration, work, delay_ms)
                        else:
                            measured = run_python(port, paths, connections, args.duration, delay_ms)
                    cpu_after = tree_cpu_seconds(server.pid)
                    cpu_us = None
                    if cpu_before is not None and cpu_after is not None and measured[0]:
                        cpu_us = (cpu_after - cpu_before) / measured[0] * 1e6
                    held = cache_bytes_held(base)
                    results.append(
                        Result(workers, scenario, connections, *measured, cpu_us, rss.peak / 2**20 or None, held)
                    )
                    print(f"  {workers} worker(s) {scenario}: {results[-1].rps:,.0f} req/s", file=sys.stderr)
            finally:
                stop_server(server)
        tool = "wrk" if use_wrk else "python client"
        load = os.getloadavg()[0]
        print(
            f"\n`serve` (KPI scenarios on `/kpis/branch/{{id}}`, report on `/report/{{id}}`), {os.cpu_count()} CPU cores shared by the server and {tool}, "
            f"{args.duration:g} s per row, load average before the run {load_before:.1f}, after {load:.1f}\n"
        )
        print(
            "| workers | scenario | connections | requests | req/s | p50 ms | p99 ms | server CPU µs/req | non-200 "
            "| peak RSS MiB | cache MiB |"
        )
        print("|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
        for r in results:
            cpu = "-" if r.cpu_us is None else f"{r.cpu_us:,.0f}"
            rss_text = "-" if r.peak_rss_mb is None else f"{r.peak_rss_mb:,.0f}"
            held_text = "-" if r.cache_mb is None else f"{r.cache_mb:,.1f}"
            print(
                f"| {r.workers} | {r.scenario} | {r.connections} | {r.requests:,} | {r.rps:,.0f} | "
                f"{r.p50_ms:.2f} | {r.p99_ms:.2f} | {cpu} | {r.errors} | {rss_text} | {held_text} |"
            )
        if args.cache_mb is not None:
            held_most = max((r.cache_mb for r in results if r.cache_mb is not None), default=None)
            verdict = (
                "no answer from /health"
                if held_most is None
                else (f"held at most {held_most:,.1f} MiB: " + ("under" if held_most <= args.cache_mb else "OVER"))
            )
            print(f"\ncache ceiling {args.cache_mb} MiB per worker: {verdict}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
