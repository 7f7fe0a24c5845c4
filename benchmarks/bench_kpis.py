"""Benchmark of ``retail-intel kpis``: all KPIs at 60-minute windows over 10 million movements.

Generates synthetic movements with numpy (100 branches x 90 days by default,
in eight timezones, four of them changing clocks inside the period), writes
them to a temporary data directory in the movement store's layout (all 17
movement columns, one Parquet file per branch and day, rows in random order;
``--layout branch`` writes one file per branch),
builds a matching config in memory (5 employees per branch with weekly
shifts, promotions, a weekly event) and then, each in its own freshly
spawned process pinned to at most 2 cores:

* ``duckdb`` / ``polars``: :func:`retail_intel.kpis.compute_kpis` with that
  engine, as the CLI runs it (read the store, prepare windows, compute), and
  separately the time to write the result to the KPI store; with ``--zones``,
  :func:`retail_intel.kpis.with_zones.compute_kpis_with_zones` (the branch
  KPIs and the zone and queue KPIs from one read of the queue visits);
  with ``--compact``, the store is then compacted (``retail-intel compact``,
  one file per branch and month) and every implementation runs again;
* ``pandas``: the same reading and preparation, then the straightforward
  pandas implementation in ``benchmarks/pandas_kpis.py``.

Peak memory is the child's own peak RSS (``VmHWM``). After the timed
runs the three results are compared value by value, so the table only
reports implementations that computed the same KPIs.

Usage::

    python benchmarks/bench_kpis.py                          # 10M movements, 100 branches, 90 days
    python benchmarks/bench_kpis.py --movements 1000000 --implementations duckdb,polars
    python benchmarks/bench_kpis.py --zones --compact --implementations duckdb,polars   # both store layouts
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ZONES = (
    "Europe/London",
    "America/New_York",
    "Asia/Kolkata",
    "Australia/Sydney",
    "Europe/Berlin",
    "America/Los_Angeles",
    "UTC",
    "Asia/Tokyo",
)
FIRST_DAY = dt.date(2026, 1, 5)  # 90 days from here cross the US (8 Mar) and EU (29 Mar) DST changes
IMPLEMENTATIONS = ("duckdb", "polars", "pandas")
CORES = 2


def branch_ids(n: int) -> list[str]:
    return [f"b{i:03d}" for i in range(n)]


def generate(data_dir: Path, *, movements: int, branches: int, days: int, seed: int, per_day: bool) -> None:
    """Write ``movements`` synthetic movements to the movement store under ``data_dir``.

    ``per_day``: one file per branch and local day (like one long video a
    day; 9,000 files for 100 branches x 90 days), else one file per branch.
    """
    from retail_intel.movements.schema import MOVEMENT_SCHEMA
    from retail_intel.movements.store import movements_root, write_movements
    from retail_intel.storage import atomic_write_table

    rng = np.random.default_rng(seed)
    ids = branch_ids(branches)
    # Local midnight of every (branch, day) in UTC microseconds, so times of
    # day below are local clock times (DST included).
    midnights = np.empty((branches, days), dtype=np.int64)
    for b in range(branches):
        tz = ZoneInfo(ZONES[b % len(ZONES)])
        for d in range(days):
            local = dt.datetime.combine(FIRST_DAY + dt.timedelta(days=d), dt.time(0), tzinfo=tz)
            midnights[b, d] = int(local.timestamp()) * 1_000_000
    per_branch = np.bincount(rng.integers(0, branches, movements), minlength=branches)
    ts = pa.timestamp("us", tz="UTC")
    processed = int(dt.datetime(2026, 4, 10, tzinfo=dt.UTC).timestamp() * 1e6)
    serial = 0
    for b, n in enumerate(per_branch):
        day = rng.integers(0, days, n)
        # Busy around midday, open 08:00-22:00 local; a lunchtime and an evening peak.
        hour = np.where(rng.random(n) < 0.6, rng.normal(13, 2.5, n), rng.normal(18, 1.5, n)).clip(8, 21.999)
        enter = midnights[b, day] + (hour * 3_600_000_000).astype(np.int64) + rng.integers(0, 1_000_000, n)
        is_in = rng.random(n) < 0.45
        dwell_s = np.where(is_in, rng.lognormal(6.4, 0.7, n).clip(5, 4 * 3600), rng.uniform(0.5, 8, n))
        exit_ = enter + (dwell_s * 1e6).astype(np.int64)
        seen = enter - (rng.uniform(0, 10, n) * 1e6).astype(np.int64)
        # Staff (2%), parties of two (about 15% of people)
        # and missed exits (3%), so exclusion, buying units and the
        # reconciliation all do real work.
        staff = rng.random(n) < 0.02
        leads = (rng.random(n) < 0.08) & ~staff  # a party of two: this row and the next
        leads[-1:] = False
        rows = serial + np.arange(n)
        party = np.where(leads, rows, np.where(np.roll(leads, 1) & ~staff, rows - 1, -1))
        group = pc.if_else(pa.array(party >= 0), pc.cast(pa.array(party), pa.string()), pa.scalar(None, pa.string()))
        exit_seen = rng.random(n) >= 0.03
        order = rng.permutation(n)  # files are not sorted by time
        table = pa.table(
            {
                "customer_id": pc.cast(pa.array(np.arange(serial, serial + n)), pa.string()),
                "branch_id": pa.array([ids[b]] * n, pa.string()),
                "camera_id": pa.array(["cam1"] * n, pa.string()),
                "action_type": pa.array(np.where(is_in, "entered", "passed")[order], pa.string()),
                "enter_time": pa.array(enter[order], ts),
                "exit_time": pa.array(exit_[order], ts),
                "exit_observed": pa.array(exit_seen[order]),
                "dwell_seconds": pa.array(dwell_s[order]),
                "first_seen": pa.array(seen[order], ts),
                "last_seen": pa.array(exit_[order], ts),
                "track_id": pa.array(np.arange(n, dtype=np.int64)),
                "n_frames": pa.array(rng.integers(5, 500, n)),
                "mean_confidence": pa.array(rng.uniform(0.3, 0.95, n)),
                "source_video": pa.array(["synthetic.mp4"] * n, pa.string()),
                "video_fingerprint": pa.array(["0" * 64] * n, pa.string()),
                "model": pa.array(["yolo11n.pt"] * n, pa.string()),
                "processed_at": pa.array(np.full(n, processed), ts),
                "is_staff": pa.array(staff[order]),
                "staff_reason": pc.if_else(pa.array(staff[order]), "in view 50 min", pa.scalar(None, pa.string())),
                "group_id": group.take(pa.array(order)),
                "line_in": pa.nulls(n, pa.int64()),
                "line_out": pa.nulls(n, pa.int64()),
            }
        ).cast(MOVEMENT_SCHEMA)
        serial += n
        if not per_day:
            write_movements(table, data_dir, branch_id=ids[b], day=FIRST_DAY, source_key=f"synthetic_{ids[b]}")
            continue
        days_of_rows = day[order]
        for d in range(days):
            date = FIRST_DAY + dt.timedelta(days=d)
            part = table.filter(pa.array(days_of_rows == d))
            # The store's own layout, written directly: write_movements would
            # look for stale copies among all files written so far, every time.
            atomic_write_table(part, movements_root(data_dir) / ids[b] / date.isoformat() / "synthetic.parquet")


def make_config(branches: int, zones: bool = False) -> Any:
    """A config of ``branches`` branches with staff, promotions and events, built in memory.

    ``zones``: each branch also has camera cam1 with the demo-data's zones (``--zones``).
    """
    from retail_intel.config.loader import Config
    from retail_intel.config.models import Branch, Employee, Event, Promotion, Shifts, WeeklyShift

    days = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    ids = branch_ids(branches)
    branch_models = tuple(
        Branch(
            id=bid,
            name=f"Branch {bid}",
            capacity=40 + (i % 5) * 20,
            timezone=ZONES[i % len(ZONES)],
            customers_per_staff=8 + i % 4,
            min_staff=1 + i % 2,
        )
        for i, bid in enumerate(ids)
    )
    employees = tuple(
        Employee(
            id=f"{bid}-e{k}",
            branch=bid,
            name=f"Employee {k}",
            shifts=Shifts(
                weekly=[
                    WeeklyShift(day=day, start=f"{7 + 2 * k:02d}:00", end=f"{min(15 + 2 * k, 23):02d}:00")
                    for d, day in enumerate(days)
                    if (d + k) % 7 < 5
                ]
            ),
        )
        for bid in ids
        for k in range(5)
    )
    start = dt.datetime.combine(FIRST_DAY, dt.time(0), tzinfo=dt.UTC)
    promotions = (
        Promotion(
            id="p-all", name="Spring sale", start=start + dt.timedelta(days=40), end=start + dt.timedelta(days=47)
        ),
        Promotion(
            id="p-some",
            name="Coffee",
            branches=ids[::3],
            start=start + dt.timedelta(days=10),
            end=start + dt.timedelta(days=20),
        ),
    )
    events = tuple(
        Event(
            id=f"market-{bid}",
            name="Market",
            branch=bid,
            start=start + dt.timedelta(days=5, hours=9),
            end=start + dt.timedelta(days=5, hours=13),
            repeat="weekly",
        )
        for bid in ids[::2]
    )
    if zones:
        from benchmarks.zone_bench_data import zone_branch

        branch_models = tuple(
            b.model_copy(update={"cameras": zone_branch(b.id, b.timezone).cameras}) for b in branch_models
        )
    return Config(branches=branch_models, employees=employees, promotions=promotions, events=events)


def _peak_rss_kib() -> int:
    """This process's peak resident memory in KiB.

    /proc's VmHWM belongs to this process's own address space; ru_maxrss
    can also carry the parent's size at fork time into a spawned child.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _pin_cores() -> None:
    os.environ["POLARS_MAX_THREADS"] = str(CORES)
    if hasattr(os, "sched_setaffinity"):
        available = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, set(available[:CORES]))


