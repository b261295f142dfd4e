"""What several commands share: the flags of a measured run, and the parsers of their values.

Each parser turns text into a value or raises UsageError (exit 2) with what was expected.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import pandas as pd
from rich.console import Console

import oscalls
from lab.analysis.diff import counted_repeats_needed
from lab.counting import valgrind
from lab.drivers.registry import DEFAULT_DRIVER, DRIVERS, driver_named
from lab.files.scenario_file import resolve
from lab.model.ranges import parse_ranges
from lab.model.scenario import Scenario, parse_duration
from lab.model.target import Target
from lab.paths import DEFAULT_RESULTS
from lab.profiling import profilers
from lab.run.counted import COUNTED_REQUESTS, WARMUP_REQUESTS, CountedLoad
from lab.run.measure import Pinning
from lab.run.profiled import PROFILED_REPEATS
from lab.store.results import load, load_counted, load_functions, load_profile_functions, load_profiled, load_stacks

# locust's own default master port, so that `lab worker --master HOST` needs no port either.
LOCUST_MASTER_PORT = 5557
# --quick: long enough for a few hundred requests per run, short enough for a smoke check.
QUICK_DURATION_S = 2.0
QUICK_WARMUP_S = 1.0


class UsageError(Exception):
    """Bad input on the command line; exit code 2."""


def cpus(text: str, flag: str) -> frozenset[int]:
    try:
        chosen = frozenset(parse_ranges(text, flag))
    except ValueError as error:
        raise UsageError(f"{flag} takes CPU numbers like 0, 0,1 or 0-3: {error}") from None
    available = oscalls.allowed_cpus()
    if available is None:
        raise UsageError(f"{flag}: this operating system cannot pin processes to CPUs")
    if not chosen <= available:
        raise UsageError(f"{flag} {text}: this process may use CPUs {sorted(available)} only")
    return chosen


def pinning(args: argparse.Namespace, console: Console) -> Pinning:
    """--server-cpus and --client-cpus; by default the first allowed CPU serves, the rest load.
    Where the OS cannot pin (macOS, the BSDs), both run anywhere and a warning says so."""
    allowed = oscalls.allowed_cpus()
    if allowed is None:
        if args.server_cpus is not None or args.client_cpus is not None:
            raise UsageError("--server-cpus/--client-cpus: this operating system cannot pin processes to CPUs")
        console.print("[yellow]warning: this operating system cannot pin processes to CPUs: the server and the "
                      "load generator share all of them, and runs record no pinning[/yellow]")
        everything = oscalls.all_cpus()
        return Pinning(everything, everything, pinned=False)
    available = sorted(allowed)
    server = args.server_cpus if args.server_cpus is not None else str(available[0])
    client = args.client_cpus if args.client_cpus is not None else ",".join(map(str, available[1:])) or server
    chosen = Pinning(cpus(server, "--server-cpus"), cpus(client, "--client-cpus"))
    shared = chosen.server_cpus & chosen.client_cpus
    if shared:
        console.print(f"[yellow]warning: server and load generator share CPUs {sorted(shared)}; "
                      "they compete for them[/yellow]")
    return chosen


def duration(text: str | None, flag: str) -> float | None:
    if text is None:
        return None
    try:
        value = parse_duration(text, flag)
    except ValueError as error:
        raise UsageError(str(error)) from None
    if flag == "--duration" and value <= 0:
        raise UsageError("--duration must be > 0")
    return value


def host_port(text: str, flag: str) -> tuple[str, int]:
    host, colon, port = text.rpartition(":")
    if not colon:
        host, port = text, str(LOCUST_MASTER_PORT)
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(f"{flag} takes HOST or HOST:PORT, got {text!r}")
    return host, int(port)


def scenarios(args: argparse.Namespace, names_text: str | None, driver: str) -> list[Scenario]:
    """The named scenarios (None: the default ones) with the command line's overrides."""
    names = None if names_text is None else [n.strip() for n in names_text.split(",") if n.strip()]
    chosen = resolve(names)
    if names is None:
        # The default set includes what only locust can run (the open-loop latency scenario).
        chosen = [s for s in chosen if driver_named(driver).refusal(s) is None]
    measured = duration(args.duration, "--duration")
    warmup = duration(args.warmup, "--warmup")
    if args.quick:
        measured = measured if measured is not None else QUICK_DURATION_S
        warmup = warmup if warmup is not None else QUICK_WARMUP_S
    if args.expect_workers < 0:
        raise UsageError("--expect-workers must be >= 0")
    if args.processes is not None and args.processes < (0 if args.expect_workers else 1):
        raise UsageError("--processes must be >= 1 (or 0 with --expect-workers: all load from other machines)")
    master_bind = ""
    if args.expect_workers:
        host, port = host_port(args.master_bind, "--master-bind")
        master_bind = f"{host}:{port}"
    chosen = [s.with_load(duration=measured, warmup=warmup, processes=args.processes,
                          expect_workers=args.expect_workers, master_bind=master_bind) for s in chosen]
    check_driver(driver, chosen)
    return chosen


