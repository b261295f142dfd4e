"""From runs to what a reader wants: medians with intervals, speedups, verdicts (lab.analysis.present
writes them, lab.analysis.console lays them out)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd

from lab.analysis.roadmap import BASELINE_QPS, roadmap_stage
from lab.analysis.verdicts import Speedup, speedup
from lab.model.bottleneck import FLOORS, HELD_RATE_SHARE, prevailing
from lab.model.target import CALIBRATION_TARGET

SUMMARY_METRICS = ("qps", "latency_p50_us", "latency_p99_us", "server_cpu_us_per_request")
# From the counted runs, where the batch has them (lab compare --instructions).
COUNTED_METRIC = "server_instructions_per_request"


def median_interval(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float, float]:
    """Median and a distribution-free interval for it from order statistics (binomial).

    With fewer than 6 values no pair of order statistics reaches 95%, and the interval is
    [min, max] (for n = 5 its coverage is 93.75%; for n = 1 it is the single value)."""
    ordered = sorted(values)
    n = len(ordered)
    if n == 0:
        return (math.nan, math.nan, math.nan)
    median = float(pd.Series(ordered).median())
    alpha = 1.0 - confidence
    # [x_(K), x_(n-K+1)] (1-based) covers the median with probability 1 - 2 P(B <= K-1), B ~
    # Binomial(n, 1/2); K is the largest with P(B <= K-1) <= alpha/2, so its 0-based index is K-1.
    low_index = 0
    cumulative = 0.0
    for k in range(n):
        cumulative += math.comb(n, k) / 2**n
        if cumulative > alpha / 2:
            break
        low_index = k
    low_index = min(low_index, (n - 1) // 2)
    return median, float(ordered[low_index]), float(ordered[n - 1 - low_index])


def summarize(runs: pd.DataFrame, counted: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per (target, scenario): run counts, median and interval of SUMMARY_METRICS, speedup
    of the median QPS over stage 0's in the same scenario, the roadmap's target, verdicts; with
    counted runs, the median and interval of their instructions per request too."""
    if runs.empty:
        return pd.DataFrame()
    rows = []
    runs = runs.assign(scenario=[
        scenario if pd.isna(level) else f"{scenario} @{level:.0%}"
        for scenario, level in zip(runs["scenario"], runs.get("load_level", pd.Series([None] * len(runs))),
                                   strict=True)
    ])
    ok = runs[runs["error"].isna()] if "error" in runs else runs
    for (label, scenario), group in runs.groupby(["target_label", "scenario"], sort=False):
        good = ok[(ok["target_label"] == label) & (ok["scenario"] == scenario)]
        row: dict[str, object] = {
            "target": label,
            "stage": group["stage"].iloc[0],
            "scenario": scenario,
            "runs": len(group),
            # A rate the scenario asked for (open loop) is no measure of speed; the calibration
            # measures the generator: neither has a speedup.
            "comparable": bool(group["target_rate"].isna().all() and (group["target"] != CALIBRATION_TARGET).all()),
            "failed_runs": len(group) - len(good),
            "error": None if good.shape[0] else str(group["error"].dropna().iloc[-1]),
        }
        for metric in SUMMARY_METRICS:
            values = [float(v) for v in good.get(metric, pd.Series(dtype=float)).dropna()]
            median, low, high = median_interval(values)
            row[metric] = median
            row[f"{metric}_low"] = low
            row[f"{metric}_high"] = high
        limits = good.get("bottleneck", pd.Series(dtype=str))
        row["generator_bound_runs"] = int(limits.isin(FLOORS).sum())
        row["bottleneck"] = prevailing(limits)
        row["users"] = group["users"].max() if "users" in group else math.nan
        row["failures"] = int(good["failures"].sum()) if "failures" in good else 0
        row["verified"] = bool(good["verified"].all()) if "verified" in good and len(good) else None
        roadmap = roadmap_stage(None if pd.isna(row["stage"]) else int(row["stage"]))  # type: ignore[call-overload]
        row["roadmap_qps"] = roadmap.qps_target if roadmap else None
        # The roadmap's own speedup: from what it reports achieving where it does, else its target.
        row["roadmap_speedup"] = (roadmap.qps_achieved or roadmap.qps_target) / BASELINE_QPS if roadmap else None
        rows.append(row)
    frame = pd.DataFrame(rows)
    baseline = frame[frame["target"] == "stage0"].drop_duplicates("scenario").set_index("scenario")
    ratios = [
        speedup(qps, bound, baseline["qps"].get(scenario), baseline["bottleneck"].get(scenario))
        if comparable else Speedup(None, False)
        for qps, bound, scenario, comparable in zip(frame["qps"], frame["bottleneck"], frame["scenario"],
                                                    frame["comparable"], strict=True)
    ]
    # Only a ratio of two server-bound rates is a speedup; a stage whose generator was full gives a floor.
    frame["speedup"] = [math.nan if r.value is None else r.value for r in ratios]
    frame["speedup_is_floor"] = [r.floor for r in ratios]
    return frame if counted is None or counted.empty else _with_counts(frame, counted)


