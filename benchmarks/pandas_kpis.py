"""A straightforward pandas implementation of the same KPIs, for the benchmark's comparison.

Same inputs as the two engines (:class:`retail_intel.kpis.inputs.KpiInputs`)
and the same definitions (docs/kpis.md), written the way one would with
pandas: ``merge_asof`` to find each timestamp's window, ``groupby`` for
counts and dwell, a sort and ``cumsum`` for the occupancy sweep. Not part
of the package; the benchmark checks its output equals the engines'.
"""

from __future__ import annotations

import numpy as np
import pandas as pd  # type: ignore[import-untyped]
import pyarrow as pa

from retail_intel.kpis.inputs import KpiInputs, KpiParams
from retail_intel.kpis.schema import KPI_SCHEMA


def _us(series: pd.Series) -> pd.Series:
    return series.astype("datetime64[us, UTC]").astype("int64")


def _assign(frame: pd.DataFrame, column: str, windows: pd.DataFrame) -> pd.DataFrame:
    """Each row's window (gw, ws, we) by an as-of merge on time, per branch."""
    merged = pd.merge_asof(
        frame.sort_values(column),
        windows[["b", "ws", "we", "gw"]].sort_values("ws"),
        left_on=column,
        right_on="ws",
        by="b",
        direction="backward",
    )
    return merged[merged["gw"].notna() & (merged[column] < merged["we"])].astype({"gw": "int64"})