def counted(args: argparse.Namespace, targets: list[Target], chosen: list[Scenario],
            repeats: int) -> tuple[int, CountedLoad]:
    """The counted runs asked for: repeats per target × scenario and their load; (0, …) without
    --instructions. Refused before any run where they cannot be made."""
    if not args.instructions:
        if args.counted_repeats is not None:
            raise UsageError("--counted-repeats needs --instructions")
        return 0, CountedLoad()
    reason = valgrind.missing()
    if reason is not None:
        raise UsageError(f"--instructions: {reason}")
    started_elsewhere = [target.label for target in targets if target.module is None and not target.command]
    if started_elsewhere:
        raise UsageError(f"--instructions counts a server the lab starts under valgrind; {started_elsewhere[0]} "
                         "is a running URL")
    if args.counted_repeats is not None and args.counted_repeats < 1:
        raise UsageError("--counted-repeats must be >= 1")
    if args.counted_requests < 1:
        raise UsageError("--counted-requests must be >= 1")
    needed = counted_repeats_needed(len(targets) * len(chosen), repeats)
    return args.counted_repeats or needed, CountedLoad(args.counted_requests, WARMUP_REQUESTS)


def profiled(args: argparse.Namespace, targets: list[Target]) -> int:
    """Profiled runs per target × scenario asked for (0 without --profile). Refused before any run
    where a profiler it needs cannot attach: py-spy for the stages, and perf too with a target
    file (its launcher may exec a native server, which only perf samples)."""
    if not args.profile:
        if args.profile_repeats is not None:
            raise UsageError("--profile-repeats needs --profile")
        return 0
    started_elsewhere = [target.label for target in targets if target.module is None and not target.command]
    if started_elsewhere:
        raise UsageError(f"--profile attaches to a server the lab starts; {started_elsewhere[0]} is a running URL")
    needed = [profilers.PY_SPY] + ([profilers.PERF] if any(t.stage is None for t in targets) else [])
    for kind in needed:
        reason = profilers.missing(kind)
        if reason is not None:
            raise UsageError(f"--profile: {reason}")
    if args.profile_repeats is not None and args.profile_repeats < 1:
        raise UsageError("--profile-repeats must be >= 1")
    return args.profile_repeats or PROFILED_REPEATS


def check_driver(name: str, chosen: list[Scenario]) -> None:
    """UsageError unless the driver is installed and can run every chosen scenario."""
    driver = driver_named(name)
    missing = driver.missing()
    if missing is not None:
        raise UsageError(missing)
    for scenario in chosen:
        reason = driver.refusal(scenario)
        if reason is not None:
            raise UsageError(f"scenario {scenario.id} cannot run on {name}: {reason}")


