"""`lab scenarios`: list and validate scenarios/*.toml (exit 1 if any is invalid)."""

from __future__ import annotations

import argparse

from rich.console import Console

from lab.analysis.listings import scenarios_table


def add(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("scenarios", help="list and validate scenarios/*.toml")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace, console: Console) -> int:
    table, invalid = scenarios_table()
    console.print(table)
    return 1 if invalid else 0
