"""`lab diff BASE NEW` (two batches) or `lab diff BATCH --base A --new B` (two targets measured
side by side in one batch): what changed, and whether the repeats can tell."""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.markup import escape

from lab.analysis.console import diff_table, functions_table
from lab.analysis.diff import (
    Change,
    as_records,
    compare,
    compare_targets,
    finished,
    regressions,
)
from lab.analysis.moved import (
    COUNTED_COST,
    PROFILED_COST,
    FunctionChange,
    FunctionCost,
    function_changes,
    function_medians,
)
from lab.analysis.present import diff_markdown, functions_markdown, notes
from lab.analysis.profiles import differential_graph
from lab.cli import options
from lab.cli.options import UsageError

FORMATS = ("table", "markdown", "json")


def add(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("diff", help="what changed between two batches, or two targets of one batch, "
                                              "and whether the repeats can tell")
    parser.add_argument("base", help="the batch before (an id under --results, or a batch directory); with "
                                     "--base/--new, the one batch both targets ran in")
    parser.add_argument("new", nargs="?", help="the batch after")
    parser.add_argument("--base", dest="base_target", metavar="TARGET",
                        help="within one batch: the target before (a stage, a target file's name, as `lab results` "
                             "shows it)")
    parser.add_argument("--new", dest="new_target", metavar="TARGET", help="within one batch: the target after")
    parser.add_argument("--threshold", default=None, metavar="PERCENT",
                        help="exit 1 if a significant change for the worse exceeds it, e.g. 5%%")
    parser.add_argument("--flame", type=Path, metavar="DIR",
                        help="write a differential flame graph (SVG, red grew, blue shrank) of each target × "
                             "scenario profiled on both sides (lab compare --profile) into DIR")
    parser.add_argument("--format", choices=FORMATS, default="table", help="table (default), markdown or json")
    options.add_results_option(parser)
    parser.set_defaults(handler=handle)


def threshold(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        value = float(text.strip().removesuffix("%")) / 100
    except ValueError:
        raise UsageError(f"--threshold must look like 5% or 2.5, got {text!r}") from None
    if value < 0:
        raise UsageError(f"--threshold must be ≥ 0, got {text!r}")
    return value


def _medians(kept: tuple[pd.DataFrame, pd.DataFrame], cost: FunctionCost) -> dict[tuple[str, str], pd.DataFrame]:
    """A batch's function medians of one kind of kept runs (counted or profiled), from those that finished."""
    runs, functions = kept
    return function_medians(finished(runs), functions, cost)


def _write_flames(args: argparse.Namespace, pairs: list[tuple[str, str, str]] | None) -> None:
    """A differential flame graph per pair (within a batch) or per target × scenario both batches profiled."""
    base = options.profiled_stacks(args.base, args.results)
    new = base if pairs is not None else options.profiled_stacks(args.new, args.results)
    if pairs is None:
        both = set(zip(new[0].get("target_label", []), new[0].get("scenario", []), strict=True))
        pairs = sorted({(t, t, s) for t, s in zip(base[0].get("target_label", []), base[0].get("scenario", []),
                                                   strict=True) if (t, s) in both})
    args.flame.mkdir(parents=True, exist_ok=True)
    written = 0
    for before, after, scenario in pairs:
        graph = differential_graph(base, new, before, after, scenario)
        if graph is not None:
            name = f"{before}--{after}--{scenario}" if before != after else f"{before}--{scenario}"
            path = args.flame / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', name)}.svg"
            path.write_text(graph)
            written += 1
            # Beside markdown and json output, not in it.
            print(f"flame graph: {path}", file=sys.stderr if args.format != "table" else sys.stdout)
    if not written:
        raise UsageError("--flame: no target × scenario was profiled on both sides (lab compare --profile)")


@dataclass(frozen=True)
class _Judged:
    """A diff judged, before it is shown."""

    changes: list[Change]
    title: str
    lines: list[str]  # what a reader must know first (lab.analysis.present.notes)
    moved: dict[FunctionCost, list[FunctionChange]]  # the functions whose counted or profiled cost moved
    pairs: list[tuple[str, str, str]] | None  # within one batch: (base, new, scenario); None: two batches


def handle(args: argparse.Namespace, console: Console) -> int:
    limit = threshold(args.threshold)
    within = args.base_target is not None or args.new_target is not None
    if within and (args.base_target is None or args.new_target is None):
        raise UsageError("--base and --new go together: the two targets of one batch to compare")
    if within and args.new is not None:
        raise UsageError("give one batch with --base/--new (two targets side by side), or two batches without them")
    if not within and args.new is None:
        raise UsageError("give two batches (BASE NEW), or one batch with --base TARGET --new TARGET")
    judged = _two_targets(args) if within else _two_batches(args)
    _show(args, judged, console)
    if args.flame is not None:
        _write_flames(args, judged.pairs)
    if limit is None:
        return 0
    worse = regressions(judged.changes, limit)
    if args.format == "table":  # markdown and json stay parseable: the exit status says it
        for c in worse:
            console.print(f"[red]regression: {c.target} × {c.scenario}: {c.metric} {c.change:+.1%}[/red]")
    return 1 if worse else 0


def _kept(batch: str, results: Path) -> dict[FunctionCost, tuple[pd.DataFrame, pd.DataFrame]]:
    """A batch's counted and profiled runs, each with their functions."""
    return {COUNTED_COST: options.counted_batch(batch, results), PROFILED_COST: options.profiled_batch(batch, results)}


def _two_targets(args: argparse.Namespace) -> _Judged:
    base, kept = options.batch(args.base, args.results), _kept(args.base, args.results)
    try:
        changes = compare_targets(base, args.base_target, args.new_target, kept[COUNTED_COST][0])
    except KeyError as error:
        raise UsageError(f"{args.base}: {error.args[0]}") from None
    if not changes:
        raise UsageError(f"{args.base_target} and {args.new_target} finished no scenario in the same repeat")
    pairs = [(args.base_target, args.new_target, s) for s in dict.fromkeys(c.scenario for c in changes)]
    moved = {cost: function_changes(_medians(runs, cost), _medians(runs, cost), pairs) for cost, runs in kept.items()}
    return _Judged(changes, f"{args.base}: {args.base_target} → {args.new_target}", notes(changes), moved, pairs)


def _two_batches(args: argparse.Namespace) -> _Judged:
    base, base_kept = options.batch(args.base, args.results), _kept(args.base, args.results)
    new, new_kept = options.batch(args.new, args.results), _kept(args.new, args.results)
    base_counted, new_counted = base_kept[COUNTED_COST][0], new_kept[COUNTED_COST][0]
    changes = compare(base, new, base_counted, new_counted)
    if not changes:
        raise UsageError("the two batches have no target × scenario in common (finished without error)")
    # The machine notes see the counted runs' facts too (valgrind's version).
    lines = notes(changes, pd.concat([base, base_counted]), pd.concat([new, new_counted]))
    moved = {cost: function_changes(_medians(base_kept[cost], cost), _medians(new_kept[cost], cost))
             for cost in base_kept}
    return _Judged(changes, f"{args.base} → {args.new}", lines, moved, None)


def _show(args: argparse.Namespace, judged: _Judged, console: Console) -> None:
    if args.format == "json":
        for line in judged.lines:  # the output stays parseable; what a reader must know goes beside it
            print(f"note: {line}", file=sys.stderr)
        print(json.dumps(as_records(judged.changes), indent=2))
        return
    if args.format == "markdown":
        print(diff_markdown(judged.changes, args.base, args.new or f"--base {args.base_target} --new {args.new_target}",
                            judged.lines), end="")
        for cost, functions in judged.moved.items():
            if functions:
                print(functions_markdown(functions, cost), end="")
        return
    for line in judged.lines:
        console.print(f"[yellow]{escape(line)}[/yellow]" if line.startswith("the batches ran") else escape(line))
    console.print(diff_table(judged.changes, judged.title))
    for cost, functions in judged.moved.items():
        if functions:
            console.print(functions_table(functions, cost))
