"""The staged comparison: every target × every scenario × repeats, interleaved, into one batch."""

from __future__ import annotations

import signal
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import pandas as pd
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from lab.analysis.summary import batch_summary
from lab.drivers import wrk as wrk_driver
from lab.files.target_file import calibration_target
from lab.model.scenario import Scenario
from lab.model.target import CALIBRATION_TARGET, Target
from lab.run.environment import environment
from lab.run.measure import Pinning, measure
from lab.store.results import BatchWriter, new_batch_id

# Seconds a closed-loop calibration run measures (after CALIBRATION_WARMUP_S): a ceiling, not a study.
CALIBRATION_DURATION_S = 3.0
CALIBRATION_WARMUP_S = 1.0
# The loads a calibration run means something for: no wait (the generator's ceiling) and a fixed
# rate (the latency floor); a think time is neither.
CALIBRATED_WAITS = ("none", "constant_rate")
# The floor's latencies a row of the same repeat carries: its column ← the calibration run's.
FLOOR_COLUMNS = {"latency_floor_mean_us": "latency_corrected_mean_us",
                 "latency_floor_p50_us": "latency_corrected_p50_us",
                 "latency_floor_p99_us": "latency_corrected_p99_us"}


@dataclass(frozen=True)
class PlannedRun:
    repeat: int
    scenario: Scenario
    target: Target
    driver: str
    level: float | None = None  # a --sweep's fraction of this target's measured capacity


@dataclass(frozen=True)
class Plan:
    targets: tuple[Target, ...]
    scenarios: tuple[Scenario, ...]
    repeats: int
    pinning: Pinning
    results: Path
    driver: str = "locust"
    sweep: tuple[float, ...] = ()  # load levels (fractions of measured capacity) to run open-loop
    calibrate: bool = False  # the minimal server in every repeat of each scenario: ceiling or latency floor

    def runs(self) -> list[PlannedRun]:
        """Repeat by repeat, scenario by scenario, every target in turn (0 1 2 … 0 1 2 …), so slow
        drift of a noisy machine spreads over all targets instead of landing on one. With
        `calibrate`, each repeat of a scenario starts with the minimal server under it: the
        generator's ceiling (closed loop) or the machine's latency floor (open loop) that this
        repeat's rows are read against. With a sweep, each target's capacity run (level None) is
        followed by its open-loop runs at each level."""
        server = calibration_target() if self.calibrate else None  # its file read once for the plan
        levels: tuple[float | None, ...] = (None, *self.sweep)
        planned = []
        for repeat in range(self.repeats):
            for scenario in self.scenarios:
                if server is not None and scenario.load.wait.kind in CALIBRATED_WAITS:
                    planned.append(PlannedRun(repeat, calibration_load(scenario), server, self.driver))
                planned += [PlannedRun(repeat, scenario, target, self.driver, level)
                            for target in self.targets for level in levels]
        return planned

    def info(self) -> dict[str, Any]:
        """What batch.json records of the plan."""
        return {"targets": [t.label for t in self.targets], "scenarios": [s.id for s in self.scenarios],
                "repeats": self.repeats, "driver": self.driver, "sweep": list(self.sweep),
                "calibrate": self.calibrate}


def calibration_load(scenario: Scenario) -> Scenario:
    """A closed loop shortened (a ceiling is a few seconds' work, not a study); an open loop as
    it is: the floor's percentiles need as many requests as the rows they are read against."""
    if scenario.load.wait.kind == "constant_rate":
        return scenario
    return scenario.with_times(min(scenario.load.duration, CALIBRATION_DURATION_S),
                               min(scenario.load.warmup, CALIBRATION_WARMUP_S), scenario.load.processes,
                               scenario.load.expect_workers, scenario.load.master_bind)


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # unwinds through every finally: servers and locust are stopped


def _one_line(what: str, row: dict[str, Any]) -> str:
    """A finished run as one console line: its rate and tail, or why it failed."""
    if row["error"]:
        return f"[red]✗ {escape(what)}: {escape(row['error'])}[/red]"
    note = " [yellow](generator saturated)[/yellow]" if row["bottleneck"] == "generator" else ""
    if row["failures"]:
        note += f" [red]({row['failures']:,} failed: {escape(str(row['top_error']))})[/red]"
    p99 = "–" if row["latency_p99_us"] is None else f"{row['latency_p99_us']:,.0f}"
    return f"✓ {escape(what)}: {row['qps']:,.0f} req/s, p99 {p99} µs{note}"


