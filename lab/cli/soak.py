"""`lab soak`: hold one stage at a fraction of its capacity beside hostile clients; judge drift."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace

from rich.console import Console

from lab.cli import options
from lab.cli.options import UsageError
from lab.files.scenario_file import resolve
from lab.model.target import parse_stages, stage_target
from lab.run.soak import soak


def add(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("soak", help="one stage held at a fraction of its capacity beside hostile clients")
    parser.add_argument("--stage", required=True, help="stage number to start and soak")
    parser.add_argument("--scenario", default="soak", help="scenario id or path (default soak: a route mix "
                        "beside 60 hostile clients of every kind)")
    parser.add_argument("--level", type=float, default=0.5,
                        help="fraction of the measured capacity to hold (default 0.5)")
    parser.add_argument("--rate", type=float, help="req/s to hold instead (skips the capacity run)")
    parser.add_argument("--hostile", type=int, help="hostile clients (default: the scenario's slow_clients)")
    parser.add_argument("--duration", help="soaked time, e.g. 10m (default: the scenario's)")
    parser.add_argument("--warmup", help="unjudged time before it, e.g. 30s (default: the scenario's)")
    parser.add_argument("--server-cpus", help="CPUs for the server (default: the first allowed)")
    parser.add_argument("--client-cpus", help="CPUs for the load and hostile clients (default: all the others)")
    parser.add_argument("server_args", nargs="*", help="flags for the server after --, e.g. -- --no-cache")
    options.add_results_option(parser)
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace, console: Console) -> int:
    try:
        (number,) = parse_stages(args.stage)
    except ValueError as error:
        raise UsageError(f"--stage: {error}") from None
    if not 0 < args.level <= 1:
        raise UsageError(f"--level must be in (0, 1], got {args.level}")
    if args.rate is not None and not args.rate > 0:
        raise UsageError(f"--rate must be > 0, got {args.rate}")
    if args.hostile is not None and args.hostile < 0:
        raise UsageError(f"--hostile must be ≥ 0, got {args.hostile}")
    (scenario,) = resolve([args.scenario])
    scenario = scenario.with_times(options.duration(args.duration, "--duration"),
                                   options.duration(args.warmup, "--warmup"))
    if args.hostile is not None:
        scenario = replace(scenario, load=replace(scenario.load, slow_clients=args.hostile))
    target = stage_target(number, tuple(args.server_args))
    verdict = soak(target, scenario, options.pinning(args, console), args.results, level=args.level,
                   rate=args.rate, argv=sys.argv, console=console)
    return 0 if verdict == "pass" else 1
