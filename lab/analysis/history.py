"""A target's history: every batch in which it ran a scenario, in time order with its commit, one
metric's median and interval per batch, and each step judged against the one before.

Each step is judged by lab diff's test (lab.analysis.diff.compare_steps): timed metrics between
batches as a ratio to each repeat's calibration run where both batches have one, counts as
counted; all the steps of one history share the diff's family-wise 5%. A step between batches
run on different machines or measuring stacks is shown and not judged: its change is the
machine's as much as the server's.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from lab.analysis.diff import Change, Step, compare_steps, finished, machine_differences
from lab.analysis.summary import median_interval
from lab.model.target import CALIBRATION_TARGET
from lab.store import results

# `lab history --metric NAME` → the column it reads (counted metrics come from counted.parquet).
METRICS = {
    "qps": "qps",
    "cpu": "server_cpu_us_per_request",
    "p99": "latency_p99_us",
    "memory": "server_rss_per_connection_bytes",
    "instructions": "server_instructions_per_request",
}
COUNTED = ("server_instructions_per_request",)
NOT_JUDGED = "not judged: "


@dataclass(frozen=True)
class Point:
    batch: str
    started_at: str
    commit: str
    runs: int
    median: float
    low: float
    high: float
    verdict: str  # against the point before: a diff verdict, NOT_JUDGED + why, or "" for the first
    change: float | None  # against the point before, as the diff tested it


def _batch_frames(root: Path, batch: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    return results.load(root, batch), results.load_counted(root, batch)


def _values(runs: pd.DataFrame, counted: pd.DataFrame, target: str, scenario: str, column: str) -> pd.DataFrame:
    """The finished runs (or counted runs) of one target × scenario that measured `column`."""
    if column in COUNTED:
        frame = finished(counted)
    elif runs.empty:
        return runs
    else:
        frame = runs[runs["error"].isna() & runs["load_level"].isna() & (runs["target"] != CALIBRATION_TARGET)]
    if frame.empty or column not in frame:
        return pd.DataFrame()
    return frame[(frame["target_label"] == target) & (frame["scenario"] == scenario) & frame[column].notna()]


def history(root: Path, target: str, scenario: str, metric: str) -> list[Point]:
    """Every batch under `root` in which `target` measured `metric` under `scenario`, oldest
    first, each judged against the one before."""
    column = METRICS[metric]
    held: list[tuple[str, pd.DataFrame, pd.DataFrame, pd.DataFrame]] = []
    for directory in results.batches(root):
        runs, counted = _batch_frames(root, directory.name)
        values = _values(runs, counted, target, scenario, column)
        if not values.empty:
            held.append((directory.name, runs, counted, values))
    steps = [(Step(before[0], before[1], before[2]), Step(after[0], after[1], after[2]))
             for before, after in itertools.pairwise(held)]
    judgeable = [(b, a) for b, a in steps if not _differences(b, a, column)]
    changes = compare_steps(judgeable, target, scenario, column)
    points = []
    for index, (batch, _, _, values) in enumerate(held):
        median, low, high = median_interval([float(v) for v in values[column]])
        verdict, change = "", None
        if index:
            verdict, change = _step(steps[index - 1], changes, column)
        points.append(Point(batch, str(values["started_at"].min()), _commit(values), len(values), median, low, high,
                            verdict, change))
    return points


def _differences(before: Step, after: Step, column: str) -> list[str]:
    """What differs between two batches' machines and measuring stacks, for this metric's rows."""
    frames = [side.counted if column in COUNTED else side.runs for side in (before, after)]
    return machine_differences(*frames)


def _step(step: tuple[Step, Step], changes: dict[str, Change], column: str) -> tuple[str, float | None]:
    differences = _differences(*step, column)
    if differences:
        return NOT_JUDGED + "another machine or stack (" + "; ".join(differences) + ")", None
    change = changes.get(step[1].label)
    return (change.verdict, change.change) if change is not None else (NOT_JUDGED + "nothing to compare", None)


def _commit(values: pd.DataFrame) -> str:
    commits = sorted(set(values["git_commit"].dropna().astype(str))) if "git_commit" in values else []
    return ", ".join(commit[:12] + ("-dirty" if commit.endswith("-dirty") else "") for commit in commits) or "unknown"


def as_frame(points: list[Point]) -> pd.DataFrame:
    return pd.DataFrame([point.__dict__ for point in points])


def held_targets(root: Path) -> list[tuple[str, str]]:
    """Every (target, scenario) some batch under `root` measured: what `lab history` can show."""
    pairs: dict[tuple[str, str], None] = {}
    for directory in results.batches(root):
        for frame in _batch_frames(root, directory.name):
            if not frame.empty:
                pairs.update(dict.fromkeys(frame[["target_label", "scenario"]].itertuples(index=False, name=None)))
    return sorted(pairs)


# A step's marker colour on the figure: what the test said of it.
_COLOURS = {"worse": "tab:red", "better": "tab:green"}


def history_figure(points: list[Point], title: str, unit: str) -> Figure:
    """The medians in time order, each with its interval; a step called better or worse coloured."""
    figure = Figure(figsize=(max(6.0, 0.6 * len(points) + 3), 3.6), layout="constrained")
    axes = figure.add_subplot()
    xs = list(range(len(points)))
    medians = [p.median for p in points]
    axes.plot(xs, medians, color="0.6", zorder=1)
    axes.errorbar(xs, medians, yerr=[[p.median - p.low for p in points], [p.high - p.median for p in points]],
                  fmt="none", ecolor="0.3", capsize=3, zorder=2)
    axes.scatter(xs, medians, c=[_COLOURS.get(p.verdict, "tab:blue") for p in points], zorder=3)
    axes.set_xticks(xs, [f"{p.started_at[:10]}\n{p.commit[:7]}" for p in points], fontsize=7)
    axes.set_ylabel(unit)
    axes.set_title(title, fontsize=10)
    return figure
