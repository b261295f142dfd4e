"""Where the cost moved: the functions whose own cost per request changed most between two sides
of a diff, in counted runs (instructions, lab.run.counted) or profiled runs (µs of CPU,
lab.run.profiled), each of which keeps its run's top functions.

Beside each change stands its spread: how far the function's cost moved between runs of the same
side (the larger side's range). Two profiles of one server differ by their sampling alone; a
change within that spread is not yet a change.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

# Functions listed per target × scenario: those whose own cost per request moved most.
FUNCTIONS_SHOWN = 10


@dataclass(frozen=True)
class FunctionCost:
    """Which cost of a function a kind of run keeps, and how it is shown."""

    keys: tuple[str, ...]  # the columns naming a function
    value: str  # its own cost per request
    unit: str
    digits: int
    title: str
    note: str


COUNTED_COST = FunctionCost(
    ("object", "function"), "self_instructions_per_request", "instr/req", 0, "where the instructions moved",
    "self instructions per request, medians of the counted runs; a function not among a run's kept functions "
    "counts 0 there; spread: the larger side's range over its runs")
PROFILED_COST = FunctionCost(
    ("function",), "self_us_per_request", "µs/req", 2, "where the CPU time moved (profiled)",
    "self µs of CPU per request (the run's CPU per request shared by samples), medians of the profiled runs; a "
    "function not among a run's kept functions counts 0 there; spread: the larger side's range over its runs, "
    "the sampling's own noise")


@dataclass(frozen=True)
class FunctionChange:
    target: str
    scenario: str
    function: tuple[str, ...]  # the values of the cost's keys
    base: float  # median self cost per request over the side's runs
    new: float
    spread: float  # the larger side's range of it over its runs

    @property
    def change(self) -> float:
        return self.new - self.base


def function_medians(runs: pd.DataFrame, functions: pd.DataFrame,
                     cost: FunctionCost) -> dict[tuple[str, str], pd.DataFrame]:
    """(target_label, scenario) → each function's median self cost per request over that pair's
    `runs` (finished ones) and its range over them ("median", "spread"), by the cost's keys; a
    function not among a run's kept ones counts 0 there."""
    if runs.empty or functions.empty:
        return {}
    joined = functions.merge(runs[["run_id", "target_label", "scenario"]], on="run_id")
    out = {}
    for (target, scenario), group in joined.groupby(["target_label", "scenario"], sort=False):
        per_run = group.pivot_table(index=list(cost.keys), columns="run_id", values=cost.value,
                                    aggfunc="sum").fillna(0.0)
        out[(str(target), str(scenario))] = pd.DataFrame({"median": per_run.median(axis=1),
                                                          "spread": per_run.max(axis=1) - per_run.min(axis=1)})
    return out


def moved_functions(before: pd.DataFrame, after: pd.DataFrame, target: str, scenario: str) -> list[FunctionChange]:
    """The FUNCTIONS_SHOWN functions whose self cost per request moved most, either way."""
    both = before.add_suffix("_base").join(after.add_suffix("_new"), how="outer").fillna(0.0)
    moved = (both["median_new"] - both["median_base"]).abs().sort_values(ascending=False, kind="stable")
    out = []
    for key in moved.index[:FUNCTIONS_SHOWN]:
        line = both.loc[key]
        names = tuple(map(str, key)) if isinstance(key, tuple) else (str(key),)
        out.append(FunctionChange(target, scenario, names, float(line["median_base"]), float(line["median_new"]),
                                  float(max(line["spread_base"], line["spread_new"]))))
    return out


def function_changes(base: dict[tuple[str, str], pd.DataFrame], new: dict[tuple[str, str], pd.DataFrame],
                     pairs: list[tuple[str, str, str]] | None = None) -> list[FunctionChange]:
    """What moved between two batches' function medians (each target × scenario on both sides), or
    within one batch's: `pairs` of (base target, new target, scenario)."""
    if pairs is None:
        pairs = [(target, target, scenario) for target, scenario in base if (target, scenario) in new]
    out = []
    for before, after, scenario in pairs:
        if (before, scenario) in base and (after, scenario) in new:
            label = before if before == after else f"{before} → {after}"
            out += moved_functions(base[(before, scenario)], new[(after, scenario)], label, scenario)
    return out
