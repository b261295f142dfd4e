"""The notebooks' tables: one batch, measured next to the roadmap."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lab.analysis.batch import Batch
from lab.analysis.diff import finished
from lab.analysis.moved import COUNTED_COST, function_medians
from lab.analysis.roadmap import (
    INDUSTRY,
    INDUSTRY_SCENARIO,
    INDUSTRY_STAGE,
    MEMORY_BASELINE_STAGE,
    ROADMAP,
    roadmap_lines,
    roadmap_table,
)
from lab.analysis.summary import counted_summary, summarize
from lab.analysis.verdicts import Verdict, judge, judge_industry, speedup
from lab.model.bottleneck import FLOORS, prevailing
from lab.model.target import CALIBRATION_TARGET


def stage_table(batch: Batch, scenario: str) -> pd.DataFrame:
    """Measured vs roadmap per stage for one scenario (medians over repeats)."""
    runs = batch.good_runs
    runs = runs[(runs["scenario"] == scenario) & runs["stage"].notna()]
    if runs.empty:
        return pd.DataFrame()
    measured = runs.groupby("stage").agg(
        runs=("run_id", "count"),
        qps=("qps", "median"),
        latency_mean_ms=("latency_mean_us", lambda s: s.median() / 1000),
        latency_p99_ms=("latency_p99_us", lambda s: s.median() / 1000),
        cpu_us_per_request=("server_cpu_us_per_request", "median"),
        peak_rss_mib=("server_rss_peak_bytes", lambda s: s.median() / 2**20),
        kib_per_connection=("server_rss_per_connection_bytes", lambda s: s.median() / 1024),
        generator_bound=("bottleneck", lambda s: int(s.isin(FLOORS).sum())),
        bottleneck=("bottleneck", prevailing),
    )
    measured.index = measured.index.astype(int)
    base = measured["qps"].get(0, np.nan)
    base_limit = measured["bottleneck"].get(0)
    ratios = [speedup(qps, limit, base, base_limit) for qps, limit in zip(measured["qps"], measured["bottleneck"],
                                                                          strict=True)]
    measured["speedup"] = [r.value if r.value is not None and not r.floor else np.nan for r in ratios]
    measured["speedup_at_least"] = [r.value if r.floor else np.nan for r in ratios]
    # The roadmap's memory targets are per held connection against stage 2 (whole-process RSS
    # is mostly the interpreter and its libraries, not the connections).
    base_connection = measured["kib_per_connection"].get(MEMORY_BASELINE_STAGE, np.nan)
    measured["memory_per_connection_change"] = measured["kib_per_connection"] / base_connection - 1
    roadmap = roadmap_table().set_index("stage")[["qps_target", "speedup_reported", "mean_latency_ms", "memory_change"]]
    roadmap.columns = ["roadmap_qps", "roadmap_speedup", "roadmap_mean_ms", "roadmap_memory_change"]
    return measured.join(roadmap, how="left").reset_index()


def criteria_table(batch: Batch) -> pd.DataFrame:
    """Every stage of the batch against its own lines of the roadmap (lab.analysis.roadmap), and
    stage 4 against the final criteria and the industry peers: pass, fail, not measured here (and
    how to measure it), not measurable on this machine (and what would), or for stage 0 the
    baseline it reproduces; each judged only from evidence that can judge it (lab.analysis.verdicts)."""
    runs = batch.good_runs
    staged = runs[runs["stage"].notna()]
    stages = {int(stage) for stage in staged["stage"]}
    rows = []
    for line in roadmap_lines():
        if line.stage not in stages:
            continue
        verdict = judge(line, staged[staged["stage"] == line.stage], runs)
        rows.append(_criterion_row(line.stage, line.text, line.scenario, verdict))
    if INDUSTRY_STAGE in stages:
        rows += [_criterion_row(INDUSTRY_STAGE, line.text, INDUSTRY_SCENARIO, judge_industry(line, runs))
                 for line in INDUSTRY]
    return pd.DataFrame(rows)


def _criterion_row(stage: int, text: str, scenario: str | None, verdict: Verdict) -> dict[str, object]:
    return {"stage": stage, "criterion": text, "read on": scenario or "its best run", "verdict": verdict.verdict,
            "value": verdict.value, "bound": verdict.bound, "floor": verdict.floor, "evidence": verdict.evidence,
            "how": verdict.how}


def industry_table(batch: Batch) -> pd.DataFrame:
    """Stage 4 beside the peers measured in the batch, per closed-loop scenario: median QPS and
    CPU µs per request on this core, the roadmap's figure for the industry peers and stage 4
    (from another machine: to read beside, never judged), and stage 4's QPS over each's."""
    runs = batch.good_runs
    closed = runs[runs["target_rate"].isna() & ((runs["stage"] == INDUSTRY_STAGE)
                                                | (runs["stage"].isna() & (runs["target"] != CALIBRATION_TARGET)))]
    if closed.empty or not closed["target"].isin([line.peer for line in INDUSTRY]).any():
        return pd.DataFrame()
    table = closed.groupby(["scenario", "target"]).agg(
        runs=("run_id", "count"), qps=("qps", "median"), cpu_us_per_request=("server_cpu_us_per_request", "median"),
        generator_bound=("bottleneck", lambda s: int(s.isin(FLOORS).sum())),
    ).reset_index()
    roadmap = {f"stage{INDUSTRY_STAGE}": ROADMAP[INDUSTRY_STAGE].qps_target,
               **{line.peer: line.roadmap_qps for line in INDUSTRY}}
    table["roadmap_qps"] = table["target"].map(roadmap)
    own = table[table["target"] == f"stage{INDUSTRY_STAGE}"].set_index("scenario")["qps"]
    table[f"stage{INDUSTRY_STAGE}_over_it"] = table["scenario"].map(own) / table["qps"]
    return table.sort_values(["scenario", "qps"], ascending=[True, False]).reset_index(drop=True)


def latency_floor_table(batch: Batch) -> pd.DataFrame:
    """Each target's latency under each open-loop scenario beside the machine's floor there (the
    minimal server at the same schedule, same repeats), and what the target adds above it:
    medians over repeats of each run's own difference to its repeat's floor."""
    runs = batch.good_runs
    runs = runs[runs["target_rate"].notna() & runs["latency_floor_p99_us"].notna()]
    if runs.empty:
        return pd.DataFrame()
    parts = ("mean", "p50", "p99")
    runs = runs.assign(**{f"added_{part}_us": runs[f"latency_corrected_{part}_us"] - runs[f"latency_floor_{part}_us"]
                          for part in parts})
    medians = {f"{name}_us": (f"{column}_us", "median") for part in parts
               for name, column in ((part, f"latency_corrected_{part}"), (f"floor_{part}", f"latency_floor_{part}"),
                                    (f"added_{part}", f"added_{part}"))}
    table = runs.groupby(["scenario", "target_label"], sort=False).agg(
        runs=("run_id", "count"), rate=("target_rate", "first"), **medians)
    return table.reset_index()


def calibration_table(batch: Batch) -> pd.DataFrame:
    """The load generator's ceiling per scenario (its runs against the minimal server), and how
    near each stage came to it: a stage at its ceiling measured the generator."""
    calibration = batch.calibration_runs
    if calibration.empty:
        return pd.DataFrame({"note": ["no calibration in this batch (lab compare --no-calibrate, or an older batch)"]})
    # "calibration" and, where targets close every connection, "calibration --close": two ceilings.
    ceiling = calibration.groupby(["scenario", "target_label", "driver", "client"], as_index=False).agg(
        ceiling_qps=("qps", "median"), generator_cpu_busy=("generator_cpu_busy", "median"))
    runs = batch.good_runs
    near = runs[runs["generator_ceiling_share"].notna()].pivot_table(
        index="scenario", columns="target_label", values="generator_ceiling_share", aggfunc="median")
    near.columns = [f"{label} / ceiling" for label in near.columns]
    return ceiling.merge(near, left_on="scenario", right_index=True, how="left").round(2)


def matrix(batch: Batch, metric: str) -> pd.DataFrame:
    """target × scenario medians of one metric (the heat maps' data)."""
    runs = batch.good_runs
    if runs.empty:
        return pd.DataFrame()
    return runs.pivot_table(index="target_label", columns="scenario", values=metric, aggfunc="median")


def spread_table(batch: Batch) -> pd.DataFrame:
    """Per target and scenario: medians and 95% intervals across repeats (lab.analysis.summary)."""
    return summarize(batch.runs)


# Functions shown per target × scenario on the report's counted section.
TOP_FUNCTIONS = 8


def instructions_table(batch: Batch) -> pd.DataFrame:
    """Instructions per request by target and scenario, counted (the roadmap's steps in a unit
    that does not drift): median, range and spread over the counted runs, system calls per request."""
    if batch.counted.empty:
        return pd.DataFrame()
    table = counted_summary(batch.counted)
    return pd.DataFrame({"target_label": table["target"], "scenario": table["scenario"],
                         "counted_runs": table["counted_runs"] - table["failed"],
                         "instructions_per_request": table["instructions"], "lowest": table["low"],
                         "highest": table["high"], "spread_percent": table["spread"] * 100,
                         "syscalls_per_request": table["syscalls"]})


def top_functions_table(batch: Batch, top: int = TOP_FUNCTIONS) -> pd.DataFrame:
    """Each counted target × scenario's `top` functions by their own instructions per request
    (medians of its counted runs)."""
    rows = []
    for (target, scenario), medians in function_medians(finished(batch.counted), batch.functions,
                                                        COUNTED_COST).items():
        for (obj, function), value in medians["median"].sort_values(ascending=False).head(top).items():
            rows.append({"target_label": target, "scenario": scenario, "object": obj, "function": function,
                         "self_instructions_per_request": value})
    return pd.DataFrame(rows)
