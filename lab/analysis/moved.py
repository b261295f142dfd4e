"""Where the instructions moved: the functions whose own instructions per request changed most
between two sides of a diff of counted runs (lab.run.counted keeps each run's top functions)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from rich.markup import escape
from rich.table import Table

from lab.analysis.diff import finished_counts

# Functions listed per target × scenario: those whose own instructions per request moved most.
FUNCTIONS_SHOWN = 10


@dataclass(frozen=True)
class FunctionChange:
    target: str
    scenario: str
    object: str
    function: str
    base: float  # median self instructions per request over the side's counted runs
    new: float

    @property
    def change(self) -> float:
        return self.new - self.base


def function_medians(counted: pd.DataFrame, functions: pd.DataFrame) -> dict[tuple[str, str], pd.Series]:
    """(target_label, scenario) → each (object, function)'s median self instructions per request
    over that pair's finished counted runs; a function not among a run's kept ones counts 0 there
    (each run keeps its most inclusive and most self-costly, lab.run.counted.FUNCTIONS_KEPT)."""
    runs = finished_counts(counted)
    if runs.empty or functions.empty:
        return {}
    joined = functions.merge(runs[["run_id", "target_label", "scenario"]], on="run_id")
    out = {}
    for (target, scenario), group in joined.groupby(["target_label", "scenario"], sort=False):
        per_run = group.pivot_table(index=["object", "function"], columns="run_id",
                                    values="self_instructions_per_request", aggfunc="sum")
        out[(str(target), str(scenario))] = per_run.fillna(0.0).median(axis=1)
    return out


def moved_functions(before: pd.Series, after: pd.Series, target: str, scenario: str) -> list[FunctionChange]:
    """The FUNCTIONS_SHOWN functions whose self instructions per request moved most, either way."""
    both = pd.concat([before.rename("base"), after.rename("new")], axis=1).fillna(0.0)
    moved = (both["new"] - both["base"]).abs().sort_values(ascending=False, kind="stable")
    return [FunctionChange(target, scenario, str(obj), str(function), float(both.at[(obj, function), "base"]),
                           float(both.at[(obj, function), "new"]))
            for obj, function in moved.index[:FUNCTIONS_SHOWN]]


def function_changes(base: dict[tuple[str, str], pd.Series], new: dict[tuple[str, str], pd.Series],
                     pairs: list[tuple[str, str, str]] | None = None) -> list[FunctionChange]:
    """What moved between two batches' function medians (each target × scenario both counted), or
    within one batch's: `pairs` of (base target, new target, scenario)."""
    if pairs is None:
        pairs = [(target, target, scenario) for target, scenario in base if (target, scenario) in new]
    out = []
    for before, after, scenario in pairs:
        if (before, scenario) in base and (after, scenario) in new:
            label = before if before == after else f"{before} → {after}"
            out += moved_functions(base[(before, scenario)], new[(after, scenario)], label, scenario)
    return out


FUNCTION_HEADERS = ("target", "scenario", "object", "function", "base instr/req", "new instr/req", "change")
FUNCTIONS_NOTE = ("self instructions per request, medians of the counted runs; a function not among a run's kept "
                  "functions counts 0 there")


def _function_cells(c: FunctionChange) -> tuple[str, ...]:
    return (c.target, c.scenario, c.object, c.function, f"{c.base:,.0f}", f"{c.new:,.0f}", f"{c.change:+,.0f}")


def functions_table(changes: list[FunctionChange], title: str) -> Table:
    out = Table(title=title, title_justify="left", caption=FUNCTIONS_NOTE, caption_justify="left")
    for column in FUNCTION_HEADERS:
        out.add_column(column, justify="right" if "instr" in column or column == "change" else "left")
    for c in changes:
        out.add_row(*map(escape, _function_cells(c)))
    return out


def functions_markdown(changes: list[FunctionChange]) -> str:
    out = ["", f"Where the instructions moved ({FUNCTIONS_NOTE}):", "",
           "| " + " | ".join(FUNCTION_HEADERS) + " |", "|" + "---|" * len(FUNCTION_HEADERS)]
    out += ["| " + " | ".join(cell.replace("|", "\\|") for cell in _function_cells(c)) + " |" for c in changes]
    return "\n".join(out) + "\n"
