"""`lab worker`: lend this machine's CPUs to a `lab compare --expect-workers N` elsewhere."""

from __future__ import annotations

import argparse

from rich.console import Console

import oscalls
from lab.cli import options
from lab.cli.options import LOCUST_MASTER_PORT, UsageError


def add(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("worker", help="lend this machine's CPUs to a `lab compare --expect-workers` "
                                                "on another machine, run after run, until Ctrl-C")
    parser.add_argument("--master", required=True, metavar="HOST[:PORT]",
                        help=f"the machine running lab compare (port default {LOCUST_MASTER_PORT})")
    parser.add_argument("--processes", type=int, default=1, help="locust processes on this machine (default 1)")
    parser.add_argument("--client-cpus", help="CPUs for them (default: all allowed)")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace, console: Console) -> int:
    from lab.drivers.locust.driver import serve_worker

    host, port = options.host_port(args.master, "--master")
    if args.processes < 1:
        raise UsageError("--processes must be >= 1")
    cpus = options.cpus(args.client_cpus, "--client-cpus") if args.client_cpus else oscalls.all_cpus()
    return serve_worker(host, port, args.processes, cpus, console.print)