def _child(
    implementation: str, data_dir: str, branches: int, window: int, out: str, queue: Any, zones: bool = False
) -> None:
    """Run one implementation in this fresh process and report timings and peak RSS."""
    _pin_cores()
    sys.path.insert(0, str(ROOT))
    from retail_intel.kpis import compute_kpis, write_kpis
    from retail_intel.kpis.compute import branch_info, config_intervals, read_movement_inputs
    from retail_intel.kpis.inputs import KpiParams, prepare_inputs

    config = make_config(branches, zones)
    if implementation == "pandas":
        import pandas  # type: ignore[import-untyped]  # noqa: F401  (imported before timing)

        from benchmarks import pandas_kpis
    elif implementation == "polars":
        import polars  # noqa: F401
    else:
        import duckdb  # noqa: F401
    baseline_rss = _peak_rss_kib()
    before = resource.getrusage(resource.RUSAGE_SELF)
    began = time.perf_counter()
    write_s = None
    if implementation == "pandas":
        params = KpiParams(window_minutes=window)
        movements = read_movement_inputs(Path(data_dir))
        prepared = prepare_inputs(
            movements, [branch_info(b) for b in config.branches], params, intervals=config_intervals(config)
        )
        del movements
        table = pandas_kpis.compute(prepared.inputs, params)
        wall = time.perf_counter() - began
    else:
        if zones:
            # Both kinds of KPIs from one read of the movements and queue visits (docs/zones.md).
            from retail_intel.kpis.with_zones import compute_kpis_with_zones

            result, zone_result = compute_kpis_with_zones(
                config, Path(data_dir), window_minutes=window, engine=implementation, write=False
            )
            pq.write_table(zone_result.zones, out + ".zones")
            pq.write_table(zone_result.queues, out + ".queues")
        else:
            result = compute_kpis(config, Path(data_dir), window_minutes=window, engine=implementation, write=False)
        table = result.table
        wall = time.perf_counter() - began
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime - before.ru_utime - before.ru_stime
    peak_rss = _peak_rss_kib()
    if implementation != "pandas":
        with tempfile.TemporaryDirectory() as scratch:
            started = time.perf_counter()
            write_kpis(table, Path(scratch))
            write_s = time.perf_counter() - started
    pq.write_table(table, out)
    queue.put(
        {
            "implementation": implementation,
            "wall_s": wall,
            "cpu_s": cpu,
            "peak_rss_mib": peak_rss / 1024,
            "start_rss_mib": baseline_rss / 1024,
            "rows": table.num_rows,
            "write_s": write_s,
        }
    )


