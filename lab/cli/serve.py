"""`lab serve N`: one stage's server in the foreground, with its own flags."""

from __future__ import annotations

import argparse
import os
import sys

from rich.console import Console

from lab.cli.options import UsageError
from lab.model.target import parse_stages
from servers import STAGES


def add(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("serve", help="run one stage's server in the foreground")
    parser.add_argument("stage", help="stage number, 0-4")
    parser.add_argument("server_args", nargs=argparse.REMAINDER, help="the server's own flags, e.g. --port 8080")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace, console: Console) -> int:
    try:
        (number,) = parse_stages(args.stage)
    except ValueError as error:
        raise UsageError(str(error)) from None
    os.execv(sys.executable, [sys.executable, "-m", STAGES[number].module, *args.server_args])
