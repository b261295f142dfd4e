"""`lab report [BATCH]`: execute the notebooks against a batch; HTML pages and PNG figures."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from lab.cli import options
from lab.cli.options import UsageError
from lab.store.results import RUNS, latest_batch


def add(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("report", help="execute the notebooks for a batch: HTML + PNG in its report/")
    options.add_batch_options(parser, "batch id (default: the newest)")
    parser.add_argument("--against", metavar="BASE",
                        help="only the diff page: this batch against BASE (an id or a batch directory), "
                             "change per metric with its interval, as `lab diff BASE BATCH`")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace, console: Console) -> int:
    from lab.analysis.report import ReportError, write_report  # jupyter's imports take a second

    batch = args.batch or latest_batch(args.results)
    if batch is None:
        console.print(f"no results under {args.results}/ yet: run `lab compare` first")
        return 1
    if not (args.results / batch / RUNS).is_file():
        raise UsageError(f"no batch {batch!r} under {args.results}/ (see `lab results`)")
    against = args.against
    if against is not None:
        options.batch(against, args.results)  # refused here, with its reason, not in a notebook
        if Path(against).is_dir():  # the notebook runs elsewhere: a directory must not be relative
            against = str(Path(against).resolve())
    console.print(f"executing the notebooks against batch {batch} …")
    try:
        written = write_report(batch, args.results, against)
    except ReportError as error:
        console.print(f"[red]lab report: a notebook failed: {escape(str(error))}[/red]")
        return 1
    pages = [p for p in written if p.suffix == ".html"]
    console.print(f"wrote {len(pages)} pages and {len(written) - len(pages)} figures to {pages[0].parent}/")
    for page in pages:
        console.print(f"  {page}")
    return 0
