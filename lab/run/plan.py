"""The staged comparison: every target × every scenario × repeats, interleaved, into one batch."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lab.drivers.registry import DEFAULT_DRIVER
from lab.files.target_file import calibration_target
from lab.model.scenario import Scenario, WaitKind
from lab.model.target import Target, reference_closes, runs_on
from lab.run.counted import CountedLoad
from lab.run.measure import Pinning
from lab.run.scheduler import Batch, PlannedRun, Reporter, run_batch

# Seconds a closed-loop calibration run measures (after CALIBRATION_WARMUP_S): a ceiling, not a study.
CALIBRATION_DURATION_S = 3.0
CALIBRATION_WARMUP_S = 1.0
# The loads a calibration run means something for: no wait (the generator's ceiling) and a fixed
# rate (the latency floor); a think time is neither.
CALIBRATED_WAITS = (WaitKind.NONE, WaitKind.CONSTANT_RATE)


@dataclass(frozen=True)
class Plan:
    targets: tuple[Target, ...]
    scenarios: tuple[Scenario, ...]
    repeats: int
    pinning: Pinning
    results: Path
    driver: str = DEFAULT_DRIVER
    sweep: tuple[float, ...] = ()  # load levels (fractions of measured capacity) to run open-loop
    calibrate: bool = False  # the minimal server in every repeat of each scenario: ceiling or latency floor
    counted_repeats: int = 0  # counted runs (under valgrind) of each target × scenario, after the timed ones
    counted_load: CountedLoad = field(default_factory=CountedLoad)
    profiled_repeats: int = 0  # profiled runs of each target × scenario, after the timed ones

    def runs(self) -> list[PlannedRun]:
        """Repeat by repeat, scenario by scenario, every target in turn, so slow drift of a noisy
        machine spreads over all targets instead of landing on one; and each repeat starts one
        target later (0 1 2, 1 2 0, 2 0 1, …), so that what a place in the order costs falls on
        each target in turn too: in a fixed order, the first run after another server's
        teardown of 5,000 connections had a p99 of hold-5000 2-3x the second's, whichever
        version of stage 4 ran first. With
        `calibrate`, each repeat of a scenario starts with the minimal server under it: the
        generator's ceiling (closed loop) or the machine's latency floor (open loop) that this
        repeat's rows are read against (two, in a closed loop with targets that close every
        connection and targets that keep it: reference_closes). With a sweep, each target's capacity run (level None) is
        followed by its open-loop runs at each level."""
        servers = {closing: calibration_target(closing) for closing in (False, True)} if self.calibrate else {}
        levels: tuple[float | None, ...] = (None, *self.sweep)
        planned = []
        for repeat in range(self.repeats):
            targets = self._rotated(repeat)
            for scenario in self.scenarios:
                planned += [PlannedRun(repeat, calibration_load(scenario), servers[closing], self.driver)
                            for closing in self._calibrations(scenario)]
                planned += [PlannedRun(repeat, scenario, target, self.driver, level)
                            for target in targets if runs_on(target, scenario) for level in levels]
        for repeat in range(self.profiled_repeats):
            planned += [PlannedRun(repeat, scenario, target, self.driver, profiled=True)
                        for scenario in self.scenarios for target in self._rotated(repeat) if runs_on(target, scenario)]
        for repeat in range(self.counted_repeats):
            planned += [PlannedRun(repeat, scenario, target, self.driver, counted=self.counted_load)
                        for scenario in self.scenarios for target in self._rotated(repeat) if runs_on(target, scenario)]
        return planned

    def left_out(self) -> dict[str, list[str]]:
        """Scenario → the targets it does not run on (lab.model.target.runs_on)."""
        out = {scenario.id: [target.label for target in self.targets if not runs_on(target, scenario)]
               for scenario in self.scenarios}
        return {scenario: labels for scenario, labels in out.items() if labels}

    def _rotated(self, repeat: int) -> tuple[Target, ...]:
        turn = repeat % len(self.targets)
        return self.targets[turn:] + self.targets[:turn]

    def _calibrations(self, scenario: Scenario) -> list[bool]:
        """The calibration runs a scenario's rows are read against, as whether each closes: the
        minimal server's, and in a closed loop for targets that close every connection, its
        --close one."""
        if not self.calibrate or scenario.load.wait.kind not in CALIBRATED_WAITS:
            return []
        return sorted({reference_closes(target, scenario) for target in self.targets if runs_on(target, scenario)})

    def info(self) -> dict[str, Any]:
        """What batch.json records of the plan."""
        return {"targets": [t.label for t in self.targets], "scenarios": [s.id for s in self.scenarios],
                "repeats": self.repeats, "driver": self.driver, "sweep": list(self.sweep),
                "calibrate": self.calibrate, "counted_repeats": self.counted_repeats,
                "counted_requests": self.counted_load.requests, "counted_warmup_requests": self.counted_load.warmup,
                "profiled_repeats": self.profiled_repeats}


def calibration_load(scenario: Scenario) -> Scenario:
    """A closed loop shortened (a ceiling is a few seconds' work, not a study); an open loop as
    it is: the floor's percentiles need as many requests as the rows they are read against."""
    if scenario.load.open_loop:
        return scenario
    return scenario.with_load(duration=min(scenario.load.duration, CALIBRATION_DURATION_S),
                              warmup=min(scenario.load.warmup, CALIBRATION_WARMUP_S))


def run_plan(plan: Plan, reporter: Reporter, argv: list[str]) -> Batch:
    """Run the plan into a new batch; Ctrl-C or SIGTERM keeps what finished."""
    return run_batch(plan.runs(), plan.pinning, plan.results, {"command": argv, **plan.info()}, reporter)
