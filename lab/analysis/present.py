"""How the lab's findings are written for a person, on the console and in the report alike: one
dash where a value does not apply, numbers with thousands separators, changes as signed percents,
the summary's, a diff's and the moved functions' cells, markdown tables, and the tables the
notebooks and the report show (headers a person would write, no index column, a width that wraps
instead of scrolling sideways). The analysis computes; this writes; lab.analysis.console colours
it for a terminal."""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Iterable

import pandas as pd
from pandas.io.formats.style import Styler

from lab.analysis.diff import ALPHA, AS_MEASURED, COUNTED, DRIFTING, PER_REFERENCE, Change, drift, machine_differences
from lab.analysis.moved import FunctionChange, FunctionCost
from lab.analysis.summary import COUNTED_METRIC
from lab.analysis.verdicts import Speedup, users_cycle
from lab.model.bottleneck import FLOORS, Bottleneck

# What does not apply (NaN, None): a dash, never "NaN".
MISSING = "–"
# Headers the word rules below would not get right.
HEADERS = {
    "target_label": "stage / target",
    "qps": "QPS",
    "speedup_at_least": "speedup (at least)",
    "roadmap_qps": "roadmap QPS",
    "rate": "asked req/s",
    "runs": "runs",
}
# One word of a column name, as a header writes it.
_WORDS = {"qps": "QPS", "cpu": "CPU", "us": "µs", "rss": "RSS", "fds": "descriptors", "p999": "p99.9",
          "kib": "KiB", "mib": "MiB", "mb": "MB"}
# Text wraps inside the page's width; cells and headers are kept compact.
_STYLE = [
    {"selector": "", "props": [("font-size", "0.85em"), ("border-collapse", "collapse"), ("max-width", "100%")]},
    {"selector": "th, td", "props": [("padding", "2px 8px"), ("white-space", "normal"), ("word-break", "normal")]},
    {"selector": "th", "props": [("text-align", "left"), ("border-bottom", "1px solid #888")]},
]


def header(column: object) -> str:
    """A column name as a person would write it: `cpu_us_per_request` → "CPU µs per request"."""
    name = str(column)
    if name in HEADERS:
        return HEADERS[name]
    words = [_WORDS.get(word, word) for word in re.split(r"_+", name) if word]
    return " ".join(words) or name


def number(value: object, digits: int | None = None) -> str:
    """One cell: thousands separators, and `digits` decimals or, left out, a precision that fits
    the number (none from 100 up, one from 10, two below); yes/no; a dash for what does not apply."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    if digits is not None:
        return f"{float(value):,.{digits}f}"  # type: ignore[arg-type]
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, numbers.Integral):
        return f"{int(value):,}"
    if isinstance(value, numbers.Real):
        magnitude = abs(float(value))
        if magnitude >= 100:
            return f"{float(value):,.0f}"
        if magnitude >= 10:
            return f"{float(value):.1f}"
        return f"{float(value):.2f}"
    return str(value)


def percent(value: float | None, digits: int = 1) -> str:
    """A change as a signed percent: +4.2%."""
    return MISSING if value is None or math.isnan(value) else f"{value:+.{digits}%}"


def speedup_text(ratio: Speedup) -> str:
    """A speedup as a ratio, or as a floor ("≥ 20.00x") where the stage's generator set the pace."""
    if ratio.value is None:
        return MISSING
    return f"≥ {ratio.value:.2f}x" if ratio.floor else f"{ratio.value:.2f}x"