def _with_counts(frame: pd.DataFrame, counted: pd.DataFrame) -> pd.DataFrame:
    """The summary with each target × scenario's counted instructions per request (median and
    interval over its counted runs; none where it was not counted or every count failed)."""
    good = counted[counted["error"].isna()]
    cells: dict[str, list[float]] = {name: [] for name in (COUNTED_METRIC, f"{COUNTED_METRIC}_low",
                                                            f"{COUNTED_METRIC}_high")}
    counted_runs = []
    for label, scenario in zip(frame["target"], frame["scenario"], strict=True):
        values = good[(good["target_label"] == label) & (good["scenario"] == scenario)][COUNTED_METRIC]
        for name, value in zip(cells, median_interval([float(v) for v in values.dropna()]), strict=True):
            cells[name].append(value)
        counted_runs.append(int(((counted["target_label"] == label) & (counted["scenario"] == scenario)).sum()))
    return frame.assign(counted_runs=counted_runs, **cells)


def equal_load_table(runs: pd.DataFrame) -> pd.DataFrame:
    """CPU per request where every target was offered the same load: the open-loop scenarios'
    runs that held their rate, ranked. A closed loop's CPU per request is measured at whatever
    rate each target reached (a wake-up per request costs more at a low rate), so it ranks
    servers only where their rates were alike; here they were. The minimal server's runs at the
    same schedule (the calibration) are the floor."""
    if runs.empty:
        return pd.DataFrame()
    ok = runs[runs["error"].isna() & runs["target_rate"].notna() & runs["load_level"].isna()
              & runs["server_cpu_us_per_request"].notna()]
    ok = ok[ok["qps"] >= HELD_RATE_SHARE * ok["target_rate"]]
    if ok.empty:
        return pd.DataFrame()
    table = ok.groupby(["scenario", "target_label"], sort=False).agg(
        rate=("target_rate", "first"), qps=("qps", "median"), runs=("run_id", "count"),
        cpu_us_per_request=("server_cpu_us_per_request", "median"),
        calibration=("target", lambda s: bool((s == CALIBRATION_TARGET).all()))).reset_index()
    floors = table[table["calibration"]].set_index("scenario")["cpu_us_per_request"]
    table["above_floor_us"] = table["cpu_us_per_request"] - table["scenario"].map(floors)
    # The floor first, then the targets by rank (a sort on several columns is stable in pandas).
    table = table.sort_values(["scenario", "calibration", "cpu_us_per_request"], ascending=[True, False, True])
    table["rank"] = table[~table["calibration"]].groupby("scenario").cumcount() + 1
    return table.drop(columns="calibration").reset_index(drop=True)


def generator_note(runs: pd.DataFrame) -> str | None:
    """How the load was generated: each driver's processes (wrk: threads) and the CPUs they ran on."""
    done = runs[runs["error"].isna() & runs["load_processes_reporting"].notna()]
    parts = []
    for (driver, processes, cpus), _ in done.groupby(["driver", "load_processes_reporting", "client_cpus"],
                                                     dropna=False, sort=True):
        unit = ("thread" if driver == "wrk" else "process") if processes == 1 else (
            "threads" if driver == "wrk" else "processes")
        where = "unpinned" if pd.isna(cpus) else f"on client CPUs {cpus}"
        parts.append(f"{driver} with {processes:.0f} {unit} per run, {where}")
    return f"load: {'; '.join(parts)}" if parts else None


def counted_summary(counted: pd.DataFrame) -> pd.DataFrame:
    """One row per counted target × scenario: its counted runs, the median and range of their
    instructions per request, the spread (max / min − 1), and system calls per request."""
    rows = []
    for (label, scenario), group in counted.groupby(["target_label", "scenario"], sort=False):
        good = group[group["error"].isna()]
        values = [float(v) for v in good[COUNTED_METRIC].dropna()]
        median, low, high = median_interval(values)
        rows.append({"target": label, "scenario": scenario, "counted_runs": len(group),
                     "failed": len(group) - len(good), "instructions": median, "low": low, "high": high,
                     "spread": max(values) / min(values) - 1 if values else math.nan,
                     "syscalls": float(good["server_syscalls_per_request"].median()) if len(good) else math.nan,
                     "error": None if len(good) else str(group["error"].dropna().iloc[-1])})
    return pd.DataFrame(rows)


def saturation_hint(runs: pd.DataFrame, wrk_here: bool) -> str | None:
    """What to do when the load generator, not the servers, set most of the numbers; `wrk_here`:
    whether wrk is installed (the command asks: analysis computes, it does not probe)."""
    locust = runs[(runs["driver"] == "locust") & (runs["target"] != CALIBRATION_TARGET)]
    saturated = int(locust["bottleneck"].isin(FLOORS).sum())
    if not saturated or saturated * 2 < len(locust):
        return None
    remedy = ("rank them by CPU µs/request, or measure ceilings with --driver wrk (closed-loop scenarios)"
              if wrk_here else
              "rank them by CPU µs/request, or install wrk (apt-get install wrk) and use --driver wrk")
    return (f"{saturated} of {len(locust)} locust runs were generator-bound: their QPS is what locust could "
            f"send, not what the server can serve; {remedy}, or add load machines (lab worker).")


