"""`lab calibrate`: how fast each load generator is on this machine (raw, fast, http, wrk)."""

from __future__ import annotations

import argparse
import sys

from rich.console import Console

from lab.cli import options
from lab.cli.options import UsageError
from lab.cli.progress import on_console
from lab.files.scenario_file import resolve
from lab.model.ranges import parse_ranges
from lab.model.scenario import WaitKind
from lab.run.calibrate import USERS, calibration_runs, generators
from lab.run.scheduler import run_batch


def add(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("calibrate", help="the load generators' ceilings here: locust's raw, fast and http "
                                                   "clients and wrk against the minimal server, many users and one")
    parser.add_argument("--scenario", default="plaintext", help="scenario id or path (default plaintext)")
    parser.add_argument("--users", default=",".join(map(str, USERS)),
                        help=f"user counts to run, e.g. 50,1 (default {','.join(map(str, USERS))})")
    parser.add_argument("--repeats", type=int, default=1, help="runs of each, interleaved (default 1)")
    parser.add_argument("--duration", help="measured time per run, e.g. 10s (default: the scenario's)")
    parser.add_argument("--warmup", help="unmeasured time before it, e.g. 2s (default: the scenario's)")
    parser.add_argument("--server-cpus", help="CPUs for the minimal server (default: the first allowed)")
    parser.add_argument("--client-cpus", help="CPUs for the generators (default: all the others)")
    options.add_results_option(parser)
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace, console: Console) -> int:
    if args.repeats < 1:
        raise UsageError("--repeats must be >= 1")
    try:
        users = tuple(parse_ranges(args.users, "--users"))
    except ValueError as error:
        raise UsageError(str(error)) from None
    if min(users) < 1:
        raise UsageError("--users must be >= 1")
    (scenario,) = resolve([args.scenario])
    if scenario.load.wait.kind != WaitKind.NONE or scenario.load.pipeline > 1:
        raise UsageError(f"scenario {scenario.id}: a ceiling needs a closed loop without think time or pipelining")
    scenario = scenario.with_load(duration=options.duration(args.duration, "--duration"),
                                  warmup=options.duration(args.warmup, "--warmup"))
    runs = calibration_runs(scenario, args.repeats, users)
    info = {"calibrate": True, "scenarios": [scenario.id], "repeats": args.repeats, "users": list(users),
            "generators": [f"{client}/{driver}" for client, driver in generators()]}
    pinning = options.pinning(args, console)
    on_console(console, lambda reporter: run_batch(runs, pinning, args.results, {"command": sys.argv, **info},
                                                   reporter))
    return 0
