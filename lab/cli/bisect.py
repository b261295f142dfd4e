"""`lab bisect --good REV --bad REV`: the first commit whose server counts more instructions per
request than the good end's beyond --threshold, each commit in a worktree of its own."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from types import FrameType

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from lab.analysis.present import number, percent
from lab.cli import options
from lab.cli.compare import file_target
from lab.cli.diff import threshold
from lab.cli.options import UsageError
from lab.commits.bisect import REPEATS, Bisection
from lab.commits.worktrees import GitError, commits_between, git
from lab.counting import valgrind
from lab.files.scenario_file import resolve
from lab.model.target import Target, parse_stages, stage_target
from lab.paths import REPO
from lab.run.counted import COUNTED_REQUESTS, WARMUP_REQUESTS, CountedLoad

DEFAULT_THRESHOLD = "1%"


def add(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("bisect", help="the first commit whose server counts more instructions per request "
                                                "than the good one's, beyond a threshold")
    parser.add_argument("--good", required=True, metavar="REV", help="a commit whose server is as it should be")
    parser.add_argument("--bad", required=True, metavar="REV", help="a later commit whose server is worse")
    parser.add_argument("--stage", help="a stage of this repository (default 4, unless --target)")
    parser.add_argument("--target", help="a target file (its cwd, inside a git repository, names the repository)")
    parser.add_argument("--scenario", default="plaintext", help="scenario id or path (default plaintext)")
    parser.add_argument("--threshold", default=DEFAULT_THRESHOLD, metavar="PERCENT",
                        help=f"how much worse counts as worse (default {DEFAULT_THRESHOLD.replace('%', '%%')})")
    parser.add_argument("--counted-repeats", type=int, default=REPEATS, metavar="N",
                        help=f"counted runs per commit (default {REPEATS}: what one pair's diff needs for its 5%%)")
    parser.add_argument("--counted-requests", type=int, default=COUNTED_REQUESTS, metavar="N",
                        help=f"requests counted per run (default {COUNTED_REQUESTS:,})")
    parser.add_argument("server_args", nargs="*", help="flags for the stage after --, e.g. -- --parser core")
    parser.add_argument("--server-cpus", help="CPUs for the server (default: the first allowed)")
    parser.add_argument("--client-cpus", help="CPUs for the client (default: all the others)")
    options.add_results_option(parser)
    parser.set_defaults(handler=handle)


def _target(args: argparse.Namespace) -> tuple[Target, Path]:
    """The target its commits start, and the repository they are commits of."""
    if args.target is not None and args.stage is not None:
        raise UsageError("give --stage or --target, not both")
    if args.target is None:
        try:
            (number,) = parse_stages(args.stage or "4")
        except ValueError as error:
            raise UsageError(f"--stage: {error}") from None
        return stage_target(number, tuple(args.server_args)), REPO
    target = file_target(args.target)
    if target.cwd is None:
        raise UsageError(f"{args.target}: a bisected target file needs a cwd inside the git repository to bisect")
    try:
        return target, Path(git(Path(target.cwd), "rev-parse", "--show-toplevel"))
    except GitError:
        raise UsageError(f"{args.target}: its cwd {target.cwd} is not inside a git repository") from None


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # through every finally: servers stopped, worktrees removed


def handle(args: argparse.Namespace, console: Console) -> int:
    limit = threshold(args.threshold)
    assert limit is not None
    if args.counted_repeats < 2 or args.counted_requests < 1:
        raise UsageError("--counted-repeats must be >= 2 and --counted-requests >= 1")
    reason = valgrind.missing()
    if reason is not None:
        raise UsageError(f"bisect counts instructions: {reason}")
    target, repository = _target(args)
    (scenario,) = resolve([args.scenario])
    try:
        commits = commits_between(repository, args.good, args.bad)
    except GitError as error:
        raise UsageError(str(error)) from None
    console.print(f"bisecting {len(commits) - 1} commits of {repository} after {args.good}: {target.label} × "
                  f"{scenario.id}, {args.counted_repeats} counted runs a commit")
    bisection = Bisection(repository, target, scenario, options.pinning(args, console), results=args.results,
                          threshold=limit, repeats=args.counted_repeats,
                          load=CountedLoad(args.counted_requests, WARMUP_REQUESTS),
                          info={"command": sys.argv, "repository": str(repository), "good": args.good,
                                "bad": args.bad}, told=lambda line: console.print(escape(line)))
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        outcome = bisection.run(commits)
    except KeyboardInterrupt:
        console.print(f"[yellow]interrupted: what was measured is in {bisection.writer.directory}[/yellow]")
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
    table = Table(title="commits measured", title_justify="left")
    for column in ("commit", "instructions/req", "change", "verdict against the good end"):
        table.add_column(column, justify="right" if column in ("instructions/req", "change") else "left")
    for tried in outcome.tried:
        table.add_row(escape(tried.subject[:70]), number(tried.median, 0), percent(tried.change, 2),
                      escape(tried.verdict[:90]))
    console.print(table)
    console.print(escape(outcome.conclusion))
    console.print(f"results: {outcome.batch}")
    return 0 if outcome.first_worse is not None else 1
