"""The console's tables: what `lab compare`, `lab results` and `lab diff` print, with rich. The
analysis computes and lab.analysis.present writes the cells; this only lays them out and colours
what a reader must not miss: a failure in red, a saturated generator in yellow, a verdict's
direction."""

from __future__ import annotations

import pandas as pd
from rich.markup import escape
from rich.table import Table

from lab.analysis.diff import Change, pair_rows
from lab.analysis.moved import FunctionChange, FunctionCost
from lab.analysis.present import (
    DIFF_HEADERS,
    FAILED,
    SATURATED,
    UNVERIFIED,
    change_cells,
    function_cells,
    function_headers,
    number,
    percent,
    summary_text,
)
from lab.analysis.profiles import TOP_SHOWN, profiled_summary, top_functions
from lab.analysis.summary import counted_summary, equal_load_table, generator_note, summarize
from lab.model.target import CALIBRATION_TARGET

# Under the summary: CPU per request moves with the load it was measured at.
CPU_AT_LOAD_NOTE = ("CPU µs/req was measured at each row's QPS, and it rises as the load falls (at a low rate each "
                    "request pays a whole wake-up): rank stages on it where their loads were equal")
# Under a summary with counted runs: what the count is, and what it is not.
COUNTED_NOTE = ("instructions/req: the server's user-space instructions per request, counted under valgrind with one "
                "request in flight (lab compare --instructions); it does not drift with the machine, and misses the "
                "kernel's work, cache misses and waiting")
# Under the profiled runs' table.
PROFILED_NOTE = ("profiled: a timed run of the same load with a sampling profiler on the server (lab compare "
                 "--profile), kept out of every other figure; vs timed: its QPS against the timed runs' median (the "
                 "profiler's cost); µs/req: each function's share of the samples × that run's CPU per request, "
                 "medians of the profiled runs")
# A function's name in the profiled table is cut to this many characters.
FUNCTION_WIDTH = 70


def _table(title: str, columns: dict[str, bool], caption: str | None = None) -> Table:
    """A table whose columns are right-justified where `columns` says so (numbers)."""
    table = Table(title=title, title_justify="left", caption=caption, caption_justify="left")
    for column, right in columns.items():
        table.add_column(column, justify="right" if right else "left")
    return table


def summary_table(summary: pd.DataFrame, title: str) -> Table:
    """The summary on the console: what failed in red, a saturated generator in yellow."""
    text = summary_text(summary)
    table = _table(title, {column: column not in ("stage / target", "scenario", "bottleneck")
                           for column in text.columns})
    for cells in text.itertuples(index=False):
        marked = [escape(str(cell)) for cell in cells]
        if marked[2].startswith(FAILED):
            marked[2] = f"[red]{marked[2]}[/red]"
        if marked[0].endswith(UNVERIFIED):
            marked[0] = marked[0].removesuffix(UNVERIFIED) + f" [red]({UNVERIFIED.strip(' ()')})[/red]"
        if marked[8] in SATURATED.values():
            marked[8] = f"[yellow]{marked[8]}[/yellow]"
        table.add_row(*marked)
    return table


def equal_load_summary(runs: pd.DataFrame) -> Table | None:
    """The open-loop scenarios' CPU per request, every target at the same offered load, ranked."""
    ranked = equal_load_table(runs)
    if ranked.empty:
        return None
    table = _table("CPU per request at equal load (open loop: every target asked the same rate)",
                   {"rank": True, "stage / target": False, "scenario": False, "asked req/s": True,
                    "served req/s": True, "CPU µs/req": True, "above the floor": True})
    for _, row in ranked.iterrows():
        floor = row["target_label"] == CALIBRATION_TARGET
        table.add_row("floor" if floor else f"{row['rank']:.0f}",
                      "minimal server (calibration)" if floor else row["target_label"], row["scenario"],
                      number(row["rate"], 0), number(row["qps"], 0), number(row["cpu_us_per_request"], 1),
                      "" if floor else number(row["above_floor_us"], 1))
    return table


