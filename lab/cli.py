"""`lab`: run the staged comparison, one run, a server; list scenarios and results."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from servers import STAGES

from . import wrk_driver
from .load import Pinning
from .measure import DRIVERS
from .scenario import Scenario, ScenarioError, load_scenario, parse_duration, resolve, scenario_files
from .targets import Target, ablation_targets, external_target, parse_stages, peer_names, peer_target, stage_target

# locust's own default master port, so that `lab worker --master HOST` needs no port either.
LOCUST_MASTER_PORT = 5557
# --quick: long enough for a few hundred requests per run, short enough for a smoke check.
QUICK_DURATION_S = 2.0
QUICK_WARMUP_S = 1.0


class UsageError(Exception):
    """Bad input on the command line; exit code 2."""


def _cpus(text: str, flag: str) -> frozenset[int]:
    cpus: set[int] = set()
    try:
        for part in filter(None, (p.strip() for p in text.split(","))):
            low, dash, high = part.partition("-")
            cpus.update(range(int(low), int(high) + 1) if dash else (int(part),))
    except ValueError:
        raise UsageError(f"{flag} takes CPU numbers like 0, 0,1 or 0-3, got {text!r}") from None
    available = os.sched_getaffinity(0)
    if not cpus or not cpus <= available:
        raise UsageError(f"{flag} {text}: this process may use CPUs {sorted(available)} only")
    return frozenset(cpus)


def _pinning(args: argparse.Namespace, console: Console) -> Pinning:
    available = sorted(os.sched_getaffinity(0))
    server = args.server_cpus if args.server_cpus is not None else str(available[0])
    client = args.client_cpus if args.client_cpus is not None else ",".join(map(str, available[1:])) or server
    pinning = Pinning(_cpus(server, "--server-cpus"), _cpus(client, "--client-cpus"))
    if pinning.server_cpus & pinning.client_cpus:
        console.print("[yellow]warning: server and load generator share CPUs "
                      f"{sorted(pinning.server_cpus & pinning.client_cpus)}; they compete for them[/yellow]")
    return pinning


def _duration(text: str | None, flag: str) -> float | None:
    if text is None:
        return None
    try:
        value = parse_duration(text, flag)
    except ValueError as error:
        raise UsageError(str(error)) from None
    if flag == "--duration" and value <= 0:
        raise UsageError("--duration must be > 0")
    return value


def _scenarios(args: argparse.Namespace) -> list[Scenario]:
    names = None if args.scenarios is None else [n.strip() for n in args.scenarios.split(",") if n.strip()]
    scenarios = resolve(names)
    duration = _duration(args.duration, "--duration")
    warmup = _duration(args.warmup, "--warmup")
    if args.quick:
        duration = duration if duration is not None else QUICK_DURATION_S
        warmup = warmup if warmup is not None else QUICK_WARMUP_S
    if args.expect_workers < 0:
        raise UsageError("--expect-workers must be >= 0")
    if args.processes is not None and args.processes < (0 if args.expect_workers else 1):
        raise UsageError("--processes must be >= 1 (or 0 with --expect-workers: all load from other machines)")
    master_bind = ""
    if args.expect_workers:
        if args.driver == wrk_driver.NAME:
            raise UsageError("--expect-workers needs locust workers; wrk runs on this machine only")
        host, port = _host_port(args.master_bind, "--master-bind")
        master_bind = f"{host}:{port}"
    return [s.with_times(duration, warmup, args.processes, args.expect_workers, master_bind) for s in scenarios]


def _host_port(text: str, flag: str) -> tuple[str, int]:
    host, colon, port = text.rpartition(":")
    if not colon:
        host, port = text, str(LOCUST_MASTER_PORT)
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(f"{flag} takes HOST or HOST:PORT, got {text!r}")
    return host, int(port)


def _add_measure_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--duration", help="measured time per run, e.g. 10s (default: the scenario's)")
    parser.add_argument("--warmup", help="unmeasured time before it, e.g. 2s (default: the scenario's)")
    parser.add_argument("--quick", action="store_true",
                        help=f"short runs for a smoke check ({QUICK_DURATION_S:.0f}s + {QUICK_WARMUP_S:.0f}s warm-up)")
    parser.add_argument("--driver", choices=sorted(DRIVERS),
                        help="load generator: locust (default) or wrk (native, for ceilings; needs wrk installed)")
    parser.add_argument("--processes", type=int,
                        help="locust processes on this machine generating load (default: the scenario's, usually 1)")
    parser.add_argument("--expect-workers", type=int, default=0, metavar="N",
                        help="also wait for N locust workers on other machines (`lab worker --master HOST`)")
    parser.add_argument("--master-bind", default=f"0.0.0.0:{LOCUST_MASTER_PORT}", metavar="HOST[:PORT]",
                        help=f"where the locust master listens for them (default 0.0.0.0:{LOCUST_MASTER_PORT})")
    parser.add_argument("--server-cpus", help="CPUs for the server (default: the first allowed)")
    parser.add_argument("--client-cpus", help="CPUs for the load generator (default: all the others)")
    parser.add_argument("--results", type=Path, default=Path("results"), help="results directory (default results/)")


def _check_driver(args: argparse.Namespace, scenarios: list[Scenario]) -> None:
    if args.driver != wrk_driver.NAME:
        return
    if not wrk_driver.available():
        raise UsageError(wrk_driver.INSTALL_HINT)
    for scenario in scenarios:
        reason = wrk_driver.expressible(scenario)
        if reason is not None:
            raise UsageError(f"scenario {scenario.id} cannot run on wrk: {reason}")


# `lab compare --preset NAME`: a named set of options (explicit flags still win).
PRESETS: dict[str, dict[str, str]] = {
    # The fast stages and the peers at their ceilings: wrk, keep-alive, pipelined.
    "ceiling": {"stages": "2-4", "driver": "wrk", "scenarios": "plaintext,json,plaintext-pipelined",
                "peers": "uvicorn,granian,stage4-mypyc"},
}


# Options a preset may set, and their values without one; an explicit flag always wins.
PRESETTABLE = {"stages": "0-4", "driver": "locust", "scenarios": None, "peers": None}


def _resolve_defaults(args: argparse.Namespace) -> None:
    preset = PRESETS[args.preset] if getattr(args, "preset", None) else {}
    if args.command == "compare" and args.target and args.stages is None:
        args.stages = ""  # running servers named by --target, instead of the stages
    for option, default in PRESETTABLE.items():
        if hasattr(args, option) and getattr(args, option) is None:
            setattr(args, option, preset.get(option, default))


def _sweep(text: str | None) -> tuple[float, ...]:
    if not text:
        return ()
    try:
        levels = tuple(float(part) / 100 for part in text.split(","))
    except ValueError:
        raise UsageError(f"--sweep takes percentages like 50,80,95, got {text!r}") from None
    if not all(0 < level <= 2 for level in levels):
        raise UsageError("--sweep levels must be in (0, 200] percent of capacity")
    return levels


def _compare(args: argparse.Namespace, console: Console) -> int:
    from .compare import Plan, run_plan

    if args.repeats < 1:
        raise UsageError("--repeats must be >= 1")
    try:
        stages = parse_stages(args.stages) if args.stages else []
    except ValueError as error:
        raise UsageError(str(error)) from None
    targets = [stage_target(n) for n in stages] + [_external(url) for url in args.target or ()]
    if args.ablation:
        targets += ablation_targets()
    if not targets and not args.peers:
        raise UsageError("nothing to measure: give --stages, --target or --with")
    for name in filter(None, (part.strip() for part in (args.peers or "").split(","))):
        try:
            targets.append(peer_target(name))
        except ValueError as error:
            raise UsageError(str(error)) from None
    scenarios = _scenarios(args)
    _check_driver(args, scenarios)
    sweep = _sweep(args.sweep)
    if sweep and args.driver == wrk_driver.NAME:
        raise UsageError("--sweep runs open-loop (a fixed rate), which wrk cannot do; use --driver locust")
    plan = Plan(tuple(targets), tuple(scenarios), args.repeats, _pinning(args, console), args.results, args.driver,
                sweep)
    run_plan(plan, console, sys.argv)
    return 0


def _run(args: argparse.Namespace, console: Console) -> int:
    from .compare import Plan, run_plan

    if (args.stage is None) == (args.target is None):
        raise UsageError("give exactly one of --stage N or --target URL")
    if args.target is not None:
        target = _external(args.target)
    else:
        try:
            (number,) = parse_stages(args.stage)
        except ValueError as error:
            raise UsageError(f"--stage: {error}") from None
        target = stage_target(number, tuple(args.server_args))
    args.scenarios = args.scenario
    scenarios = _scenarios(args)
    _check_driver(args, scenarios)
    plan = Plan((target,), tuple(scenarios), 1, _pinning(args, console), args.results, args.driver)
    run_plan(plan, console, sys.argv)
    return 0


def _external(url: str) -> Target:
    if not url.startswith(("http://", "https://")):
        raise UsageError(f"--target must be a URL like http://127.0.0.1:8080, got {url!r}")
    return external_target(url)


def _worker(args: argparse.Namespace, console: Console) -> int:
    from .locust_driver import serve_worker

    host, port = _host_port(args.master, "--master")
    if args.processes < 1:
        raise UsageError("--processes must be >= 1")
    cpus = _cpus(args.client_cpus, "--client-cpus") if args.client_cpus else frozenset(os.sched_getaffinity(0))
    return serve_worker(host, port, args.processes, cpus, console.print)


def _serve(args: argparse.Namespace, console: Console) -> int:
    try:
        (number,) = parse_stages(args.stage)
    except ValueError as error:
        raise UsageError(str(error)) from None
    argv = [sys.executable, "-m", STAGES[number].module, *args.server_args]
    os.execv(sys.executable, argv)


def _list_scenarios(args: argparse.Namespace, console: Console) -> int:
    from rich.table import Table

    table = Table(title="scenarios/ (add a .toml file to add one)", title_justify="left")
    for column in ("id", "default", "users", "duration", "wait", "requests", "description"):
        table.add_column(column)
    bad = 0
    for path in scenario_files():
        try:
            s = load_scenario(path)
        except ScenarioError as error:
            bad += 1
            table.add_row(path.stem, "", "", "", "", "", f"[red]invalid: {escape(str(error))}[/red]")
            continue
        wait = s.load.wait.kind
        table.add_row(s.id, "yes" if s.default else "", str(s.load.users),
                      f"{s.load.warmup:g}s + {s.load.duration:g}s", wait,
                      ", ".join(f"{r.name} ×{r.weight}" for r in s.requests), s.description)
    console.print(table)
    return 1 if bad else 0


def _results(args: argparse.Namespace, console: Console) -> int:
    from rich.table import Table

    from .results import batches, load
    from .summary import summarize, summary_table

    if args.batch is None:
        found = batches(args.results)
        if not found:
            console.print(f"no results under {args.results}/ yet: run `lab compare`")
            return 0
        table = Table(title=f"batches in {args.results}/", title_justify="left")
        for column in ("batch", "runs", "failed", "targets", "scenarios"):
            table.add_column(column)
        for path in found:
            runs = load(args.results, path.name)
            failed = int(runs["error"].notna().sum()) if "error" in runs else 0
            table.add_row(path.name, str(len(runs)), str(failed), ", ".join(dict.fromkeys(runs["target_label"])),
                          ", ".join(dict.fromkeys(runs["scenario"])))
        console.print(table)
        return 0
    try:
        runs = load(args.results, args.batch)
    except FileNotFoundError as error:
        raise UsageError(str(error)) from None
    console.print(summary_table(summarize(runs), f"batch {args.batch}"))
    return 0


def _report(args: argparse.Namespace, console: Console) -> int:
    from .report import ReportError, write_report
    from .results import latest_batch

    batch = args.batch or latest_batch(args.results)
    if batch is None:
        console.print(f"no results under {args.results}/ yet: run `lab compare` first")
        return 1
    if not (args.results / batch / "runs.parquet").is_file():
        raise UsageError(f"no batch {batch!r} under {args.results}/ (see `lab results`)")
    console.print(f"executing the notebooks against batch {batch} …")
    try:
        written = write_report(batch, args.results)
    except ReportError as error:
        console.print(f"[red]lab report: a notebook failed: {escape(str(error))}[/red]")
        return 1
    pages = [p for p in written if p.suffix == ".html"]
    console.print(f"wrote {len(pages)} pages and {len(written) - len(pages)} figures to {pages[0].parent}/")
    for page in pages:
        console.print(f"  {page}")
    return 0


def _notebook(args: argparse.Namespace, console: Console) -> int:
    import shutil

    from .report import NOTEBOOKS

    search = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])
    jupyter = shutil.which("jupyter-lab", path=search)
    if jupyter is None:
        console.print("[red]lab notebook: JupyterLab is not installed; install it with "
                      "`.venv/bin/pip install -e '.\\[notebook]'` (or run `make notebook`)[/red]")
        return 1
    os.execv(jupyter, [jupyter, str(NOTEBOOKS)])


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="lab", description="Measure the staged servers of qpslab.")
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    compare = commands.add_parser("compare", help="every stage × the scenarios, into one results batch")
    compare.add_argument("--stages", help="stages to run, e.g. 0,1,4 or 0-4 (default 0-4)")
    compare.add_argument("--scenarios", help="scenario ids or paths, comma-separated (default: the default ones)")
    compare.add_argument("--target", action="append", metavar="URL",
                         help="a running server to measure (repeatable); replaces the stages unless --stages is given")
    compare.add_argument("--repeats", type=int, default=1, help="runs per stage and scenario, interleaved (default 1)")
    compare.add_argument("--preset", choices=sorted(PRESETS),
                         help="ceiling: stages 2-4 and the peers (uvicorn, granian, stage 4 compiled by mypyc) on "
                              "plaintext, json and 16-deep pipelining, with wrk")
    compare.add_argument("--with", dest="peers", metavar="PEERS",
                         help=f"also measure other servers on the same scenarios: {', '.join(peer_names())}")
    compare.add_argument("--sweep", metavar="PERCENTS",
                         help="after each capacity run, open-loop runs at these % of it, e.g. 50,80,95 "
                              "(latency versus load; locust)")
    compare.add_argument("--ablation", action="store_true",
                         help="also run stage 4 with each optimization off (--parser core, --no-keep-alive, …)")
    _add_measure_options(compare)
    compare.set_defaults(handler=_compare)

    run = commands.add_parser("run", help="one server (or --target URL) × one scenario")
    run.add_argument("--stage", help="stage number to start and measure")
    run.add_argument("--target", help="URL of a server already running (not started by the lab)")
    run.add_argument("--scenario", default="plaintext", help="scenario id or path (default plaintext)")
    run.add_argument("server_args", nargs="*", help="flags for the server after --, e.g. -- --no-cache")
    _add_measure_options(run)
    run.set_defaults(handler=_run)

    serve = commands.add_parser("serve", help="run one stage's server in the foreground")
    serve.add_argument("stage", help="stage number, 0-4")
    serve.add_argument("server_args", nargs=argparse.REMAINDER, help="the server's own flags, e.g. --port 8080")
    serve.set_defaults(handler=_serve)

    worker = commands.add_parser("worker", help="lend this machine's CPUs to a `lab compare --expect-workers` "
                                                "on another machine, run after run, until Ctrl-C")
    worker.add_argument("--master", required=True, metavar="HOST[:PORT]",
                        help=f"the machine running lab compare (port default {LOCUST_MASTER_PORT})")
    worker.add_argument("--processes", type=int, default=1, help="locust processes on this machine (default 1)")
    worker.add_argument("--client-cpus", help="CPUs for them (default: all allowed)")
    worker.set_defaults(handler=_worker)

    scenarios = commands.add_parser("scenarios", help="list and validate scenarios/*.toml")
    scenarios.set_defaults(handler=_list_scenarios)

    results = commands.add_parser("results", help="list batches, or summarize one")
    results.add_argument("batch", nargs="?", help="batch id to summarize")
    results.add_argument("--results", type=Path, default=Path("results"), help="results directory")
    results.set_defaults(handler=_results)

    report = commands.add_parser("report", help="execute the notebooks for a batch: HTML + PNG in its report/")
    report.add_argument("batch", nargs="?", help="batch id (default: the newest)")
    report.add_argument("--results", type=Path, default=Path("results"), help="results directory")
    report.set_defaults(handler=_report)

    notebook = commands.add_parser("notebook", help="open JupyterLab on notebooks/")
    notebook.set_defaults(handler=_notebook)
    return top


# Width of tables when output is not a terminal (CI logs, files): wide enough for the summary.
PIPE_WIDTH = 160


def main(argv: list[str] | None = None) -> None:
    console = Console()
    if not console.is_terminal:
        console = Console(width=PIPE_WIDTH)
    args = parser().parse_args(argv)
    _resolve_defaults(args)
    try:
        code = args.handler(args, console)
    except (UsageError, ScenarioError) as error:
        console.print(f"[red]lab {args.command}: {escape(str(error))}[/red]")
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
    sys.exit(code)
