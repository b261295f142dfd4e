"""The staged comparison: every target × every scenario × repeats, interleaved, into one batch."""

from __future__ import annotations

import signal
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import pandas as pd
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from .environment import environment
from .load import Pinning
from .measure import measure
from .results import BatchWriter, new_batch_id
from .scenario import Scenario
from .summary import summarize, summary_table
from .targets import Target


@dataclass(frozen=True)
class Plan:
    targets: tuple[Target, ...]
    scenarios: tuple[Scenario, ...]
    repeats: int
    pinning: Pinning
    results: Path
    driver: str = "locust"

    def runs(self) -> list[tuple[int, Scenario, Target]]:
        """Repeat by repeat, scenario by scenario, every target in turn (0 1 2 … 0 1 2 …), so slow
        drift of a noisy machine spreads over all targets instead of landing on one."""
        return [(r, s, t) for r in range(self.repeats) for s in self.scenarios for t in self.targets]


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # unwinds through every finally: servers and locust are stopped


def run_plan(plan: Plan, console: Console, argv: list[str]) -> Path:
    """Run the plan, writing after each run; Ctrl-C or SIGTERM keeps what finished."""
    batch = new_batch_id()
    writer = BatchWriter(plan.results, batch, {
        "batch": batch,
        "command": argv,
        "targets": [t.label for t in plan.targets],
        "scenarios": [s.id for s in plan.scenarios],
        "repeats": plan.repeats,
        "driver": plan.driver,
        "server_cpus": sorted(plan.pinning.server_cpus),
        "client_cpus": sorted(plan.pinning.client_cpus),
        **environment(),
    })
    previous = signal.signal(signal.SIGTERM, _terminate)
    runs = plan.runs()
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        TextColumn("{task.fields[live]}"), console=console, transient=False)
    try:
        with progress:
            task = progress.add_task("comparing", total=len(runs), live="")
            for index, (repeat, scenario, target) in enumerate(runs, 1):
                what = f"{target.label} × {scenario.id}" + (f" (repeat {repeat + 1})" if plan.repeats > 1 else "")
                progress.update(task, description=f"run {index}/{len(runs)}: {what}", live="starting")

                def live(text: str, task_id: int = task) -> None:
                    progress.update(task_id, live=text)  # type: ignore[arg-type]

                result = measure(target, scenario, plan.pinning, batch=batch, repeat=repeat, driver=plan.driver,
                                 on_live=live)
                writer.add(result)
                row = result.row
                if row["error"]:
                    progress.console.print(f"[red]✗ {escape(what)}: {escape(row['error'])}[/red]")
                else:
                    note = " [yellow](generator saturated)[/yellow]" if row["bottleneck"] == "generator" else ""
                    if row["failures"]:
                        note += f" [red]({row['failures']:,} failed: {escape(str(row['top_error']))})[/red]"
                    p99 = "–" if row["latency_p99_us"] is None else f"{row['latency_p99_us']:,.0f}"
                    progress.console.print(f"✓ {escape(what)}: {row['qps']:,.0f} req/s, p99 {p99} µs{note}")
                progress.advance(task)
    except KeyboardInterrupt:
        console.print(f"[yellow]interrupted: {len(writer.rows)} finished runs kept in {writer.directory}[/yellow]")
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
    if writer.rows:
        console.print(summary_table(summarize(pd.DataFrame(writer.rows)), f"batch {batch}"))
    console.print(f"results: {writer.directory}")
    return writer.directory


