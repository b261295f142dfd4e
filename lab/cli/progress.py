"""A batch on the console as it runs (lab.run.scheduler's Reporter), and its summary after."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Any

import pandas as pd
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from lab.analysis.console import PROFILED_NOTE, batch_summary, profiled_table
from lab.analysis.present import MISSING
from lab.analysis.summary import saturation_hint
from lab.drivers import wrk
from lab.model.bottleneck import FLOORS
from lab.run.scheduler import Batch
from lab.store.results import CountedResult, ProfiledResult, RunResult


class ConsoleReporter:
    """A progress bar with the generator's live rate, and a line for each finished run."""

    def __init__(self, console: Console) -> None:
        self._progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                  TimeElapsedColumn(), TextColumn("{task.fields[live]}"), console=console,
                                  transient=False)
        self._task: TaskID | None = None
        self._total = 0

    def __enter__(self) -> ConsoleReporter:
        self._progress.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self._progress.stop()

    def started(self, total: int) -> None:
        self._total = total
        self._task = self._progress.add_task("comparing", total=total, live="")

    def running(self, index: int, what: str) -> None:
        assert self._task is not None
        self._progress.update(self._task, description=f"run {index}/{self._total}: {what}", live="starting")

    def live(self, text: str) -> None:
        assert self._task is not None
        self._progress.update(self._task, live=text)

    def skipped(self, what: str, why: str) -> None:
        assert self._task is not None
        self._progress.console.print(f"[red]✗ {escape(what)}: skipped, {escape(why)}[/red]")
        self._progress.advance(self._task)

    def finished(self, what: str, result: RunResult) -> None:
        assert self._task is not None
        self._progress.console.print(one_line(what, result.row))
        self._progress.advance(self._task)

    def counted(self, what: str, result: CountedResult) -> None:
        assert self._task is not None
        self._progress.console.print(counted_line(what, result.row))
        self._progress.advance(self._task)

    def profiled(self, what: str, result: ProfiledResult) -> None:
        assert self._task is not None
        self._progress.console.print(profiled_line(what, result))
        self._progress.advance(self._task)

    def interrupted(self, batch: Batch) -> None:
        self._progress.console.print(f"[yellow]interrupted: {len(batch.results)} finished runs kept in "
                                     f"{batch.directory}[/yellow]")


def one_line(what: str, row: dict[str, Any]) -> str:
    """A finished run as one console line: its rate and tail, or why it failed."""
    if row["error"]:
        return f"[red]✗ {escape(what)}: {escape(row['error'])}[/red]"
    note = f" [yellow]({row['bottleneck']} saturated)[/yellow]" if row["bottleneck"] in FLOORS else ""
    if row["failures"]:
        note += f" [red]({row['failures']:,} failed: {escape(str(row['top_error']))})[/red]"
    p99 = MISSING if row["latency_p99_us"] is None else f"{row['latency_p99_us']:,.0f}"
    return f"✓ {escape(what)}: {row['qps']:,.0f} req/s, p99 {p99} µs{note}"


def counted_line(what: str, row: dict[str, Any]) -> str:
    """A finished counted run as one console line: its counts, or why it failed."""
    if row["error"]:
        return f"[red]✗ {escape(what)}: {escape(row['error'])}[/red]"
    return (f"✓ {escape(what)}: {row['server_instructions_per_request']:,.0f} instructions/req, "
            f"{row['server_syscalls_per_request']:.2f} syscalls/req ({row['counted_requests']:,} requests, "
            f"{row['counted_wall_s']:.1f} s under valgrind)")


def profiled_line(what: str, result: ProfiledResult) -> str:
    """A finished profiled run as one console line: its rate under the profiler, its samples and
    its costliest function of its own, or why it failed."""
    row = result.row
    if row["error"]:
        return f"[red]✗ {escape(what)}: {escape(row['error'])}[/red]"
    top = max(result.functions, key=lambda f: f["self_samples"], default=None)
    costliest = "" if top is None or top["self_us_per_request"] is None else (
        f"; most of its own: {escape(str(top['function']))} {top['self_us_per_request']:,.2f} µs/req")
    return (f"✓ {escape(what)}: {row['qps']:,.0f} req/s under {row['profiler']}, {row['profile_samples']:,} "
            f"samples{costliest}")


def print_batch(console: Console, batch: Batch) -> None:
    """The batch's summary tables and what to do about a saturated generator, then where it is."""
    if batch.profiled:
        frame = pd.DataFrame([result.row for result in batch.results])
        profiled = pd.DataFrame([result.row for result in batch.profiled])
        functions = pd.DataFrame([f for result in batch.profiled for f in result.functions])
        console.print(profiled_table(profiled, frame, functions))
        console.print(f"[dim]{PROFILED_NOTE}[/dim]")
    if batch.results or batch.counted:
        frame = pd.DataFrame([result.row for result in batch.results])
        counted = pd.DataFrame([result.row for result in batch.counted]) if batch.counted else None
        for part in batch_summary(frame, f"batch {batch.directory.name}", counted):
            console.print(part)
        hint = saturation_hint(frame, wrk.available()) if batch.results else None
        if hint:
            console.print(f"[yellow]{hint}[/yellow]")
    console.print(f"results: {batch.directory}")


def on_console(console: Console, run: Callable[[ConsoleReporter], Batch]) -> Batch:
    """Run a batch with its progress on the console, then print its summary."""
    with ConsoleReporter(console) as reporter:
        batch = run(reporter)
    print_batch(console, batch)
    return batch