def run_plan(plan: Plan, console: Console, argv: list[str]) -> Path:
    """Run the plan into a new batch; Ctrl-C or SIGTERM keeps what finished."""
    return run_batch(plan.runs(), plan.pinning, plan.results, plan.info(), console=console, argv=argv)


def run_batch(runs: list[PlannedRun], pinning: Pinning, root: Path, info: dict[str, Any], *, console: Console,
              argv: list[str]) -> Path:
    """Measure `runs` in order into a new batch under `root`, writing after each run, then print
    the summary; Ctrl-C or SIGTERM keeps what finished."""
    batch = new_batch_id()
    writer = BatchWriter(root, batch, {
        "batch": batch, "command": argv, **info,
        **pinning.record(),
        **environment(),
    })
    repeated = any(run.repeat for run in runs)
    previous = signal.signal(signal.SIGTERM, _terminate)
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        TextColumn("{task.fields[live]}"), console=console, transient=False)
    try:
        with progress:
            task = progress.add_task("comparing", total=len(runs), live="")
            capacity: dict[tuple[int, str, str], float] = {}
            references: dict[tuple[int, str, str], dict[str, Any]] = {}  # this repeat's calibration run
            for index, run in enumerate(runs, 1):
                scenario, target, level = run.scenario, run.target, run.level
                what = f"{target.label} × {scenario.id}" + (f" (repeat {run.repeat + 1})" if repeated else "")
                key = (run.repeat, scenario.id, target.label)
                if level is not None:
                    what += f" at {level:.0%} of capacity"
                    if not capacity.get(key):
                        progress.console.print(f"[red]✗ {escape(what)}: skipped, its capacity run failed[/red]")
                        progress.advance(task)
                        continue
                progress.update(task, description=f"run {index}/{len(runs)}: {what}", live="starting")

                def live(text: str, task_id: int = task) -> None:
                    progress.update(task_id, live=text)  # type: ignore[arg-type]

                loaded = scenario if level is None else scenario.at_rate(level * capacity[key])
                result = measure(target, loaded, pinning, batch=batch, repeat=run.repeat, driver=run.driver,
                                 load_level=level, on_live=live)
                row = result.row
                reference_key = (run.repeat, scenario.id, run.driver)
                if target.name == CALIBRATION_TARGET:
                    if not row["error"]:
                        references[reference_key] = row
                elif reference_key in references and level is None:
                    read_against(row, references[reference_key])
                if level is None and not row["error"]:
                    capacity[key] = row["qps"]
                writer.add(result)
                progress.console.print(_one_line(what, row))
                progress.advance(task)
    except KeyboardInterrupt:
        console.print(f"[yellow]interrupted: {len(writer.rows)} finished runs kept in {writer.directory}[/yellow]")
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
    if writer.rows:
        frame = pd.DataFrame(writer.rows)
        for part in batch_summary(frame, f"batch {batch}"):
            console.print(part)
        hint = saturation_hint(frame)
        if hint:
            console.print(f"[yellow]{hint}[/yellow]")
    console.print(f"results: {writer.directory}")
    return writer.directory


def read_against(row: dict[str, Any], reference: dict[str, Any]) -> None:
    """What the calibration run of the same repeat and scenario says about a row: the generator's
    ceiling under a closed loop, the machine's latency floor under an open one."""
    if row["target_rate"] is None:
        row["generator_ceiling_qps"] = reference["qps"]
        if not row["error"]:
            row["generator_ceiling_share"] = row["qps"] / reference["qps"]
    else:
        for column, source in FLOOR_COLUMNS.items():
            row[column] = reference[source]


def saturation_hint(runs: pd.DataFrame) -> str | None:
    """What to do when the load generator, not the servers, set most of the numbers."""
    locust = runs[(runs["driver"] == "locust") & (runs["target"] != CALIBRATION_TARGET)]
    saturated = int((locust["bottleneck"] == "generator").sum())
    if not saturated or saturated * 2 < len(locust):
        return None
    remedy = ("rank them by CPU µs/request, or measure ceilings with --driver wrk (closed-loop scenarios)"
              if wrk_driver.available() else
              "rank them by CPU µs/request, or install wrk (apt-get install wrk) and use --driver wrk")
    return (f"{saturated} of {len(locust)} locust runs were generator-bound: their QPS is what locust could "
            f"send, not what the server can serve; {remedy}, or add load machines (lab worker).")