def counted_table(counted: pd.DataFrame) -> Table:
    table = _table("instructions per request (counted under valgrind)",
                   {"stage / target": False, "scenario": False, "runs": True, "instructions/req": True,
                    "range": True, "spread": True, "syscalls/req": True})
    for _, row in counted_summary(counted).iterrows():
        if isinstance(row["error"], str):
            table.add_row(escape(row["target"]), escape(row["scenario"]), str(row["counted_runs"]),
                          f"[red]{escape(FAILED + row['error'][:60])}[/red]", "", "", "")
            continue
        table.add_row(escape(row["target"]), escape(row["scenario"]), f"{row['counted_runs'] - row['failed']}",
                      number(row["instructions"], 0), f"{number(row['low'], 0)}–{number(row['high'], 0)}",
                      f"{row['spread']:.2%}", number(row["syscalls"], 2))
    return table


def batch_summary(runs: pd.DataFrame, title: str, counted: pd.DataFrame | None = None) -> list[Table | str]:
    """What `lab compare` and `lab results BATCH` print of a batch: the summary, how its load was
    generated, a note on reading its CPU column, CPU per request at equal load where the batch has
    it, and its counted runs where it has them."""
    counts: list[Table | str] = [counted_table(counted), f"[dim]{COUNTED_NOTE}[/dim]"] if (
        counted is not None and not counted.empty) else []
    if runs.empty:
        return counts
    out: list[Table | str] = [summary_table(summarize(runs, counted), title)]
    note = generator_note(runs)
    if note is not None:
        out.append(f"[dim]{note}[/dim]")
    out.append(f"[dim]{CPU_AT_LOAD_NOTE}[/dim]")
    out += counts
    equal = equal_load_summary(runs)
    return out if equal is None else [*out, equal]


def profiled_table(profiled: pd.DataFrame, runs: pd.DataFrame, functions: pd.DataFrame) -> Table:
    """A batch's profiled runs: the profiler's cost and the top functions by own time."""
    table = _table("where the CPU time goes (profiled)",
                   {"stage / target": False, "scenario": False, "runs": True, "QPS profiled": True, "vs timed": True,
                    "CPU µs/req": True, f"top {TOP_SHOWN} functions by own µs/req": False})
    top = top_functions(profiled, functions)
    for _, row in profiled_summary(profiled, runs).iterrows():
        if isinstance(row["error"], str):
            table.add_row(escape(row["target"]), escape(row["scenario"]), str(row["profiled_runs"]),
                          f"[red]failed: {escape(row['error'][:80])}[/red]", "", "", "")
            continue
        mine = pair_rows(top, row["target"], row["scenario"])
        names = "\n".join(f"{line['self_us_per_request']:,.2f}  {escape(_short(line['function']))}"
                          for _, line in mine.head(TOP_SHOWN).iterrows())
        table.add_row(escape(row["target"]), escape(row["scenario"]), str(row["profiled_runs"] - row["failed"]),
                      f"{row['qps']:,.0f}", percent(row["vs_timed"], 0), f"{row['cpu_us_per_request']:,.1f}", names)
    return table


def _short(function: str) -> str:
    return function if len(function) <= FUNCTION_WIDTH else function[:FUNCTION_WIDTH - 1] + "…"


_COLOURS = {"better": "green", "worse": "red"}
_RIGHT = ("base", "new", "change", "detectable", "p (needed)")


def diff_table(changes: list[Change], title: str) -> Table:
    table = _table(title, {column: column in _RIGHT for column in DIFF_HEADERS})
    for c in changes:
        colour = _COLOURS.get(c.verdict)
        *cells, verdict = change_cells(c)
        table.add_row(*map(escape, cells), f"[{colour}]{verdict}[/{colour}]" if colour else escape(verdict))
    return table


def functions_table(changes: list[FunctionChange], cost: FunctionCost) -> Table:
    table = _table(cost.title, {column: column not in ("target", "scenario", *cost.keys)
                                for column in function_headers(cost)}, caption=cost.note)
    for c in changes:
        table.add_row(*map(escape, function_cells(c, cost)))
    return table
