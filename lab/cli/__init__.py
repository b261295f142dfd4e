"""`lab`: run the staged comparison, one run, a server; list scenarios and results; notebooks.

One module per command (compare, run, soak, calibrate, serve, worker, scenarios, targets, results,
diff, history, bisect, report, notebook); each defines its flags with `add` and does its work in `handle`. Shared flags
and value parsers are in options.py; what a command prints as a table is made by the analysis layer.
"""

from __future__ import annotations

import argparse
import sys

from rich.console import Console
from rich.markup import escape

from lab.cli import (
    bisect,
    calibrate,
    compare,
    diff,
    history,
    notebook,
    report,
    results,
    run,
    scenarios,
    serve,
    soak,
    targets,
    worker,
)
from lab.cli.options import UsageError
from lab.files.toml_file import FileError
from lab.store.results import FormatError

COMMANDS = (compare, run, soak, calibrate, serve, worker, scenarios, targets, results, diff, history, bisect,
            report, notebook)
# Width of tables when output is not a terminal (CI logs, files): wide enough for the summary.
PIPE_WIDTH = 160


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="lab", description="Measure the staged servers of qpslab.")
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add(commands)
    return top


def main(argv: list[str] | None = None) -> None:
    console = Console()
    if not console.is_terminal:
        console = Console(width=PIPE_WIDTH)
    args = parser().parse_args(argv)
    try:
        code = args.handler(args, console)
    except (UsageError, FileError, FormatError) as error:
        console.print(f"[red]lab {args.command}: {escape(str(error))}[/red]")
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
    sys.exit(code)
