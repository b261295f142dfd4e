"""`lab results [BATCH]`: list the batches, or summarize one."""

from __future__ import annotations

import argparse

from rich.console import Console

from lab.analysis.console import PROFILED_NOTE, batch_summary, profiled_table
from lab.analysis.listings import batches_table
from lab.cli import options
from lab.cli.options import UsageError
from lab.store.results import load, load_counted, load_profile_functions, load_profiled


def add(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("results", help="list batches, or summarize one")
    options.add_batch_options(parser, "batch id to summarize")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace, console: Console) -> int:
    if args.batch is None:
        table = batches_table(args.results)
        console.print(table if table is not None else f"no results under {args.results}/ yet: run `lab compare`")
        return 0
    try:
        runs = load(args.results, args.batch)
        counted = load_counted(args.results, args.batch)
        profiled = load_profiled(args.results, args.batch)
        functions = load_profile_functions(args.results, args.batch)
    except FileNotFoundError as error:
        raise UsageError(str(error)) from None
    for part in batch_summary(runs, f"batch {args.batch}", counted):
        console.print(part)
    if not profiled.empty:
        console.print(profiled_table(profiled, runs, functions))
        console.print(f"[dim]{PROFILED_NOTE}[/dim]")
    return 0
