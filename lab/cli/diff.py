"""`lab diff BASE NEW`: what changed between two batches, and whether the repeats can tell."""

from __future__ import annotations

import argparse
import json

from rich.console import Console

from lab.analysis.diff import as_markdown, as_records, compare, diff_table, regressions
from lab.cli import options
from lab.cli.options import UsageError

FORMATS = ("table", "markdown", "json")


def add(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("diff", help="compare two batches: change per metric and its significance")
    parser.add_argument("base", help="the batch before (an id under --results, or a batch directory)")
    parser.add_argument("new", help="the batch after")
    parser.add_argument("--threshold", default=None, metavar="PERCENT",
                        help="exit 1 if a significant change for the worse exceeds it, e.g. 5%%")
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


def handle(args: argparse.Namespace, console: Console) -> int:
    limit = threshold(args.threshold)
    changes = compare(options.batch(args.base, args.results), options.batch(args.new, args.results))
    if not changes:
        raise UsageError("the two batches have no target × scenario in common (finished without error)")
    if args.format == "json":
        print(json.dumps(as_records(changes), indent=2))
    elif args.format == "markdown":
        print(as_markdown(changes, args.base, args.new), end="")
    else:
        console.print(diff_table(changes, f"{args.base} → {args.new}"))
    if limit is None:
        return 0
    worse = regressions(changes, limit)
    if args.format == "table":  # markdown and json stay parseable: the exit status says it
        for c in worse:
            console.print(f"[red]regression: {c.target} × {c.scenario}: {c.metric} {c.change:+.1%}[/red]")
    return 1 if worse else 0