def compute(inputs: KpiInputs, params: KpiParams) -> pa.Table:
    w = inputs.windows.to_pandas()
    branches = inputs.branches.to_pandas()
    index = {branch: i for i, branch in enumerate(branches["branch_id"])}
    w["b"] = w["branch_id"].map(index).astype("int64")
    w = w.sort_values(["branch_id", "seq"]).reset_index(drop=True)
    w["gw"] = np.arange(len(w))
    w["ws"], w["we"] = _us(w["window_start"]), _us(w["window_end"])
    bounds = w.groupby("b").agg(s0=("ws", "min"), s1=("we", "max"))

    mv = inputs.movements.to_pandas()
    mv["b"] = mv["branch_id"].astype(str).map(index)
    mv = mv[mv["b"].notna()].astype({"b": "int64"})
    if not params.include_staff:  # staff are not customers (docs/staff-groups.md), as in both engines
        mv = mv[~mv["is_staff"].fillna(False).astype(bool)]
    mv["tin"], mv["tout"], mv["tfs"] = _us(mv["enter_time"]), _us(mv["exit_time"]), _us(mv["first_seen"])
    mv = mv.join(bounds, on="b")
    is_in = mv["action_type"].astype(str) == "entered"
    is_passed = mv["action_type"].astype(str) == "passed"

    visitors = _assign(mv.loc[is_in, ["b", "tin", "dwell_seconds"]], "tin", w)
    visitors = visitors.groupby("gw")["dwell_seconds"].agg(["count", "mean", "median"])
    visitors.columns = ["visitors", "mean_dwell", "median_dwell"]
    passed = _assign(mv.loc[is_passed, ["b", "tfs"]], "tfs", w).groupby("gw").size().rename("passed")

    # Occupancy: +1 at enter (clipped to the series start), -1 at exit.
    ent = mv[is_in & (mv["tout"] > mv["tin"]) & (mv["tout"] > mv["s0"]) & (mv["tin"] < mv["s1"])]
    events = pd.concat(
        [
            pd.DataFrame({"b": ent["b"], "t": np.maximum(ent["tin"], ent["s0"]), "d": 1}),
            pd.DataFrame({"b": ent["b"], "t": ent["tout"], "d": -1})[ent["tout"] < ent["s1"]],
        ],
        ignore_index=True,
    )
    del ent, mv
    events = _assign(events, "t", w).sort_values(["gw", "t", "d"])
    events["level"] = events.groupby("gw")["d"].cumsum()
    events["at_start"] = np.where(events["t"] == events["ws"], events["d"], 0)
    events["tail"] = events["d"] * (events["we"] - events["t"])
    events["after"] = events["level"].where(events["t"] > events["ws"])
    occupancy = events.groupby("gw").agg(
        net=("d", "sum"), net_at_start=("at_start", "sum"), tail_us=("tail", "sum"), max_after=("after", "max")
    )
    del events

    # Staff presence, promotions and events: each interval over the windows it overlaps.
    iv = inputs.intervals.to_pandas()
    iv["b"] = iv["branch_id"].map(index)
    iv = iv[iv["b"].notna()].astype({"b": "int64"}).join(bounds, on="b")
    iv["a"] = np.maximum(_us(iv["start"]), iv["s0"])
    iv["z"] = np.minimum(_us(iv["end"]), iv["s1"])
    iv = iv[iv["a"] < iv["z"]]
    first = _assign(iv[["b", "kind", "a", "z"]], "a", w).rename(columns={"gw": "g0"})
    first["z1"] = first["z"] - 1
    spans = _assign(first[["b", "kind", "a", "z", "z1", "g0"]], "z1", w).rename(columns={"gw": "g1"})
    spans["gw"] = [list(range(g0, g1 + 1)) for g0, g1 in zip(spans["g0"], spans["g1"], strict=True)]
    spans = spans[["kind", "a", "z", "gw"]].explode("gw").astype({"gw": "int64"})
    spans = spans.merge(w[["gw", "ws", "we"]], on="gw")
    spans["staff_us"] = np.where(
        spans["kind"] == "staff", np.minimum(spans["z"], spans["we"]) - np.maximum(spans["a"], spans["ws"]), 0
    )
    flags = spans.groupby("gw").agg(
        staff_us=("staff_us", "sum"),
        promotion_active=("kind", lambda k: bool((k == "promotion").any())),
        event_active=("kind", lambda k: bool((k == "event").any())),
    )

    k = w.join(visitors, on="gw").join(passed, on="gw").join(occupancy, on="gw").join(flags, on="gw")
    k = k.join(branches[["capacity", "customers_per_staff", "min_staff"]], on="b")
    for column in ("visitors", "passed", "net", "net_at_start", "tail_us", "staff_us"):
        k[column] = k[column].fillna(0).astype("int64")
    k["promotion_active"] = k["promotion_active"].fillna(False).astype(bool)
    k["event_active"] = k["event_active"].fillna(False).astype(bool)
    k["carry"] = k.groupby("b")["net"].cumsum() - k["net"]

    # Growth momentum: least-squares slope over the last M windows, from rolling sums.
    m = params.momentum_windows
    k["xy"], k["xx"], k["one"] = k["seq"] * k["visitors"], k["seq"] * k["seq"], 1
    rolled = k.groupby("b")[["one", "seq", "visitors", "xy", "xx"]].rolling(m, min_periods=1).sum()
    rolled = rolled.reset_index(level=0, drop=True).sort_index()
    n, sx, sy, sxy, sxx = (rolled[c] for c in ("one", "seq", "visitors", "xy", "xx"))
    denominator = n * sxx - sx * sx
    k["momentum"] = ((n * sxy - sx * sy) / denominator).where(denominator != 0)

    # Baseline: same local weekday and slot 1..N weeks earlier, windows that exist.
    earlier = k[["b", "slot_date", "slot_minute", "slot_fold", "visitors"]]
    looked = []
    for j in range(1, params.baseline_weeks + 1):
        probe = k.loc[k["is_output"], ["gw", "b", "slot_date", "slot_minute", "slot_fold"]].copy()
        probe["slot_date"] = probe["slot_date"] - pd.Timedelta(days=7 * j)
        looked.append(probe.merge(earlier, on=["b", "slot_date", "slot_minute", "slot_fold"]))
    baseline = pd.concat(looked).groupby("gw")["visitors"].mean().rename("baseline")

    k = k[k["is_output"]].join(baseline, on="gw")
    length = (k["we"] - k["ws"]).astype("float64")
    peak = np.maximum(k["carry"] + k["net_at_start"], (k["carry"] + k["max_after"]).fillna(-1)).astype("int64")
    required = np.maximum(k["min_staff"], np.ceil(peak / k["customers_per_staff"])).astype("int64")
    staff = k["staff_us"] / length
    adequacy = (staff / required).where(required != 0)
    seen = k["visitors"] + k["passed"]
    out = pd.DataFrame(
        {
            "branch_id": k["branch_id"],
            "window_start": k["window_start"],
            "window_end": k["window_end"],
            "window_minutes": params.window_minutes,
            "visitors": k["visitors"],
            "passed": k["passed"],
            "conversion_proxy": (k["visitors"] / seen).where(seen != 0),
            "baseline": k["baseline"],
            "traffic_index": (k["visitors"] / k["baseline"]).where(k["baseline"] != 0),
            "peak_occupancy": peak,
            "avg_occupancy": (k["carry"] * (k["we"] - k["ws"]) + k["tail_us"]) / length,
            "growth_momentum": k["momentum"],
            "staff_on_duty": staff,
            "required_staff": required,
            "staffing_adequacy": adequacy,
            "mean_dwell_seconds": k["mean_dwell"],
            "median_dwell_seconds": k["median_dwell"],
            "promotion_active": k["promotion_active"],
            "event_active": k["event_active"],
            "computed_at": pd.Timestamp(params.computed_at),
        }
    ).sort_values(["branch_id", "window_start"])
    # Only the columns computed here; the benchmark compares the columns both tables have. Left out:
    # the staff / group / door-count columns, and congestion, utilization and bottleneck, which use the
    # door-count occupancy reconciled per day (docs/kpis.md) that this version does not compute.
    schema = pa.schema([KPI_SCHEMA.field(name) for name in out.columns])
    return pa.Table.from_pandas(out, preserve_index=False).cast(schema)