def add_measure_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--duration", help="measured time per run, e.g. 10s (default: the scenario's)")
    parser.add_argument("--warmup", help="unmeasured time before it, e.g. 2s (default: the scenario's)")
    parser.add_argument("--quick", action="store_true",
                        help=f"short runs for a smoke check ({QUICK_DURATION_S:.0f}s + {QUICK_WARMUP_S:.0f}s warm-up)")
    parser.add_argument("--driver", choices=sorted(DRIVERS),
                        help=f"load generator: {DEFAULT_DRIVER} (default) or wrk (native, for ceilings; needs wrk)")
    parser.add_argument("--processes", type=int,
                        help="locust processes on this machine generating load (default: the scenario's, else one per "
                             "client CPU, each pinned to its own)")
    parser.add_argument("--expect-workers", type=int, default=0, metavar="N",
                        help="also wait for N locust workers on other machines (`lab worker --master HOST`)")
    parser.add_argument("--master-bind", default=f"0.0.0.0:{LOCUST_MASTER_PORT}", metavar="HOST[:PORT]",
                        help=f"where the locust master listens for them (default 0.0.0.0:{LOCUST_MASTER_PORT})")
    parser.add_argument("--instructions", action="store_true",
                        help="also count each target's instructions per request under valgrind (counted runs, after "
                             "the timed ones): a cost that does not drift, so lab diff sees a 1%% change")
    parser.add_argument("--counted-repeats", type=int, metavar="N",
                        help="counted runs per target and scenario (default: enough for lab diff of the batch to "
                             "reach its error rate, 5 or more)")
    parser.add_argument("--counted-requests", type=int, default=COUNTED_REQUESTS, metavar="N",
                        help=f"requests counted per counted run (default {COUNTED_REQUESTS:,}; {WARMUP_REQUESTS} "
                             "uncounted before them)")
    parser.add_argument("--profile", action="store_true",
                        help="also profile each target under each scenario's load (profiled runs, after the timed "
                             "ones: py-spy, or perf for a native server): µs per request by function, flame graphs")
    parser.add_argument("--profile-repeats", type=int, metavar="N",
                        help=f"profiled runs per target and scenario (default {PROFILED_REPEATS}: two show how far "
                             "the profile's own sampling noise moves a function)")
    parser.add_argument("--server-cpus", help="CPUs for the server (default: the first allowed)")
    parser.add_argument("--client-cpus", help="CPUs for the load generator (default: all the others)")
    add_results_option(parser)


def add_batch_options(parser: argparse.ArgumentParser, what: str) -> None:
    """A batch id (what it is for: `what`) and where the batches are."""
    parser.add_argument("batch", nargs="?", help=what)
    add_results_option(parser)


def add_results_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--results", type=Path, default=DEFAULT_RESULTS,
                        help=f"results directory (default {DEFAULT_RESULTS}/)")


def _located(name: str, root: Path) -> tuple[Path, str]:
    """A batch named by id under `root`, or by the path of its directory, as (root, id)."""
    path = Path(name)
    return (path.resolve().parent, path.resolve().name) if path.is_dir() else (root, name)


def batch(name: str, root: Path) -> pd.DataFrame:
    """A batch's runs by id under `root`, or by the path of its directory."""
    try:
        return load(*_located(name, root))
    except FileNotFoundError as error:
        raise UsageError(str(error)) from None


def profiled_batch(name: str, root: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A batch's profiled runs and their functions (empty frames where it profiled nothing)."""
    return _kept(name, root, load_profiled, load_profile_functions)


def profiled_stacks(name: str, root: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A batch's profiled runs and their stacks (empty frames where it profiled nothing)."""
    return _kept(name, root, load_profiled, load_stacks)


def counted_batch(name: str, root: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A batch's counted runs and their functions (empty frames where it counted nothing)."""
    return _kept(name, root, load_counted, load_functions)


def _kept(name: str, root: Path, *loaders: Callable[[Path, str], pd.DataFrame]) -> tuple[pd.DataFrame, pd.DataFrame]:
    try:
        runs, functions = (loader(*_located(name, root)) for loader in loaders)
    except FileNotFoundError as error:
        raise UsageError(str(error)) from None
    return runs, functions
