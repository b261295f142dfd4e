"""`lab compare`: every target × every scenario × repeats, interleaved, into one results batch."""

from __future__ import annotations

import argparse
import sys

from rich.console import Console
from rich.markup import escape

from lab.analysis.console import diff_table
from lab.analysis.diff import compare
from lab.analysis.present import notes
from lab.cli import options
from lab.cli.options import UsageError
from lab.cli.progress import on_console
from lab.drivers.registry import DEFAULT_DRIVER, driver_named
from lab.files.target_file import find, target_files, unavailable
from lab.files.toml_file import FileError
from lab.model.target import Target, ablation_targets, external_target, parse_stages, stage_target
from lab.run.plan import Plan, run_plan
from lab.store.results import load

# `--preset NAME`: a named set of options; a flag given explicitly wins over the preset's.
PRESETS: dict[str, dict[str, str]] = {
    # The fast stages and the peers at their ceilings: wrk, keep-alive, pipelined; the minimal
    # server as the floor any Python server on this machine's loopback stands on.
    "ceiling": {"stages": "2-4", "driver": "wrk", "scenarios": "plaintext,json,plaintext-pipelined",
                "peers": "minimal,uvicorn,granian,socketify,stage4-mypyc"},
    # The roadmap's industry comparison measured: stage 4 beside Node.js, Go and Rust (hyper on
    # tokio), each on one core, with the Python references; wrk, so no server waits on locust.
    "industry": {"stages": "4", "driver": "wrk", "scenarios": "plaintext,json,plaintext-pipelined,io-wait",
                 "peers": "minimal,uvicorn,socketify,node,go,rust-hyper"},
}
# What those options are without a preset (None: the scenario files marked default; no peers).
DEFAULTS: dict[str, str | None] = {"stages": "0-4", "driver": DEFAULT_DRIVER, "scenarios": None, "peers": None}


def add(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("compare", help="every stage × the scenarios, into one results batch")
    parser.add_argument("--stages", help="stages to run, e.g. 0,1,4 or 0-4 (default 0-4)")
    parser.add_argument("--scenarios", help="scenario ids or paths, comma-separated (default: the default ones)")
    parser.add_argument("--target", action="append", metavar="URL",
                        help="a running server to measure (repeatable); replaces the stages unless --stages is given")
    parser.add_argument("--repeats", type=int, default=1,
                        help="runs per stage and scenario, interleaved (default 1; 0 with --instructions: counted "
                             "runs only)")
    parser.add_argument("--preset", choices=sorted(PRESETS),
                        help="ceiling: stages 2-4 and the peers (minimal, uvicorn, granian, socketify, stage 4 "
                             "compiled by mypyc) on plaintext, json and 16-deep pipelining, with wrk; industry: "
                             "stage 4 beside Node.js, Go and Rust/hyper (and minimal, uvicorn, socketify) on those and "
                             "io-wait, with wrk: the roadmap's industry lines")
    parser.add_argument("--with", dest="peers", metavar="TARGETS",
                        help="also measure servers described by target files, by name or path, comma-separated: "
                             f"{', '.join(p.stem for p in target_files())} (see `lab targets`)")
    parser.add_argument("--sweep", metavar="PERCENTS",
                        help="after each capacity run, open-loop runs at these %% of it, e.g. 50,80,95 "
                             "(latency versus load; locust)")
    parser.add_argument("--calibrate", action=argparse.BooleanOptionalAction, default=True,
                        help="in every repeat, run each scenario against the minimal server first: the load "
                             "generator's ceiling (closed loop, a few seconds) or the machine's latency floor (open "
                             "loop, the scenario's own length); default on")
    parser.add_argument("--ablation", action="store_true",
                        help="also run stage 4 with each optimization off (--parser core, --no-keep-alive, …)")
    parser.add_argument("--baseline", metavar="BATCH",
                        help="after the summary, `lab diff BATCH` against this batch (an id or a directory)")
    options.add_measure_options(parser)
    parser.set_defaults(handler=handle)


def chosen(args: argparse.Namespace, option: str) -> str | None:
    """An option's value: the flag's, else the preset's, else its default."""
    given: str | None = getattr(args, option)
    if given is not None:
        return given
    if option == "stages" and args.target:
        return ""  # running servers named by --target, instead of the stages
    preset = PRESETS[args.preset] if args.preset else {}
    return preset.get(option, DEFAULTS[option])


def sweep_levels(text: str | None) -> tuple[float, ...]:
    if not text:
        return ()
    try:
        levels = tuple(float(part) / 100 for part in text.split(","))
    except ValueError:
        raise UsageError(f"--sweep takes percentages like 50,80,95, got {text!r}") from None
    if not all(0 < level <= 2 for level in levels):
        raise UsageError("--sweep levels must be in (0, 200] percent of capacity")
    return levels


def external(url: str) -> Target:
    if not url.startswith(("http://", "https://")):
        raise UsageError(f"--target must be a URL like http://127.0.0.1:8080, got {url!r}")
    return external_target(url)


def file_target(name: str) -> Target:
    """A target file's server, refused before any run when the file is bad or it cannot run here."""
    try:
        file = find(name)
    except FileError as error:
        raise UsageError(str(error)) from None
    reason = unavailable(file)
    if reason is not None:
        raise UsageError(reason)
    return file.target


def handle(args: argparse.Namespace, console: Console) -> int:
    if args.repeats < (0 if args.instructions else 1):
        raise UsageError("--repeats must be >= 1 (0 with --instructions: counted runs only)")
    stages_text = chosen(args, "stages")
    try:
        stages = parse_stages(stages_text) if stages_text else []
    except ValueError as error:
        raise UsageError(str(error)) from None
    targets = [stage_target(n) for n in stages] + [external(url) for url in args.target or ()]
    if args.ablation:
        targets += ablation_targets()
    peers = chosen(args, "peers")
    if not targets and not peers:
        raise UsageError("nothing to measure: give --stages, --target or --with")
    for name in filter(None, (part.strip() for part in (peers or "").split(","))):
        targets.append(file_target(name))
    driver = chosen(args, "driver")
    assert driver is not None
    sweep = sweep_levels(args.sweep)
    scenarios = options.scenarios(args, chosen(args, "scenarios"), driver)
    for scenario in scenarios if sweep else ():
        refused = driver_named(driver).refusal(scenario.at_rate(1.0))
        if refused is not None:
            raise UsageError(f"--sweep runs each scenario at fixed rates, which {driver} cannot: {refused}")
    baseline = options.batch(args.baseline, args.results) if args.baseline else None  # a typo fails before any run
    counted_repeats, counted_load = options.counted(args, targets, scenarios, args.repeats)
    plan = Plan(tuple(targets), tuple(scenarios), args.repeats, options.pinning(args, console), args.results, driver,
                sweep, args.calibrate, counted_repeats, counted_load, options.profiled(args, targets))
    for left_out, labels in plan.left_out().items():
        console.print(f"[dim]{left_out} left out on {', '.join(labels)}: it measures connections kept alive, and "
                      f"{'they close' if len(labels) > 1 else 'it closes'} every connection after its answer[/dim]")
    directory = on_console(console, lambda reporter: run_plan(plan, reporter, sys.argv)).directory
    if baseline is not None:
        measured = load(directory.parent, directory.name)
        changes = compare(baseline, measured)
        if not changes:
            console.print(f"[yellow]{args.baseline} and this batch have no target × scenario in common[/yellow]")
            return 0
        for line in notes(changes, baseline, measured):
            console.print(escape(line))
        console.print(diff_table(changes, f"{args.baseline} → {directory.name}"))
    return 0
