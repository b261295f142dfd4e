"""`lab soak`: hold one stage at a fraction of its capacity beside hostile clients; judge drift."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from rich.console import Console
from rich.table import Table

from lab.analysis.present import MISSING
from lab.cli import options
from lab.cli.options import UsageError
from lab.cli.progress import on_console
from lab.files.scenario_file import resolve
from lab.model.target import parse_stages, stage_target
from lab.run.soak import soak
from lab.store.results import RunResult


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
    scenario = scenario.with_load(duration=options.duration(args.duration, "--duration"),
                                  warmup=options.duration(args.warmup, "--warmup"), slow_clients=args.hostile)
    target = stage_target(number, tuple(args.server_args))
    pinning = options.pinning(args, console)
    batch = on_console(console, lambda reporter: soak(target, scenario, pinning, args.results, level=args.level,
                                                      rate=args.rate, argv=sys.argv, reporter=reporter))
    soaked = [result for result in batch.results if result.row.get("soak_verdict") is not None]
    if not soaked:
        console.print("[red]✗ no soak: its capacity run failed[/red]")
        return 1
    console.print(soak_table(soaked[0]))
    return 0 if soaked[0].row["soak_verdict"] == "pass" else 1


def soak_table(result: RunResult) -> Table:
    row: dict[str, Any] = result.row
    table = Table(title=f"soak of {row['target_label']}: {row['soak_verdict']}", title_justify="left")
    table.add_column("measure")
    table.add_column("value", justify="right")

    def number(value: Any, fmt: str) -> str:
        return MISSING if value is None else format(value, fmt)

    for name, value in (
        ("real load: req/s (asked)", f"{number(row.get('qps'), ',.0f')} ({number(row.get('target_rate'), ',.0f')})"),
        ("real load: failed requests", number(row.get("failures"), ",")),
        ("p99 µs, whole window", number(row.get("latency_p99_us"), ",.0f")),
        ("p99 drift, end vs start", number(row.get("latency_p99_drift"), "+.1%")),
        ("RSS growth after the warm-up", f"{number(row.get('server_rss_growth'), '+.2%')} "
                                         f"({number(row.get('server_rss_growth_bytes'), '+,')} bytes)"),
        ("descriptors: idle → growth → after", f"{number(row.get('server_fds_idle'), ',')} → "
                                               f"{number(row.get('server_fds_growth'), '+,.0f')} → "
                                               f"{number(row.get('server_fds_after'), ',')}"),
        ("hostile connections opened", number(row.get("slow_clients_opened"), ",")),
    ):
        table.add_row(name, value)
    if row.get("error"):
        table.add_row("error", str(row["error"]))
    return table
