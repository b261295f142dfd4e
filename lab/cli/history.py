"""`lab history TARGET SCENARIO`: one metric of a target under a scenario across every batch, in
time order with its commit, each step judged against the one before."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from lab.analysis.history import METRICS, NOT_JUDGED, as_frame, held_targets, history, history_figure
from lab.analysis.present import percent
from lab.cli import options
from lab.cli.options import UsageError
from lab.store.columns import COUNTED_COLUMNS, RUN_COLUMNS

FORMATS = ("table", "markdown", "json")
_COLOURS = {"better": "green", "worse": "red"}


def add(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("history", help="one metric of a target × scenario across every batch, each step "
                                                 "judged against the one before")
    parser.add_argument("target", help="a target as `lab results` shows it: stage4, a target file's name, …")
    parser.add_argument("scenario", help="a scenario id")
    parser.add_argument("--metric", choices=sorted(METRICS), default="qps",
                        help="qps (default), cpu (µs per request), p99 (µs), memory (bytes per held connection), "
                             "instructions (per request, counted runs)")
    parser.add_argument("--figure", type=Path, metavar="PNG", help="also draw it into this PNG file")
    parser.add_argument("--format", choices=FORMATS, default="table", help="table (default), markdown or json")
    options.add_results_option(parser)
    parser.set_defaults(handler=handle)


def _unit(column: str) -> str:
    declared = RUN_COLUMNS.get(column) or COUNTED_COLUMNS[column]
    return declared.unit


def handle(args: argparse.Namespace, console: Console) -> int:
    points = history(args.results, args.target, args.scenario, args.metric)
    if not points:
        held = held_targets(args.results)
        known = ", ".join(f"{t} × {s}" for t, s in held) or "none: run `lab compare`"
        raise UsageError(f"no batch under {args.results} measured {METRICS[args.metric]} of {args.target} × "
                         f"{args.scenario} (measured there: {known})")
    frame = as_frame(points)
    column = METRICS[args.metric]
    if args.format == "json":
        print(json.dumps(frame.to_dict(orient="records"), indent=2))
    elif args.format == "markdown":
        print(f"`lab history {args.target} {args.scenario} --metric {args.metric}` ({_unit(column)})\n")
        print("| batch | commit | runs | median | interval | change | verdict |\n|---|---|---|---|---|---|---|")
        for point in points:
            print(f"| {point.batch} | {point.commit} | {point.runs} | {point.median:,.1f} | {point.low:,.1f} … "
                  f"{point.high:,.1f} | {percent(point.change)} | {point.verdict} |")
    else:
        table = Table(title=f"{args.target} × {args.scenario}: {column} ({_unit(column)})", title_justify="left",
                      caption="each step judged against the one before by lab diff's test, all steps at one "
                              "family-wise 5%", caption_justify="left")
        for name in ("batch", "commit", "runs", "median", "interval", "change", "verdict"):
            table.add_column(name, justify="right" if name in ("runs", "median", "change") else "left")
        for point in points:
            colour = _COLOURS.get(point.verdict)
            verdict = escape(point.verdict)
            table.add_row(point.batch, escape(point.commit), str(point.runs), f"{point.median:,.1f}",
                          f"{point.low:,.1f} … {point.high:,.1f}", percent(point.change),
                          f"[{colour}]{verdict}[/{colour}]" if colour else
                          f"[yellow]{verdict}[/yellow]" if point.verdict.startswith(NOT_JUDGED) else verdict)
        console.print(table)
    if args.figure is not None:
        figure = history_figure(points, f"{args.target} × {args.scenario}: {column}", _unit(column))
        figure.savefig(args.figure, dpi=100)
        if args.format == "table":
            console.print(f"figure: {args.figure}")
    return 0

