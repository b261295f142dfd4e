"""`lab run`: one stage (or a running server) × one scenario, into a batch of its own."""

from __future__ import annotations

import argparse
import sys

from rich.console import Console

from lab.cli import options
from lab.cli.compare import external
from lab.cli.options import UsageError
from lab.cli.progress import on_console
from lab.drivers.registry import DEFAULT_DRIVER
from lab.model.target import parse_stages, stage_target
from lab.run.plan import Plan, run_plan


def add(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("run", help="one server (or --target URL) × one scenario")
    parser.add_argument("--stage", help="stage number to start and measure")
    parser.add_argument("--target", help="URL of a server already running (not started by the lab)")
    parser.add_argument("--scenario", default="plaintext", help="scenario id or path (default plaintext)")
    parser.add_argument("server_args", nargs="*", help="flags for the server after --, e.g. -- --no-cache")
    options.add_measure_options(parser)
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace, console: Console) -> int:
    if (args.stage is None) == (args.target is None):
        raise UsageError("give exactly one of --stage N or --target URL")
    if args.target is not None:
        target = external(args.target)
    else:
        try:
            (number,) = parse_stages(args.stage)
        except ValueError as error:
            raise UsageError(f"--stage: {error}") from None
        target = stage_target(number, tuple(args.server_args))
    driver = args.driver or DEFAULT_DRIVER
    scenarios = options.scenarios(args, args.scenario, driver)
    counted_repeats, counted_load = options.counted(args, [target], scenarios, 1)
    plan = Plan((target,), tuple(scenarios), 1, options.pinning(args, console), args.results, driver,
                counted_repeats=counted_repeats, counted_load=counted_load,
                profiled_repeats=options.profiled(args, [target]))
    on_console(console, lambda reporter: run_plan(plan, reporter, sys.argv))
    return 0