def run_isolated(
    implementation: str, data_dir: Path, branches: int, window: int, out: Path, zones: bool = False
) -> dict[str, Any]:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    process = ctx.Process(target=_child, args=(implementation, str(data_dir), branches, window, str(out), queue, zones))
    process.start()
    process.join()
    if process.exitcode != 0:
        raise SystemExit(f"{implementation}: child process failed with exit code {process.exitcode}")
    result: dict[str, Any] = queue.get(timeout=10)
    return result


def compare(reference: Path, other: Path, columns: Any = None) -> str:
    """'same' when every KPI agrees (floats to 1e-9 relative), else the first difference."""
    from retail_intel.kpis.schema import COMPARED_COLUMNS

    left, right = pq.read_table(reference), pq.read_table(other)
    columns = COMPARED_COLUMNS if columns is None else columns
    if left.num_rows != right.num_rows:
        return f"{left.num_rows} vs {right.num_rows} rows"
    # The pandas version lacks the staff / group / door-count columns and the KPIs built on them
    # (congestion, utilization, bottleneck): compared on the rest.
    for name in [c for c in columns if c in right.column_names and c in left.column_names]:
        a, b = left[name], right[name]
        if pa.types.is_floating(a.type):
            x = a.to_numpy(zero_copy_only=False).astype(float)
            y = b.to_numpy(zero_copy_only=False).astype(float)
            if not np.allclose(x, y, rtol=1e-9, atol=1e-9, equal_nan=True):
                bad = int(np.flatnonzero(~np.isclose(x, y, rtol=1e-9, atol=1e-9, equal_nan=True))[0])
                return f"{name} differs at row {bad}: {x[bad]} vs {y[bad]}"
        elif not a.equals(b.cast(a.type)):
            return f"{name} differs"
    return "same"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--movements", type=int, default=10_000_000)
    parser.add_argument("--branches", type=int, default=100)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--window", type=int, default=60, help="window minutes")
    parser.add_argument("--implementations", default=",".join(IMPLEMENTATIONS))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--layout",
        choices=("day", "branch"),
        default="day",
        help="movement files: one per branch and day (default, 9,000 files) or one per branch",
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs per implementation; the fastest is reported")
    parser.add_argument("--keep", type=Path, help="generate into (or reuse) this directory instead of a temp one")
    parser.add_argument(
        "--zones", action="store_true", help="also zone visits and queues, and the zone KPIs (duckdb, polars)"
    )
    parser.add_argument(
        "--compact",
        action="store_true",
        help="then compact the store (retail-intel compact) and run every implementation again; "
        "with --keep the kept directory stays compacted",
    )
    args = parser.parse_args()
    chosen = [i.strip() for i in args.implementations.split(",") if i.strip()]

    with tempfile.TemporaryDirectory(prefix="bench_kpis_") as tmp:
        data_dir = args.keep or Path(tmp) / "data"
        if not (data_dir / "movements").exists():
            began = time.perf_counter()
            generate(
                data_dir,
                movements=args.movements,
                branches=args.branches,
                days=args.days,
                seed=args.seed,
                per_day=args.layout == "day",
            )
            print(f"generated {args.movements:,} movements in {time.perf_counter() - began:.1f} s", file=sys.stderr)
        if args.zones and not (data_dir / "zone_visits").exists():
            from benchmarks.zone_bench_data import generate_zones

            began = time.perf_counter()
            tzs = {bid: ZONES[i % len(ZONES)] for i, bid in enumerate(branch_ids(args.branches))}
            visits = generate_zones(data_dir, tzs, args.seed)
            print(f"generated {visits:,} zone visits in {time.perf_counter() - began:.1f} s", file=sys.stderr)
        from retail_intel.movements.compacted import compacted_files

        # a --keep directory compacted by an earlier run is read compacted from the start
        was_compacted = bool(compacted_files(data_dir / "movements"))
        results = _round(chosen, data_dir, Path(tmp) / "per-video", args)
        compacted: list[dict[str, Any]] = []
        if args.compact:
            from retail_intel.movements.compaction import compact_store

            began = time.perf_counter()
            done = compact_store(data_dir, before=dt.date.max)
            print(
                f"compacted {done.files_merged:,} files in {time.perf_counter() - began:.1f} s "
                f"({sum(t.months_written for t in done.tables.values()):,} month files)",
                file=sys.stderr,
            )
            compacted = _round(chosen, data_dir, Path(tmp) / "compacted", args, reference=results[0])
        cpu = os.cpu_count()
        print(
            f"\n{args.movements:,} movements, {args.branches} branches, {args.days} days, "
            f"{args.window}-minute windows; each run in its own process on {CORES} cores "
            f"(machine has {cpu}); best of {args.repeat}; Python {sys.version.split()[0]}\n"
        )
        print(
            "| implementation | store layout | wall s (read + prepare + compute) | CPU s | peak RSS MiB | rows out "
            "| store write s | same KPIs |"
        )
        print("|---|---|---:|---:|---:|---:|---:|---|")
        first_layout = "compacted by month" if was_compacted else "one file per video"
        for layout, rows in ((first_layout, results), ("compacted by month", compacted)):
            for r in rows:
                write = "-" if r["write_s"] is None else f"{r['write_s']:.2f}"
                print(
                    f"| {r['implementation']} | {layout} | {r['wall_s']:.2f} | {r['cpu_s']:.2f} "
                    f"| {r['peak_rss_mib']:,.0f} | {r['rows']:,} | {write} | {r['check']} |"
                )
        print(
            f"\n(peak RSS includes the interpreter and libraries: {results[0]['start_rss_mib']:,.0f} MiB before work)"
        )


def _round(
    chosen: list[str], data_dir: Path, out_dir: Path, args: argparse.Namespace, reference: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Each implementation on ``data_dir`` (best of ``--repeat``), checked against the first (or ``reference``)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    results = []
    for implementation in chosen:
        out = out_dir / f"{implementation}.parquet"
        runs = []
        for attempt in range(args.repeat):
            run = run_isolated(implementation, data_dir, args.branches, args.window, out, args.zones)
            print(f"{implementation} run {attempt + 1}: {run['wall_s']:.2f} s", file=sys.stderr)
            runs.append(run)
        result = min(runs, key=lambda r: r["wall_s"])  # the least disturbed run
        result["out"] = out
        results.append(result)
    first = reference or results[0]
    for result in results:
        result["check"] = "reference" if result is first else compare(first["out"], result["out"])
        if args.zones and result is not first and result["implementation"] != "pandas":
            for part in (".zones", ".queues"):
                mine, theirs = Path(str(result["out"]) + part), Path(str(first["out"]) + part)
                names = pq.read_table(mine).column_names
                result["check"] += f", {part[1:]} {compare(theirs, mine, names)}"
    return results


if __name__ == "__main__":
    main()
