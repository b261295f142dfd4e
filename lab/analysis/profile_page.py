"""The report's "Where the time goes" page: each profiled target × scenario's flame graph and top
functions in µs per request, and each step of the batch (stage to stage, a stage 4 without one of
its switches to stage 4) as a differential flame graph and the functions that moved most."""

from __future__ import annotations

import html
import itertools
from pathlib import Path

import pandas as pd

from lab.analysis.batch import Batch
from lab.analysis.diff import finished, pair_rows
from lab.analysis.moved import PROFILED_COST, function_medians, moved_functions
from lab.analysis.present import HTML_PAGE, as_html, show
from lab.analysis.profiles import differential_graph, merged, profiled_summary, top_functions
from lab.profiling.flame import flame_graph

PROFILE_PAGE = "where-the-time-goes"
# Functions listed under each flame graph.
TOP_LISTED = 15


def steps(labels: list[tuple[str, int | None]]) -> list[tuple[str, str]]:
    """The (before, after) pairs a batch's targets make: each stage after the one before it, and a
    stage with switches (stage4 --no-cache) before the same stage without them, whose difference
    is what the switched-off step removes."""
    plain = sorted((stage, label) for label, stage in labels if stage is not None and " " not in label)
    out = [(a, b) for (_, a), (_, b) in itertools.pairwise(plain)]
    by_stage = {stage: label for stage, label in plain}
    out += [(label, by_stage[stage]) for label, stage in labels
            if stage is not None and " " in label and stage in by_stage]
    return out


def profile_sections(batch: Batch) -> list[str]:
    """The page's body: nothing without profiled runs."""
    if batch.profiled.empty:
        return ["<h1>Where the time goes</h1><p>This batch was not profiled: <code>lab compare --profile</code> "
                "adds profiled runs.</p>"]
    summary = profiled_summary(batch.profiled, batch.runs)
    body = ["<h1>Where the time goes</h1>",
            "<p>Each target under each scenario's load with a sampling profiler attached (py-spy for Python, "
            "perf for native servers). A function's µs per request is its share of the samples times the CPU per "
            "request the same run measured, so a profile adds up to that figure. Profiled runs are kept apart "
            "from the timed ones: the profiler costs the server time (<i>vs timed</i>). Hover a frame for its "
            "µs per request.</p>", as_html(show(summary.drop(columns=["error"])))]
    selves, inclusives = top_functions(batch.profiled, batch.profile_functions), top_functions(
        batch.profiled, batch.profile_functions, "inclusive")
    for target, scenario in summary[["target", "scenario"]].itertuples(index=False):
        stacks, cpu, runs = merged(batch.profiled, batch.stacks, target, scenario)
        if not runs:
            continue
        title = f"{target} × {scenario}: {cpu or 0:,.1f} µs of CPU per request, {runs} profiled run(s)"
        inclusive = pair_rows(inclusives, target, scenario)[["function", "inclusive_us_per_request"]]
        listed = pair_rows(selves, target, scenario).head(TOP_LISTED).merge(inclusive, on="function", how="left")
        body += [f"<h2>{html.escape(target)} × {html.escape(scenario)}</h2>",
                 f'<div class="flame">{flame_graph(stacks, cpu, title)}</div>',
                 f"<h3>The {TOP_LISTED} functions with the most time of their own</h3>",
                 as_html(show(listed.drop(columns=["target_label", "scenario"])))]
    body += _step_sections(batch, list(summary["scenario"].drop_duplicates()))
    return body


def write_profile_page(batch: Batch, nav: str, out: Path) -> Path:
    """The page, as out/where-the-time-goes.html."""
    page = out / f"{PROFILE_PAGE}.html"
    body = "".join(profile_sections(batch))
    page.write_text(HTML_PAGE.format(title="qpslab: where the time goes", nav=nav, body=body))
    return page


def _step_sections(batch: Batch, scenarios: list[str]) -> list[str]:
    good = finished(batch.profiled)
    labels = list(dict.fromkeys(
        (str(label), None if pd.isna(stage) else int(stage)) for label, stage in zip(
            good["target_label"], good["stage"], strict=True)))
    medians = function_medians(good, batch.profile_functions, PROFILED_COST)
    body: list[str] = []
    for before, after in steps(labels):
        for scenario in scenarios:
            if (before, scenario) not in medians or (after, scenario) not in medians:
                continue
            side = (batch.profiled, batch.stacks)
            graph = differential_graph(side, side, before, after, scenario)
            moved = moved_functions(medians[(before, scenario)], medians[(after, scenario)], f"{before} → {after}",
                                    scenario)
            frame = pd.DataFrame([{"function": c.function[0], "before µs/req": c.base, "after µs/req": c.new,
                                   "change": c.change, "spread": c.spread} for c in moved])
            body += [f"<h2>{html.escape(before)} → {html.escape(after)} × {html.escape(scenario)}</h2>",
                     f'<div class="flame">{graph}</div>',
                     "<p>The functions whose own µs per request moved most (spread: the larger side's range over "
                     "its profiled runs, the sampling's own noise; a change inside it is not yet one).</p>",
                     as_html(show(frame))]
    return body

