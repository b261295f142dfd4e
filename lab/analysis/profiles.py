"""What the profiled runs of a batch say: each target × scenario's profiler cost (its QPS against
the timed runs' of the same batch), its top functions in µs per request, and its stacks for the
flame graphs (lab.run.profiled made them; lab.profiling.flame draws them)."""

from __future__ import annotations

import math

import pandas as pd

from lab.analysis.diff import finished, measured_runs, pair_rows
from lab.analysis.moved import PROFILED_COST, FunctionCost, function_medians
from lab.profiling.flame import flame_graph
from lab.profiling.stacks import Stacks, unfolded

# Functions shown per target × scenario in the summary and the report: the top of a profile.
TOP_SHOWN = 5
def profiled_summary(profiled: pd.DataFrame, runs: pd.DataFrame) -> pd.DataFrame:
    """One row per profiled target × scenario: its profiled runs, profiler, samples, QPS and CPU
    per request with the profiler on, and the timed runs' QPS median beside it (the cost)."""
    good_runs = measured_runs(runs)
    rows = []
    for (label, scenario), group in profiled.groupby(["target_label", "scenario"], sort=False):
        good = finished(group)
        timed = pair_rows(good_runs, str(label), str(scenario))
        qps = float(good["qps"].median()) if len(good) else math.nan
        timed_qps = float(timed["qps"].median()) if len(timed) else math.nan
        rows.append({"target": label, "scenario": scenario, "profiled_runs": len(group),
                     "failed": len(group) - len(good),
                     "profiler": ", ".join(sorted(set(good["profiler"].dropna()))),
                     "samples": float(good["profile_samples"].median()) if len(good) else math.nan,
                     "qps": qps, "timed_qps": timed_qps, "vs_timed": qps / timed_qps - 1 if timed_qps else math.nan,
                     "cpu_us_per_request": float(good["server_cpu_us_per_request"].median()) if len(good) else math.nan,
                     "error": None if len(good) else str(group["error"].dropna().iloc[-1])})
    return pd.DataFrame(rows)


def top_functions(profiled: pd.DataFrame, functions: pd.DataFrame, by: str = "self") -> pd.DataFrame:
    """Each profiled target × scenario's functions by their `by` ("self" or "inclusive") µs per
    request, medians of its finished profiled runs, most first; with their range over them."""
    cost = PROFILED_COST if by == "self" else _INCLUSIVE
    rows = []
    for (target, scenario), medians in function_medians(finished(profiled), functions, cost).items():
        for function, line in medians.sort_values("median", ascending=False).iterrows():
            rows.append({"target_label": target, "scenario": scenario, "function": function,
                         f"{by}_us_per_request": line["median"], "spread": line["spread"]})
    return pd.DataFrame(rows)


_INCLUSIVE = FunctionCost(("function",), "inclusive_us_per_request", "µs/req", 2, PROFILED_COST.title,
                          PROFILED_COST.note)


def merged(profiled: pd.DataFrame, stacks: pd.DataFrame, target: str, scenario: str) -> tuple[Stacks, float | None,
                                                                                             int]:
    """The stacks of a target × scenario's finished profiled runs together, the median of their
    CPU per request, and how many runs."""
    mine = pair_rows(finished(profiled), target, scenario)
    together = Stacks()
    for run_id in mine.get("run_id", []):
        together.update(run_stacks(stacks, str(run_id)))
    cpu = mine["server_cpu_us_per_request"].median() if len(mine) else None
    return together, None if cpu is None or pd.isna(cpu) else float(cpu), len(mine)


def differential_graph(base: tuple[pd.DataFrame, pd.DataFrame], new: tuple[pd.DataFrame, pd.DataFrame],
                       before: str, after: str, scenario: str) -> str | None:
    """The flame graph of `after` coloured by its change from `before` under `scenario` (each side
    its profiled runs and stacks); None where either side was not profiled under it."""
    base_stacks, base_cpu, base_runs = merged(*base, before, scenario)
    new_stacks, new_cpu, new_runs = merged(*new, after, scenario)
    if not base_runs or not new_runs:
        return None
    title = (f"{after} against {before} × {scenario}: {base_cpu or 0:,.1f} → {new_cpu or 0:,.1f} µs/req; "
             "red grew, blue shrank")
    return flame_graph(new_stacks, new_cpu, title, base_stacks, base_cpu)


def run_stacks(stacks: pd.DataFrame, run_id: str) -> Stacks:
    """One profiled run's stacks, as kept in stacks.parquet."""
    mine = stacks[stacks["run_id"] == run_id] if not stacks.empty else stacks
    return unfolded([(str(s), int(n)) for s, n in zip(mine.get("stack", []), mine.get("samples", []), strict=True)])
