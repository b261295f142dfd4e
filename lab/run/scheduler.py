"""The scheduler: planned runs measured in order into one batch, each written as it finishes.

It knows what one run needs from an earlier one of the same batch (a sweep's or soak's capacity,
a repeat's calibration run) and nothing of how runs are shown: a Reporter is told of each.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, Protocol

from lab.model import record
from lab.model.record import Calibration, Soak
from lab.model.scenario import Scenario
from lab.model.target import CALIBRATION_TARGET, Target
from lab.run.counted import CountedLoad, count
from lab.run.environment import environment
from lab.run.measure import Pinning, measure, target_version
from lab.run.profiled import profile
from lab.run.stability import soak_verdict
from lab.store.results import BatchWriter, CountedResult, ProfiledResult, RunResult, new_batch_id


@dataclass(frozen=True)
class PlannedRun:
    repeat: int
    scenario: Scenario
    target: Target
    driver: str
    level: float | None = None  # a --sweep's (or soak's) fraction of this target's measured capacity
    capacity_from: str | None = None  # the scenario whose run measured that capacity (None: this one)
    settle: bool = False  # a soak: wait for the server to settle after the load, and judge the run
    counted: CountedLoad | None = None  # a counted run (under valgrind) of this load, not a timed one
    profiled: bool = False  # a profiled run: a timed one with a profiler attached, kept apart


class Reporter(Protocol):
    """Told of a batch as it runs (lab.cli.progress shows it on the console)."""

    def started(self, total: int) -> None: ...
    def running(self, index: int, what: str) -> None: ...
    def live(self, text: str) -> None: ...  # what the load generator is doing now
    def skipped(self, what: str, why: str) -> None: ...
    def finished(self, what: str, result: RunResult) -> None: ...
    def counted(self, what: str, result: CountedResult) -> None: ...
    def profiled(self, what: str, result: ProfiledResult) -> None: ...
    def interrupted(self, batch: Batch) -> None: ...


@dataclass(frozen=True)
class Batch:
    directory: Path
    results: list[RunResult]
    counted: list[CountedResult] = field(default_factory=list)
    profiled: list[ProfiledResult] = field(default_factory=list)


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # unwinds through every finally: servers and locust are stopped


@dataclass
class _Earlier:
    """What a timed run reads from earlier ones of its batch: the capacity a run at a level of it
    needs (a closed-loop run's rate), and the calibration run of its repeat."""

    capacity: dict[tuple[int, str, str], float] = field(default_factory=dict)
    references: dict[tuple[int, str, str, bool], dict[str, Any]] = field(default_factory=dict)

    def load(self, run: PlannedRun) -> Scenario | None:
        """The load `run` offers: its scenario, or a rate at its level of a measured capacity
        (None: that capacity's run failed)."""
        if run.level is None:
            return run.scenario
        measured = self.capacity.get((run.repeat, run.capacity_from or run.scenario.id, run.target.label))
        return run.scenario.at_rate(run.level * measured) if measured else None

    def read(self, run: PlannedRun, row: dict[str, Any]) -> None:
        """Complete `row` from earlier runs (its calibration, a soak's verdict) and keep what later
        runs read of it."""
        reference_key = (run.repeat, run.scenario.id, run.driver, bool(row["closing_ceiling"]))
        if run.target.name == CALIBRATION_TARGET:
            if not row["error"]:
                self.references[reference_key] = row
        elif reference_key in self.references and run.level is None:
            row.update(record.row(read_against(row, self.references[reference_key])))
        if run.settle:
            row.update(record.row(Soak(soak_verdict(row))))
        if run.level is None and not row["error"]:
            self.capacity[(run.repeat, run.scenario.id, run.target.label)] = row["qps"]


def run_batch(runs: list[PlannedRun], pinning: Pinning, root: Path, info: dict[str, Any],
              reporter: Reporter) -> Batch:
    """Measure `runs` in order into a new batch under `root` (its batch.json gets `info`, the
    pinning and the machine), writing after each run; Ctrl-C or SIGTERM keeps what finished."""
    batch = new_batch_id()
    # What each target file's `version` command printed (the stages' are the machine's versions).
    versions = {run.target.label: target_version(run.target) for run in runs if run.target.version}
    writer = BatchWriter(root, batch, {"batch": batch, **info, **pinning.record(), **record.row(environment()),
                                       "target_versions": versions})
    runner = _Runner(batch, pinning, writer, reporter, Batch(writer.directory, []))
    repeated = any(run.repeat for run in runs)
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        reporter.started(len(runs))
        for index, run in enumerate(runs, 1):
            runner.run(index, run, describe(run, repeated))
    except KeyboardInterrupt:
        reporter.interrupted(runner.done)
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
    return runner.done


@dataclass(frozen=True)
class _Runner:
    """One batch's runs, each measured, written, kept and reported as it finishes."""

    batch: str
    pinning: Pinning
    writer: BatchWriter
    reporter: Reporter
    done: Batch
    earlier: _Earlier = field(default_factory=_Earlier)

    def run(self, index: int, run: PlannedRun, what: str) -> None:
        if run.counted is not None:
            self.reporter.running(index, what)
            counted = count(run.target, run.scenario, self.pinning, batch=self.batch, repeat=run.repeat,
                            load=run.counted)
            self.writer.add_counted(counted)
            self.done.counted.append(counted)
            self.reporter.counted(what, counted)
        elif run.profiled:
            self.reporter.running(index, what)
            profiled = profile(run.target, run.scenario, self.pinning, batch=self.batch, repeat=run.repeat,
                               driver=run.driver, on_live=self.reporter.live)
            self.writer.add_profiled(profiled)
            self.done.profiled.append(profiled)
            self.reporter.profiled(what, profiled)
        elif (loaded := self.earlier.load(run)) is None:
            self.reporter.skipped(what, "its capacity run failed")
        else:
            self.reporter.running(index, what)
            result = measure(run.target, loaded, self.pinning, batch=self.batch, repeat=run.repeat,
                             driver=run.driver, load_level=run.level, on_live=self.reporter.live, settle=run.settle)
            self.earlier.read(run, result.row)
            self.writer.add(result)
            self.done.results.append(result)
            self.reporter.finished(what, result)


def describe(run: PlannedRun, repeated: bool) -> str:
    if run.counted is not None:
        return f"{run.target.label} × {run.scenario.id} counted (repeat {run.repeat + 1})"
    if run.profiled:
        return f"{run.target.label} × {run.scenario.id} profiled (repeat {run.repeat + 1})"
    what = f"{run.target.label} × {run.scenario.id}" + (f" (repeat {run.repeat + 1})" if repeated else "")
    return what if run.level is None else what + f" at {run.level:.0%} of capacity"


def read_against(row: dict[str, Any], reference: dict[str, Any]) -> Calibration:
    """What the calibration run of the same repeat and scenario says about a row: the generator's
    ceiling under a closed loop, the machine's latency floor under an open one."""
    if row["target_rate"] is None:
        share = None if row["error"] else row["qps"] / reference["qps"]
        return Calibration(generator_ceiling_qps=reference["qps"], generator_ceiling_share=share)
    return Calibration(latency_floor_mean_us=reference["latency_corrected_mean_us"],
                       latency_floor_p50_us=reference["latency_corrected_p50_us"],
                       latency_floor_p99_us=reference["latency_corrected_p99_us"])
