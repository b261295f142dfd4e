"""`lab targets`: list and validate targets/*.toml, and say which can run here (exit 1 if any is invalid)."""

from __future__ import annotations

import argparse

from rich.console import Console

from lab.analysis.listings import targets_table


def add(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("targets", help="list and validate targets/*.toml (servers for --with)")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace, console: Console) -> int:
    table, invalid = targets_table()
    console.print(table)
    return 1 if invalid else 0