def markdown_table(headers: Iterable[str], rows: Iterable[Iterable[str]]) -> list[str]:
    """A markdown table's lines (a cell's "|" escaped)."""
    headers = list(headers)
    return ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers),
            *("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows)]


# -- the summary of a batch ----------------------------------------------------------------------

# The summary's columns as a reader sees them, console and report alike.
SUMMARY_COLUMNS = ("stage / target", "scenario", "QPS", "p50 µs", "p99 µs", "CPU µs/req", "speedup", "roadmap",
                   "bottleneck")
# The last column when the batch counted instructions (its counted runs' median and interval).
COUNTED_COLUMN = "instructions/req"
FAILED, UNVERIFIED = "failed: ", " (unverified)"
# The bottleneck column's words for the readings that a reader must not take as the server's speed.
SATURATED = {Bottleneck.GENERATOR: "generator (saturated)", Bottleneck.BOTH: "both (saturated)"}


def with_interval(row: pd.Series, metric: str, digits: int = 0, runs: int | None = None) -> str:
    """A summary row's median of `metric` and, over more than one run, its interval."""
    text = number(row[metric], digits)
    runs = row["runs"] - row["failed_runs"] if runs is None else runs
    if runs > 1 and not math.isnan(row[f"{metric}_low"]):
        text += f" [{number(row[f'{metric}_low'], digits)}–{number(row[f'{metric}_high'], digits)}]"
    return text


def bottleneck_text(row: pd.Series) -> str:
    """What held a row's rate, in words; a users-bound row with its users ÷ latency."""
    limit = row["bottleneck"]
    if not isinstance(limit, str):
        return MISSING
    if limit == Bottleneck.USERS and row["qps"] > 0 and row["users"] > 0:
        return f"users: {users_cycle(row['users'], row['qps'])}"
    return SATURATED.get(Bottleneck(limit), limit) if limit in set(Bottleneck) else limit


def summary_text(summary: pd.DataFrame) -> pd.DataFrame:
    """The summary (lab.analysis.summary.summarize) as text, one row per target and scenario:
    medians with their intervals, "≥" before a generator-bound QPS, the speedup as a ratio or a
    floor, what failed; and the instructions per request where the batch counted them."""
    counted = COUNTED_METRIC in summary
    rows: list[tuple[str, ...]] = []
    for _, row in summary.iterrows():
        count = (with_interval(row, COUNTED_METRIC, 0, int(row["counted_runs"])),) if counted else ()
        if isinstance(row["error"], str):
            rows.append((row["target"], row["scenario"], FAILED + row["error"][:60], "", "", "", "", "", "", *count))
            continue
        roadmap = (MISSING if pd.isna(row["roadmap_qps"])
                   else f"{row['roadmap_qps']:,.0f} ({row['roadmap_speedup']:.0f}x)")
        ratio = Speedup(None if math.isnan(row["speedup"]) else row["speedup"], bool(row["speedup_is_floor"]))
        unverified = row["verified"] is not None and not pd.isna(row["verified"]) and not bool(row["verified"])
        qps = ("≥ " if row["bottleneck"] in FLOORS else "") + with_interval(row, "qps")
        rows.append((row["target"] + (UNVERIFIED if unverified else ""), row["scenario"], qps,
                     with_interval(row, "latency_p50_us", 1), with_interval(row, "latency_p99_us", 1),
                     with_interval(row, "server_cpu_us_per_request", 1), speedup_text(ratio), roadmap,
                     bottleneck_text(row), *count))
    return pd.DataFrame(rows, columns=[*SUMMARY_COLUMNS, *((COUNTED_COLUMN,) if counted else ())])


# -- a diff ----------------------------------------------------------------------------------------

DIFF_HEADERS = ("target", "scenario", "metric", "base", "new", "change", "interval", "detectable", "p (needed)",
                "verdict")


def _load(c: Change) -> str:
    """The load CPU per request was measured at: it moves with the load (a wake-up per request at
    a low rate), so a change of it means little where the load changed too."""
    if c.metric != "server_cpu_us_per_request" or c.base_rate is None or c.new_rate is None:
        return ""
    return f" at {c.base_rate:,.0f} → {c.new_rate:,.0f} req/s"


def change_cells(c: Change) -> tuple[str, ...]:
    """A change as the console and the markdown show it, verdict last (DIFF_HEADERS)."""
    interval = MISSING if c.low is None else f"{percent(c.low)} … {percent(c.high)}"
    detectable = MISSING if c.detectable is None else f"±{c.detectable:.1%}"
    p_value = MISSING if c.p_value is None else f"{c.p_value:.3f}" + ("" if c.level is None else f" (≤ {c.level:.3f})")
    change = percent(c.change) + (" per cal." if c.basis == PER_REFERENCE else "")  # not base → new: the ratio's
    return (c.target, c.scenario, c.metric + _load(c), f"{c.base:,.1f}", f"{c.new:,.1f}", change, interval,
            detectable, p_value, c.verdict)


def notes(changes: list[Change], base: pd.DataFrame | None = None, new: pd.DataFrame | None = None) -> list[str]:
    """What the reader must know before the table: machines, drift, and what the change is of.
    With the two batches' runs, a diff between batches; without, two targets of one batch."""
    one_batch = base is None or new is None
    out = []
    if base is not None and new is not None:
        differences = machine_differences(base, new)
        if differences:
            out.append("the batches ran on different machines or measuring stacks: " + "; ".join(differences))
    bases = {c.basis for c in changes if c.metric in DRIFTING}
    if one_batch:
        out.append("both targets as measured, over the repeats they ran side by side in this batch")
    if PER_REFERENCE in bases:
        assert base is not None and new is not None
        moved = drift(base, new)
        out.append("QPS, latency and CPU per request are compared per calibration run of the same repeat (the "
                   "minimal server): the machine's own drift cancels" + (f"; it moved {', '.join(moved)}" if moved
                                                                          else ""))
    if AS_MEASURED in bases and not one_batch:
        out.append("compared as measured where a side has no calibration run in every repeat: drift of the machine "
                   "between batches is not controlled there")
    if any(c.basis == COUNTED for c in changes):
        out.append("instructions and system calls per request are counted under valgrind (one request in flight): "
                   "they do not drift with the machine, so they are compared as counted"
                   + ("" if one_batch else ", between any two batches run on the same software (a count depends "
                      "on Python, the libraries and valgrind)"))
    levels = [c.level for c in changes if c.level is not None]
    if levels:
        out.append(f"a change is significant at p ≤ {levels[0]:.4f}: {ALPHA:.0%} over the diff's tests "
                   "(exact permutation test); interval: the changes it does not reject; detectable: the least "
                   "change these repeats could have found")
    return out


def diff_markdown(changes: list[Change], base_name: str, new_name: str, lines: list[str] | None = None) -> str:
    """A diff as markdown: the command, the notes, the table."""
    out = [f"`lab diff {base_name} {new_name}`", ""]
    out += [f"- {line}" for line in lines or []]
    if lines:
        out.append("")
    out += markdown_table(DIFF_HEADERS, map(change_cells, changes))
    return "\n".join(out) + "\n"


# -- the functions whose cost moved ----------------------------------------------------------------

def function_headers(cost: FunctionCost) -> tuple[str, ...]:
    return ("target", "scenario", *cost.keys, f"base {cost.unit}", f"new {cost.unit}", "change", "spread")


def function_cells(c: FunctionChange, cost: FunctionCost) -> tuple[str, ...]:
    f = f",.{cost.digits}f"
    return (c.target, c.scenario, *c.function, format(c.base, f), format(c.new, f), format(c.change, "+" + f),
            format(c.spread, f))


def functions_markdown(changes: list[FunctionChange], cost: FunctionCost) -> str:
    out = ["", f"{cost.title[0].upper()}{cost.title[1:]} ({cost.note}):", "",
           *markdown_table(function_headers(cost), (function_cells(c, cost) for c in changes))]
    return "\n".join(out) + "\n"


# -- the notebooks' and the report's tables ----------------------------------------------------------

def show(frame: pd.DataFrame, headers: dict[str, str] | None = None) -> Styler | str:
    """The table as the notebooks display it (a pandas Styler, rendered as HTML), or a sentence
    when there is nothing to show."""
    if frame.empty:
        return "nothing to show for this batch"
    extra = headers or {}
    shown = frame.reset_index(drop=True).rename(columns=lambda column: extra.get(str(column), header(column)))
    return shown.style.format(number).hide(axis="index").set_table_styles(_STYLE)


def as_html(table: Styler | str) -> str:
    """show()'s table, or its sentence, as HTML."""
    return table if isinstance(table, str) else table.to_html()


# A report page: its title, the links to the others and its body.
HTML_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{title}</title>
<style>body {{ font-family: sans-serif; max-width: 72em; margin: 1em auto; padding: 0 1em; }}
nav {{ margin-bottom: 1em; }} img, .flame svg {{ max-width: 100%; height: auto; }}
code {{ white-space: pre-wrap; }}</style>
</head><body>{nav}{body}</body></html>
"""
